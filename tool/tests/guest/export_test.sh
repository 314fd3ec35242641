#!/usr/bin/env bash
# End-to-end test of `clonescope export`, run in the test guest with the
# module loaded (TAP on stdout, exit status 1 if anything failed): Debian's
# Prometheus scrapes the exporter on loopback while a workload forks a
# known number of times, and a PromQL query over what Prometheus stored
# must give exactly that number; promtool must accept the exposition.
#
# usage: export_test.sh [TOOL_BUILD_DIR]   (default $BUILD/tool)
set -uo pipefail

TOOL_DIR="${1:-${BUILD:?}/tool}"
CS="$TOOL_DIR/clonescope"
WORKLOAD="$TOOL_DIR/tests/clonescope_lifecycle"
# The workload's comm: its file name, cut to TASK_COMM_LEN - 1.
COMM=clonescope_life
FORKS=40
EXPORTER=127.0.0.1:9477
PROM=127.0.0.1:9090
TMP="$(mktemp -d)"
pids=()
cleanup() {
	local pid

	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=tool/tests/guest/tap-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"

# Retries COMMAND... once a second for up to SECONDS: until it succeeds.
retry() {
	local seconds="$1" i

	shift
	for ((i = 0; i < seconds; i++)); do
		"$@" && return 0
		sleep 1
	done
	return 1
}

# The value of the one series PromQL QUERY returns at TIME (default now);
# fails when it returns none or several.
promql() {
	local query="$1" time="${2:-}"
	local -a args=(--data-urlencode "query=$query")

	[[ -n "$time" ]] && args+=(--data-urlencode "time=$time")
	curl -fsS "http://$PROM/api/v1/query" "${args[@]}" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
if len(r) != 1:
    sys.exit(1)
print(r[0]["value"][1])'
}

# Succeeds when QUERY's value is WANT.
promql_is() {
	[[ "$(promql "$1")" == "$2" ]]
}

echo "TAP version 13"
ip link set lo up

"$CS" export --listen "$EXPORTER" > "$TMP/export.log" 2>&1 &
pids+=($!)
if retry 30 curl -fsS -o "$TMP/metrics.txt" "http://$EXPORTER/metrics" 2> /dev/null; then
	ok "export serves /metrics on $EXPORTER"
else
	not_ok "export serves /metrics" "$(cat "$TMP/export.log")"
fi

# promtool prints lint problems and exits non-zero on any.
out="$(promtool check metrics < "$TMP/metrics.txt" 2>&1)"
rc=$?
if ((rc == 0)) && [[ -z "$out" ]]; then
	ok "promtool check metrics: clean ($(grep -c '^# TYPE' "$TMP/metrics.txt") families)"
else
	not_ok "promtool check metrics: exit $rc" "$out"
fi

out="$("$CS" export --listen 127.0.0.1:0 2>&1)"
rc=$?
if ((rc == 2)) && grep -q "port must be 1..65535" <<< "$out"; then
	ok "export refuses port 0 with a clear error"
else
	not_ok "export --listen 127.0.0.1:0: exit $rc" "$out"
fi
out="$("$CS" export --listen "$EXPORTER" 2>&1)"
rc=$?
if ((rc != 0)) && grep -q "busy" <<< "$out"; then
	ok "a second export while one runs: refused, device busy"
else
	not_ok "second export: exit $rc" "$out"
fi

cat > "$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: clonescope
    static_configs:
      - targets: ['$EXPORTER']
YML
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="$PROM" > "$TMP/prometheus.log" 2>&1 &
pids+=($!)
if retry 180 curl -fsS -o /dev/null "http://$PROM/-/ready" 2> /dev/null; then
	ok "prometheus ready"
	ready="$(date +%s.%N)"
else
	not_ok "prometheus not ready in 180 s" "$(tail -20 "$TMP/prometheus.log")"
	ready="$(date +%s.%N)"
fi

# One fork first, so that the workload's series exists before the counted
# run: a counter's first sample has no increase to show.
series="clonescope_comm_clones_total{comm=\"$COMM\",kind=\"fork\"}"
"$WORKLOAD" 1 0 0 0 > /dev/null
if retry 60 promql_is "$series" 1; then
	ok "prometheus scraped the first fork of $COMM"
else
	not_ok "no scrape of $series = 1" "$(promql "$series"; tail -5 "$TMP/prometheus.log")"
fi

before="$(date +%s.%N)"
"$WORKLOAD" "$FORKS" 0 0 0 > /dev/null
if retry 60 promql_is "$series" $((FORKS + 1)); then
	ok "prometheus scraped all $((FORKS + 1)) forks of $COMM"
else
	not_ok "$series never reached $((FORKS + 1))" "$(promql "$series")"
fi
# What Prometheus stored says how many forks happened since $before: the
# value now minus the value then (an exact increase; increase() would
# extrapolate to the window's edges).
after="$(date +%s.%N)"
window="$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%dms", (a - b) * 1000 }')"
query="$series - $series offset $window"
got="$(promql "$query" "$after")"
if [[ "$got" == "$FORKS" ]]; then
	ok "PromQL '$query' = $FORKS forks"
else
	not_ok "PromQL '$query': got '${got:-no result}', want $FORKS"
fi
# increase() over the whole series, evaluated at its last scrape: the
# window starts before the first sample (1, the warm-up fork), so
# Prometheus extrapolates back to where the counter was zero, and it ends
# at the last sample, so there is nothing to extrapolate there.  That is
# exactly the counter's rise from zero: the warm-up fork and the $FORKS
# counted, FORKS + 1 (as long as the series has fewer than 45 samples:
# past 1.1 average intervals Prometheus extrapolates by half an interval
# instead; at one scrape a second it has a few).
samples="$(promql "count_over_time($series[10m])" "$after")"
last_scrape="$(promql "timestamp($series)" "$after")"
range="$(awk -v l="${last_scrape:-0}" -v r="$ready" 'BEGIN { printf "%dms", (l - r) * 1000 }')"
got="$(promql "increase($series[$range])" "$last_scrape")"
if awk -v g="${got:-0}" -v w="$((FORKS + 1))" 'BEGIN { d = g - w; exit !(d < 1e-6 && d > -1e-6) }'; then
	ok "increase($series[$range]) at the last of its $samples scrapes = $got = 1 + $FORKS forks"
else
	not_ok "increase($series[$range]) at $last_scrape: got '${got:-no result}'," \
		"want $((FORKS + 1)) ($samples samples)"
fi
got="$(promql "clonescope_comm_clone_duration_seconds_count{comm=\"$COMM\"}")"
if [[ "$got" == $((FORKS + 1)) ]]; then
	ok "the duration histogram of $COMM counts $got clones"
else
	not_ok "clonescope_comm_clone_duration_seconds_count{comm=\"$COMM\"}: got '${got:-none}'"
fi

echo "1..$n"
exit "$failed"
