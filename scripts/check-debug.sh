#!/usr/bin/env bash
# make check-debug: the whole guest suite plus the device fuzzer
# (selftests/device_fuzz.c) on the debug kernel (scripts/build-debug-kernel.sh:
# KASAN, KFENCE, lockdep, PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT, UBSAN
# bounds), built first when this machine has no cached one.  Any KASAN,
# KFENCE, lockdep, RCU, UBSAN or sleep-in-atomic report in the guest's
# kernel log fails the run and is shown.  Ends with "N passed, N failed".
#
# Environment: VM_TIMEOUT (default 5400 s: everything is slower under KASAN
# in TCG), and build-debug-kernel.sh's.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
	local kdir cache kver module out start tsc_khz rc=0 summary

	kdir="$("$CLONESCOPE_REPO/scripts/build-debug-kernel.sh")"
	cache="$(dirname "$kdir")"
	kver="$(cat "$kdir/include/config/kernel.release")"
	echo "check-debug: debug kernel $kver from $cache ($(tail -n 1 "$cache/build-time"))"
	module="$("$CLONESCOPE_REPO/scripts/kmod-build.sh" "$kver" "$kdir")"
	mkdir -p "$BUILD/vm-out"
	out="$BUILD/vm-out/check-debug-$(date +%Y%m%d-%H%M%S)-$$"
	start="$(date +%s)"

	# No ACPI in that kernel: no HPET or PM timer to calibrate the TSC
	# against, and calibrating against the PIT fails under TCG, which
	# would leave it on the jiffies clock (4 ms steps, every timed test
	# failing).  The guest's TSC runs at the host's rate: pass it.
	tsc_khz="$("$BUILD/selftests/host_tsc_khz")" || die "cannot measure the host's TSC rate"
	KVER="$kver" VM_KERNEL="$kdir/arch/x86/boot/bzImage" VM_MODULES_ROOT="$cache/modroot" \
		VM_APPEND="tsc_early_khz=$tsc_khz" \
		VM_TIMEOUT="${VM_TIMEOUT:-5400}" VM_OUT="$out" \
		CHECK_GUEST_SCRIPT="$CLONESCOPE_REPO/selftests/vm/guest-check-debug.sh" \
		"$CLONESCOPE_REPO/scripts/check.sh" --vm-only "$module" | tee "$out.log" || rc=$?

	echo "check-debug: guest run $(($(date +%s) - start)) s wall"
	if [[ -f "$out/debug-options.txt" ]]; then
		echo "check-debug: guest kernel $(head -n 1 "$out/debug-options.txt"), checked" \
			"=y in its /proc/config.gz: $(tail -n +2 "$out/debug-options.txt" | xargs)"
	fi
	grep -h 'device fuzzer:' "$out/device_fuzz.tap" 2>/dev/null | sed 's/^#* */check-debug: /'
	if [[ -s "$out/dmesg-problems.txt" ]]; then
		echo "check-debug: the guest kernel log shows (full log: $out/dmesg.txt):"
		sed 's/^/    /' "$out/dmesg-problems.txt"
	elif [[ -f "$out/dmesg.txt" ]]; then
		echo "check-debug: guest kernel log clean: no KASAN, KFENCE, lockdep, RCU, UBSAN," \
			"hung-task or sleep-in-atomic report ($out/dmesg.txt)"
	fi
	# The suite's own total stays the last line.
	summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out.log" | tail -n 1)"
	echo "${summary:-0 passed, 1 failed}"
	return "$rc"
}

main "$@"
