#!/usr/bin/env bash
# End-to-end test of the lifecycle records (issue 19), run in the test
# guest with the module loaded (TAP on stdout, exit status 1 if anything
# failed).  The workload's children sleep a known time before exec and
# stay zombies a known time before their parent reaps them: the measured
# fork->exec, lifetime and zombie times must cover those sleeps, and stay
# within what the workload's own clock allows (it prints, per child, the
# longest each interval can have been: see workload/lifecycle.c).  Under
# TCG on a loaded host a sleep can overshoot by seconds, so a fixed slack
# would not do; the workload's bounds move with the load.
#
# usage: lifecycle_test.sh [TOOL_BUILD_DIR]   (default $BUILD/tool)
set -uo pipefail

TOOL_DIR="${1:-${BUILD:?}/tool}"
CS="$TOOL_DIR/clonescope"
WORKLOAD="$TOOL_DIR/tests/clonescope_lifecycle"
CHILDREN=3
EXEC_MS=200
REAP_MS=500
EXIT_CODE=7
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# shellcheck source=tool/tests/guest/tap-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"

echo "TAP version 13"

"$CS" record -o "$TMP/l.cst" -- "$WORKLOAD" "$CHILDREN" "$EXEC_MS" "$REAP_MS" "$EXIT_CODE" \
	> "$TMP/live.txt" 2>&1
rc=$?
if ((rc == 0)); then ok "record the lifecycle workload"; else not_ok "record exit $rc" "$(cat "$TMP/live.txt")"; fi

lines="$(grep -c " LIFE .* exit $EXIT_CODE reaped by " "$TMP/live.txt")"
if ((lines == CHILDREN)); then
	ok "the live output has $CHILDREN lifecycle lines with exit $EXIT_CODE and the reaper"
else
	not_ok "$lines lifecycle lines with exit $EXIT_CODE, want $CHILDREN" "$(grep LIFE "$TMP/live.txt")"
fi

if ! "$CS" report --json --perfetto "$TMP/p.json" "$TMP/l.cst" > "$TMP/r.json" 2> "$TMP/r.err"; then
	not_ok "report --json" "$(cat "$TMP/r.err")"
fi
# The fork group's lifecycle metrics: "n min max" in ms, or "none".
metric() {
	/usr/bin/python3 - "$TMP/r.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g = [g for g in r["by_kind"] if g["key"] == "fork"]
m = g[0]["metrics"][sys.argv[2]] if g else None
print("none" if m is None else "%d %.1f %.1f" % (m["n"], m["min"] / 1e6, m["max"] / 1e6))
PY
}
# The largest of the workload's bounds in column COL (3: fork->exec,
# 4: lifetime, 5: zombie), in ms.
bound() {
	awk -v c="$1" '$1 == "bounds" && $c > m { m = $c } END { printf "%.1f", m / 1e6 }' \
		"$TMP/live.txt"
}
# check_metric NAME LOW_MS HIGH_MS: every child's value in [LOW, HIGH].
check_metric() {
	local name="$1" low="$2" high="$3" got count min max

	got="$(metric "$name")"
	read -r count min max <<< "$got"
	if [[ "$count" == "$CHILDREN" ]] &&
		awk -v a="$min" -v b="$max" -v l="$low" -v h="$high" 'BEGIN { exit !(a >= l && b <= h) }'; then
		ok "$name of $CHILDREN children: ${min}..${max} ms, within [$low, $high] ms"
	else
		not_ok "$name: want $CHILDREN children in [$low, $high] ms, got n/min/max '$got'"
	fi
}
check_metric fork_to_exec "$EXEC_MS" "$(bound 3)"
check_metric lifetime "$EXEC_MS" "$(bound 4)"
check_metric zombie "$REAP_MS" "$(bound 5)"

records="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["correlation"]["lifecycle_records"])' "$TMP/r.json")"
if [[ "$records" == "$CHILDREN" ]]; then
	ok "each of the $CHILDREN forks joined its lifecycle record"
else
	not_ok "lifecycle records joined: '$records', want $CHILDREN"
fi

slices="$(/usr/bin/python3 - "$TMP/p.json" <<'PY'
import collections, json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
c = collections.Counter(e["name"] for e in ev if e.get("cat") == "lifecycle")
print(c["fork to exec"], c["zombie"])
PY
)"
if [[ "$slices" == "$CHILDREN $CHILDREN" ]]; then
	ok "perfetto: a fork-to-exec and a zombie slice per child"
else
	not_ok "perfetto lifecycle slices (fork to exec, zombie): '$slices'"
fi

# Without the lifecycle group, no lifecycle record: the group gates them.
"$CS" record -q --probes clone -o "$TMP/off.cst" -- "$WORKLOAD" 1 0 0 0 > /dev/null 2>&1
got="$("$CS" report --json "$TMP/off.cst" 2>/dev/null |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["correlation"]["lifecycle_records"])')"
if [[ "$got" == 0 ]]; then
	ok "--probes clone: no lifecycle records"
else
	not_ok "--probes clone: lifecycle records '$got', want 0"
fi

echo "1..$n"
exit "$failed"
