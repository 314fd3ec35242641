#!/usr/bin/env bash
# Guest side of `make check-debug`, on the debug kernel: checks that the
# kernel really has the debug options (from /proc/config.gz) and logs them,
# and that it keeps time with the TSC; runs the device fuzzer, then the
# whole guest suite (guest-check.sh), then checks that lockdep is still
# validating (a splat, or a table overflow, turns it off for the rest of
# the boot).  run.sh then fails the run on any report in the kernel log
# (guest-lib.sh: DMESG_BAD_RE).
#
# usage: guest-check-debug.sh [MODULE.ko]
set -uo pipefail

# shellcheck source=selftests/vm/guest-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

VM_DIR="$(dirname "${BASH_SOURCE[0]}")"
STEPS_TAP="$CLONESCOPE_OUT/guest-check-debug.tap"
# What check-debug is for; each must be =y in the running kernel.
DEBUG_OPTIONS=(KASAN KASAN_GENERIC KFENCE PROVE_LOCKING PROVE_RCU DEBUG_ATOMIC_SLEEP
	DEBUG_PREEMPT UBSAN UBSAN_BOUNDS DEBUG_LIST DETECT_HUNG_TASK SOFTLOCKUP_DETECTOR
	KPROBES KRETPROBES FTRACE DEBUG_FS)

# Prints the options of DEBUG_OPTIONS the running kernel lacks.
missing_debug_options() {
	local config opt

	config="$(zcat /proc/config.gz)" || { echo "no /proc/config.gz"; return; }
	for opt in "${DEBUG_OPTIONS[@]}"; do
		grep -qx "CONFIG_$opt=y" <<< "$config" || echo "CONFIG_$opt"
	done
}

# lockdep's own verdict: debug_locks drops to 0 once it stops validating.
lockdep_still_on() {
	grep -E '^ *debug_locks: *1$' /proc/lockdep_stats
}

main() {
	local missing clocksource failed=0 step=0 tap

	echo "TAP version 13" > "$STEPS_TAP"
	missing="$(missing_debug_options)"
	step=$((step + 1))
	if [[ -z "$missing" ]]; then
		echo "ok $step debug kernel $(uname -r): ${DEBUG_OPTIONS[*]}" | tee -a "$STEPS_TAP"
	else
		echo "not ok $step debug kernel $(uname -r) lacks: $missing" | tee -a "$STEPS_TAP"
		failed=1
	fi
	printf '%s\n' "$(uname -r)" "${DEBUG_OPTIONS[@]}" > "$CLONESCOPE_OUT/debug-options.txt"
	# The timed tests need a fine clock: on jiffies (a TSC the kernel could
	# not calibrate, check-debug.sh) every interval is a multiple of 4 ms.
	clocksource="$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	step=$((step + 1))
	if [[ "$clocksource" == tsc ]]; then
		echo "ok $step clocksource tsc ($(grep -o 'tsc_early_khz=[0-9]*' /proc/cmdline))" |
			tee -a "$STEPS_TAP"
	else
		echo "not ok $step clocksource is $clocksource, not tsc" | tee -a "$STEPS_TAP"
		failed=1
	fi

	# The fuzzer first: it is what only check-debug runs.  It loads the
	# snapshot guest-check.sh would (/tmp/clonescope.ko).
	cp "$(realpath "${1:-$CLONESCOPE_REPO/module/clonescope.ko}")" /tmp/clonescope.ko
	tap="$CLONESCOPE_OUT/device_fuzz.tap"
	echo "# $BUILD/selftests/device_fuzz"
	"$BUILD/selftests/device_fuzz" > "$tap" 2>&1 || failed=1
	cat "$tap"

	"$VM_DIR/guest-check.sh" "$@" || failed=1

	step=$((step + 1))
	if lockdep_still_on > /dev/null; then
		echo "ok $step lockdep still validating (debug_locks 1)" | tee -a "$STEPS_TAP"
	else
		echo "not ok $step lockdep turned itself off: $(grep debug_locks /proc/lockdep_stats)" |
			tee -a "$STEPS_TAP"
		failed=1
	fi
	echo "1..$step" >> "$STEPS_TAP"
	return "$failed"
}

main "$@"
