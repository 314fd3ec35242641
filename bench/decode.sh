#!/usr/bin/env bash
# The tool's decode throughput on the host, on one core: the part of
# make bench that needs no guest.  Run alone (make bench-decode) it writes
# bench/decode-results.md; bench/run.sh sources it for decode_bench().
#
# Needs the tool built (make tool); builds cs-decode-bench and cs-mktrace
# into $BUILD/bench.  Settings (environment):
#   BENCH_DECODE_EVENTS    records in the large synthetic trace (default 2000000)
#   BENCH_DECODE_RESULTS   results file (default bench/decode-results.md)
#   BUILD                  as exported by the top-level Makefile
set -euo pipefail

# shellcheck source=scripts/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# The small trace: where fixed costs (open, map, META) dominate.
DECODE_SMALL_EVENTS=1000

# decode_bench OUT_DIR EVENTS: events/s of the tool's decoder (in place,
# and with an object per record for comparison) on a synthetic trace of
# EVENTS records and on a small one, and of a whole `clonescope report`:
# OUT_DIR/decode.txt.
decode_bench() {
	local out="$1" events="$2" bin="$BUILD/bench" tool="$BUILD/tool/clonescope"
	local trace="$BUILD/bench/decode-bench.cst" small="$BUILD/bench/decode-small.cst" kv t0 t1

	if [[ ! -x "$bin/cs-decode-bench" ]]; then
		echo "not_measured=the tool's library is not built (make tool), so there is no decoder to time" \
			> "$out/decode.txt"
		return
	fi
	note "decode: writing a $events-record trace"
	"$bin/cs-mktrace" "$trace" "$events"
	"$bin/cs-mktrace" "$small" "$DECODE_SMALL_EVENTS"
	kv="$(taskset -c 0 "$bin/cs-decode-bench" "$trace" 3)"
	{
		echo "events=$events"
		echo "file_bytes=$(stat -c %s "$trace")"
		echo "repeats=3"
		# decode_events_per_s=, walk_..., objects_...
		tr ' ' '\n' <<< "$kv" | grep -E '^(decode|walk|objects)_events_per_s='
		echo "decode_raw=$kv"
		kv="$(taskset -c 0 "$bin/cs-decode-bench" "$small" 200)"
		echo "small_events=$DECODE_SMALL_EVENTS"
		echo "small_repeats=200"
		tr ' ' '\n' <<< "$kv" | grep -E '^(decode|objects)_events_per_s=' | sed 's/^/small_/'
		echo "small_decode_raw=$kv"
		echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
	} > "$out/decode.txt"
	if "$tool" report --help > /dev/null 2>&1; then
		t0=$(date +%s%N)
		if taskset -c 0 "$tool" report "$trace" > /dev/null 2> "$out/report-bench.err"; then
			t1=$(date +%s%N)
			echo "report_seconds=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e9 }')" >> "$out/decode.txt"
			echo "report_events_per_s=$(awk -v n="$events" -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (d / 1e9) }')" >> "$out/decode.txt"
		fi
	fi
	rm -f "$trace" "$small"
}

main() {
	local out results="${BENCH_DECODE_RESULTS:-$CLONESCOPE_REPO/bench/decode-results.md}"

	[[ -f "$BUILD/tool/libclonescope_core.a" ]] || die "the tool is not built: run 'make tool' first"
	make -s -C "$CLONESCOPE_REPO/bench" BUILD="$BUILD" decode
	out="$BUILD/vm-out/decode-$(date +%Y%m%d-%H%M%S)-$$"
	mkdir -p "$out"
	decode_bench "$out" "${BENCH_DECODE_EVENTS:-2000000}"
	python3 "$CLONESCOPE_REPO/bench/report.py" --decode "$out" "$results"
	note "results in $results (raw data in $out)"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	main "$@"
fi
