#!/usr/bin/env bash
# make bench: clonescope's overhead against no tracing, bpftrace, forkstat
# and perf, measured side by side in one guest boot, plus the tool's decode
# throughput on the host; writes bench/results.md from the raw data.
#
# Needs the module and the tool built (make module tool); builds its own
# workloads into $BUILD/bench.  Settings (environment):
#   BENCH_QUICK=1          a short run for development: 2 rounds, small
#                          batches, 32 MiB COW parent; results go to the
#                          run's output directory, not bench/results.md
#   BENCH_ROUNDS           rounds (default 8)
#   BENCH_VARIANTS         variants to run (default: all; see guest-bench.sh)
#   BENCH_WORKLOADS        workloads (default: fork vfork-exec spawn thread cow storm)
#   BENCH_ITERS_<W>        iterations per batch of workload W (- as _),
#                          e.g. BENCH_ITERS_FORK=300
#   BENCH_COW_MIB          size of the COW-heavy parent (default 256)
#   BENCH_SEED             seed of the variant order (default 1)
#   BENCH_LAYOUT=random    the workloads keep ASLR (default: one fixed
#                          address-space layout, see bench/workload.c)
#   BENCH_PROFILE=1        profile.txt: who else ran during each batch, and
#                          its slow iterations (cs-workload CS_WORKLOAD_PROFILE)
#   BENCH_DECODE_EVENTS    records in the synthetic decode trace (default 2000000)
#   BENCH_RESULTS          results file (default bench/results.md)
#   ACCEL                  icount (default): one vCPU whose clock counts
#                          instructions, so a ratio does not move with the
#                          host's load; tcg: two vCPUs on QEMU's emulated
#                          wall clock (results-tcg.md); see selftests/vm/run.sh
#   KVER, BUILD            as for selftests/vm/run.sh
set -euo pipefail

export ACCEL="${ACCEL:-icount}"

# shellcheck source=scripts/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
# shellcheck source=bench/decode.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/decode.sh"

BENCH_DIR="$CLONESCOPE_REPO/bench"
TOOL="$BUILD/tool/clonescope"

settings() {
	local quick="${BENCH_QUICK:-0}" w var def

	if [[ "$quick" == 1 ]]; then
		ROUNDS="${BENCH_ROUNDS:-2}"
		COW_MIB="${BENCH_COW_MIB:-32}"
		DECODE_EVENTS="${BENCH_DECODE_EVENTS:-200000}"
	else
		ROUNDS="${BENCH_ROUNDS:-8}"
		COW_MIB="${BENCH_COW_MIB:-256}"
		DECODE_EVENTS="${BENCH_DECODE_EVENTS:-2000000}"
	fi
	GUEST_ARGS=("ROUNDS=$ROUNDS" "COW_MIB=$COW_MIB" "SEED=${BENCH_SEED:-1}")
	[[ -n "${BENCH_VARIANTS:-}" ]] && GUEST_ARGS+=("VARIANTS=$BENCH_VARIANTS")
	[[ -n "${BENCH_WORKLOADS:-}" ]] && GUEST_ARGS+=("WORKLOADS=$BENCH_WORKLOADS")
	[[ "${BENCH_PROFILE:-0}" == 1 ]] && GUEST_ARGS+=("PROFILE=1")
	[[ -n "${BENCH_LAYOUT:-}" ]] && GUEST_ARGS+=("LAYOUT=$BENCH_LAYOUT")
	# Defaults (guest-bench.sh's): 0.1-0.3 s of instructions per batch
	# under icount; quick mode a fifth.
	for w in fork:600 vfork_exec:100 spawn:100 thread:3000 cow:3 storm:400; do
		def="${w#*:}"
		w="${w%%:*}"
		var="BENCH_ITERS_${w^^}"
		if [[ -n "${!var:-}" ]]; then
			GUEST_ARGS+=("ITERS_$w=${!var}")
		elif [[ "$quick" == 1 ]]; then
			GUEST_ARGS+=("ITERS_$w=$(((def + 4) / 5))")
		fi
	done
}

build() {
	[[ -f "$CLONESCOPE_REPO/module/clonescope.ko" ]] ||
		die "module/clonescope.ko is not built: run 'make module' first"
	KVER="$(guest_kver)"
	export KVER
	local vermagic
	vermagic="$(modinfo -F vermagic "$CLONESCOPE_REPO/module/clonescope.ko")"
	[[ "${vermagic%% *}" == "$KVER" ]] ||
		die "module/clonescope.ko is built for ${vermagic%% *}, the guest runs $KVER: run 'make module KVER=$KVER'"
	[[ -x "$TOOL" ]] || note "$TOOL is not built ('make tool'): the record variants will be skipped"
	make -s -C "$BENCH_DIR" BUILD="$BUILD"
	if [[ -f "$BUILD/tool/libclonescope_core.a" ]]; then
		make -s -C "$BENCH_DIR" BUILD="$BUILD" decode ||
			note "cs-decode-bench did not build against the tool's library"
	fi
}

# Facts about the host, taken before the guest starts (run.sh wants an
# empty output directory: they are written after it).
host_facts() {
	local out="$1"

	printf '%s\n' "out_dir=$out" "accel_requested=$ACCEL" \
		"host_kernel=$(uname -r)" "host_cpus=$(nproc)" \
		"host_load=$(cut -d' ' -f1-3 /proc/loadavg)"
}

main() {
	local out start results facts rc=0

	start=$(date +%s)
	settings
	build
	out="$BUILD/vm-out/bench-$(date +%Y%m%d-%H%M%S)-$$"
	if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
		results="${BENCH_RESULTS:-$out/results.md}"
	else
		results="${BENCH_RESULTS:-$BENCH_DIR/results$([[ "$ACCEL" == icount ]] || echo "-$ACCEL").md}"
	fi
	facts="$(host_facts "$out")"
	note "guest settings: ${GUEST_ARGS[*]}"
	VM_OUT="$out" VM_TIMEOUT="${VM_TIMEOUT:-3600}" VM_QUIET="${VM_QUIET:-1}" \
		"$CLONESCOPE_REPO/selftests/vm/run.sh" "$BENCH_DIR/guest-bench.sh" "${GUEST_ARGS[@]}" ||
		rc=$?
	printf '%s\n' "$facts" > "$out/host.txt"
	[[ -s "$out/raw.txt" ]] || die "the guest wrote no measurements (see $out/console.log)"
	((rc == 0)) || note "the guest run failed (status $rc); reporting what it measured"
	decode_bench "$out" "$DECODE_EVENTS"
	{
		echo "total_seconds=$(($(date +%s) - start))"
		echo "host_load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
	} >> "$out/host.txt"
	python3 "$BENCH_DIR/report.py" "$out" "$results"
	note "results in $results (raw data in $out)"
	return "$rc"
}

main "$@"
