#!/usr/bin/env bash
# Run in the guest by `selftests/vm/run.sh bench/samejob-check.sh` (after
# make module tool, and make -C bench for the workloads): whether bench/samejob.bt, the bench's bpftrace-samejob variant, finds
# what `clonescope record` finds on the same workloads.  Each workload runs
# once under bpftrace (the script, JSON output) and once under
# `clonescope record` (every probe group, the bench's record variant);
# bench/samejob_compare.py then sets the two side by side into
# $CLONESCOPE_OUT/compare.md.
#
# Arguments are KEY=VALUE settings: COW_MIB (256), ITERS_cow (3),
# ITERS_fork (600).
set -euo pipefail

# shellcheck source=selftests/vm/guest-lib.sh
source "$CLONESCOPE_REPO/selftests/vm/guest-lib.sh"

OUT="$CLONESCOPE_OUT"
BIN="$BUILD/bench"
TOOL="$BUILD/tool/clonescope"
COW_MIB=256
ITERS_cow=3
ITERS_fork=600

# shellcheck source=bench/guest-settings.sh
source "$CLONESCOPE_REPO/bench/guest-settings.sh" "$@"

# workload_args WORKLOAD: cs-workload's arguments for it.
workload_args() {
	case "$1" in
	cow) echo "cow $ITERS_cow $COW_MIB" ;;
	fork) echo "fork $ITERS_fork 0" ;;
	esac
}

# bpftrace_run WORKLOAD: the script's maps for one run of WORKLOAD.
bpftrace_run() {
	local wl="$1" pid i log="$OUT/bpftrace-$1.log"

	bpftrace -f json "$CLONESCOPE_REPO/bench/samejob.bt" > "$OUT/bpftrace-$wl.json" 2> "$log" &
	pid=$!
	for ((i = 0; i < 6000; i++)); do
		grep -q '"attached_probes"' "$OUT/bpftrace-$wl.json" && break
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
		sleep 0.1
	done
	sleep 1
	# shellcheck disable=SC2046 # the arguments are meant to split
	"$BIN/cs-workload" $(workload_args "$wl") > "$OUT/bpftrace-$wl.workload"
	kill -INT "$pid"
	wait "$pid"
}

# record_run WORKLOAD: clonescope's report of one run of WORKLOAD.
record_run() {
	local wl="$1"

	# shellcheck disable=SC2046
	"$TOOL" record -q --no-preload -o "/tmp/$wl.cst" -- \
		"$BIN/cs-workload" $(workload_args "$wl") > "$OUT/record-$wl.workload"
	"$TOOL" report --json "/tmp/$wl.cst" > "$OUT/record-$wl.json"
}

main() {
	local wl

	# Job control: bpftrace in the background does not start with SIGINT
	# ignored, as a non-interactive shell's jobs would.
	set -m
	for wl in cow fork; do
		bpftrace_run "$wl"
	done
	insmod_clonescope "$CLONESCOPE_REPO/module/clonescope.ko"
	for wl in cow fork; do
		record_run "$wl"
	done
	rmmod clonescope
	python3 "$CLONESCOPE_REPO/bench/samejob_compare.py" "$OUT" "cow fork" \
		"cow: ${ITERS_cow} forks of a ${COW_MIB} MiB parent; fork: ${ITERS_fork} fork+exit+wait" \
		> "$OUT/compare.md"
	cat "$OUT/compare.md"
}

main; exit
