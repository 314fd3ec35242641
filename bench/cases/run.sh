#!/usr/bin/env bash
# make cases: run the seven case studies in one guest boot and write
# Documentation/case-studies.rst from what they recorded.
#
# Needs the module and the tool built (make module tool); builds its own
# workload into $BUILD/cases.  Settings (environment):
#   CASES_QUICK=1   small sizes, few repeats, for development: the document
#                   goes to the run's output directory, not Documentation/
#   CASES_ONLY="N…" only these studies (e.g. "7"), for development: the
#                   document (of those studies) goes to the output directory
#   CASES_DOC       document to write (default Documentation/case-studies.rst)
#   CASES_OUT       reuse the raw output of an earlier run: no guest, only
#                   the generator
#   ACCEL, KVER, BUILD, VM_TIMEOUT   as for selftests/vm/run.sh
set -euo pipefail

# shellcheck source=scripts/lib.sh disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

CASES_DIR="$CLONESCOPE_REPO/bench/cases"
TOOL="$BUILD/tool/clonescope"

build() {
	local vermagic

	[[ -f "$CLONESCOPE_REPO/module/clonescope.ko" ]] ||
		die "module/clonescope.ko is not built: run 'make module' first"
	[[ -x "$TOOL" ]] || die "$TOOL is not built: run 'make tool' first"
	KVER="$(guest_kver)"
	export KVER
	vermagic="$(modinfo -F vermagic "$CLONESCOPE_REPO/module/clonescope.ko")"
	[[ "${vermagic%% *}" == "$KVER" ]] ||
		die "module/clonescope.ko is built for ${vermagic%% *}, the guest runs $KVER: run 'make module KVER=$KVER'"
	make -s -C "$CASES_DIR" BUILD="$BUILD"
}

# Copies what the guest runs into $1, so a host rebuild of the tool or the
# module during the (long) guest run cannot change them under it.
snapshot() {
	local dir="$1"

	mkdir -p "$dir"
	cp "$TOOL" "$BUILD/tool/libclonescope-preload.so" "$BUILD/cases/cs-cases" \
		"$CLONESCOPE_REPO/module/clonescope.ko" "$dir/"
}

main() {
	local out doc args=() start rc=0

	start=$(date +%s)
	if [[ "${CASES_QUICK:-0}" == 1 ]]; then
		args=("SIZES=16 64" REPS=2 THP_MIB=32 SPAWN_MIB=64 SPAWN_REPS=2
		      SPAWN_WRITES=512 COW_MIB=32 COW_STEPS=3 THREAD_N=4 THREAD_MIB=16
		      SIG_MIB=64 SIG_REPS=1 FAIL_MIB=16 SIG_THREAD_REPS=10
		      REDIS_KEYS=20000 REDIS_REPS=1 REDIS_WRITES=10000)
	fi
	[[ -n "${CASES_ONLY:-}" ]] && args+=("ONLY=$CASES_ONLY")
	if [[ -n "${CASES_OUT:-}" ]]; then
		out="$CASES_OUT"
	else
		build
		out="$BUILD/vm-out/cases-$(date +%Y%m%d-%H%M%S)-$$"
		SNAP="$BUILD/cases/snap-$$"
		snapshot "$SNAP"
		trap 'rm -rf "$SNAP"' EXIT
		note "case studies: output in $out"
		VM_OUT="$out" VM_TIMEOUT="${VM_TIMEOUT:-1800}" VM_QUIET="${VM_QUIET:-1}" \
			"$CLONESCOPE_REPO/selftests/vm/run.sh" "$CASES_DIR/guest-cases.sh" \
			"BIN=$SNAP" "${args[@]}" || rc=$?
		echo "host_seconds=$(($(date +%s) - start))" > "$out/host.txt"
		echo "accel=${ACCEL:-tcg}" >> "$out/host.txt"
		echo "host_cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" >> "$out/host.txt"
		((rc == 0)) || die "the guest run failed (status $rc; see $out/console.log)"
	fi
	if [[ "${CASES_QUICK:-0}" == 1 || -n "${CASES_ONLY:-}" ]]; then
		doc="${CASES_DOC:-$out/case-studies.rst}"
	else
		doc="${CASES_DOC:-$CLONESCOPE_REPO/Documentation/case-studies.rst}"
	fi
	python3 "$CASES_DIR/report.py" "$out" "$doc"
	note "wrote $doc (raw data in $out)"
}

main "$@"
