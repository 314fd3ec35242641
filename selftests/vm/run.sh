#!/usr/bin/env bash
# Run GUEST_SCRIPT [ARGS...] as root inside a QEMU guest booted from the
# installed Debian kernel, with the host's / visible read-only (writes go to
# a tmpfs overlay) and a writable output directory shared at /out
# ($CLONESCOPE_OUT in the guest).  The guest script runs from the repository
# directory; its exit status becomes ours, and a kernel log showing a BUG,
# WARNING, Oops or an unexpected taint fails the run.
#
# Environment:
#   ACCEL=tcg|mttcg|kvm|icount
#                   tcg (default): TCG with both vCPUs on one host thread;
#                   mttcg: a host thread per vCPU, faster, but the guest
#                   crashed (RIP 0 at call sites being live-patched) when
#                   kprobes were armed and disarmed while other vCPUs ran
#                   those functions, which single-threaded TCG never did in
#                   the same test; kvm is tried first and falls back to tcg
#                   when the guest shows no output within $VM_KVM_GRACE s;
#                   icount: tcg on one vCPU whose clock counts instructions
#                   (-icount shift=$VM_ICOUNT_SHIFT, default 0: one per ns;
#                   sleep=off: idle time is skipped), so guest time does not
#                   depend on the host's speed or load (make bench's mode)
#   VM_TIMEOUT      seconds before the guest is killed (default 900)
#   VM_OUT          output directory (default $BUILD/vm-out/<script>-<time>);
#                   must be absent or empty
#   VM_QUIET=1      do not echo the console; show it only on failure
#   VM_KERNEL       the kernel image to boot (default: $KVER's);
#                   with VM_MODULES_ROOT (see mkinitrd.sh) for one that is
#                   not installed, such as the debug kernel of check-debug
#   VM_APPEND       more kernel command-line parameters (check-debug's
#                   tsc_early_khz=)
#   KVER, BUILD     as exported by the top-level Makefile
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source=scripts/kernels-lib.sh
source "$CLONESCOPE_REPO/scripts/kernels-lib.sh"

VM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VM_TIMEOUT="${VM_TIMEOUT:-900}"
VM_KVM_GRACE="${VM_KVM_GRACE:-30}"
ACCEL="${ACCEL:-tcg}"

usage() {
	echo "usage: ${0##*/} GUEST_SCRIPT [ARGS...]" >&2
	exit 2
}

prepare_out() {
	local out="$1" script="$2"

	if [[ -d "$out" && -n "$(ls -A "$out")" ]]; then
		die "output directory $out is not empty"
	fi
	mkdir -p "$out"
	# Read by the guest's bash: %q quoting survives any argument.
	{
		printf 'CLONESCOPE_REPO=%q\n' "$CLONESCOPE_REPO"
		printf 'CLONESCOPE_OUT=/out\n'
		printf 'BUILD=%q\nKVER=%q\n' "$BUILD" "$KVER"
		printf 'CLONESCOPE_ACCEL=%q\n' "$ACCEL"
		printf 'CLONESCOPE_CMD=('
		printf ' %q' "$script" "${@:3}"
		printf ' )\n'
	} > "$out/guest.env"
}

# QEMU under a hard timeout, console to $out/console.log.  no_timer_check:
# on a loaded host the TCG vCPU can miss the IO-APIC timer check's window,
# and the kernel then panics at boot ("IO-APIC + timer doesn't work!").
# oops=panic: after an Oops the kernel is not trustworthy, and tests going
# on would only pile up more Oopses until the timeout; stop at the first.
run_qemu() {
	local accel="$1" initrd="$2" out="$3" image pid smp=2
	local -a accel_args

	# shellcheck disable=SC2054 # tcg,thread=... is one QEMU argument
	case "$accel" in
	tcg) accel_args=(-accel tcg,thread=single) ;;
	mttcg) accel_args=(-accel tcg,thread=multi) ;;
	kvm) accel_args=(-accel kvm -cpu host) ;;
	# One vCPU: with two, QEMU 7.2's icount hangs the guest at
	# "x86: Booting SMP configuration" (the boot CPU's wait for the
	# second one never ends).
	icount)
		accel_args=(-accel tcg,thread=single
			-icount "shift=${VM_ICOUNT_SHIFT:-0},sleep=off")
		smp=1
		;;
	esac
	image="${VM_KERNEL:-$(kernel_image "$KVER")}"
	timeout --kill-after=10 "$VM_TIMEOUT" \
		qemu-system-x86_64 -M q35 -m 2G -smp "$smp" "${accel_args[@]}" \
		-display none -no-user-config -nodefaults -no-reboot \
		-serial "file:$out/console.log" -monitor none \
		-kernel "$image" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 oops=panic tsc=reliable clocksource=tsc no_timer_check${VM_APPEND:+ $VM_APPEND}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap" &
	pid=$!
	# Stopping us (run.sh interrupted, KVM given up) must stop QEMU too.
	trap 'kill "$pid" 2>/dev/null' TERM
	wait "$pid"
}

# Starts run_qemu in the background, its PID in $qemu_pid.  Its messages,
# and the subshell's report of a QEMU that aborted, go to $out/qemu.log.
start_qemu() {
	local out="$3"

	: > "$out/console.log"
	run_qemu "$@" < /dev/null >> "$out/qemu.log" 2>&1 &
	qemu_pid=$!
}

# Nested KVM can abort or hang before the guest prints anything: give it
# $VM_KVM_GRACE seconds to show output.  Fails when it did not.
kvm_came_up() {
	local out="$1" waited

	for ((waited = 0; waited < VM_KVM_GRACE; waited++)); do
		[[ -s "$out/console.log" ]] && return 0
		kill -0 "$qemu_pid" 2>/dev/null || break
		sleep 1
	done
	[[ -s "$out/console.log" ]] && return 0
	kill "$qemu_pid" 2>/dev/null || true
	wait "$qemu_pid" || true
	note "no guest output under KVM after ${waited}s ($(head -n 1 "$out/qemu.log")); falling back to TCG"
	return 1
}

# The console, or its start (the first failure) and end when it is long.
show_console() {
	local log="$1" lines head=150 tail=100

	lines="$(wc -l < "$log")"
	echo "----- guest console ($log) -----"
	if ((lines <= head + tail)); then
		cat "$log"
	else
		head -n "$head" "$log"
		echo "[... $((lines - head - tail)) lines omitted ...]"
		tail -n "$tail" "$log"
	fi
	echo "-----"
}

stop_children() {
	local pid

	for pid in "${qemu_pid:-}" "${tail_pid:-}"; do
		[[ -n "$pid" ]] && kill "$pid" 2>/dev/null
	done
	return 0
}

# Why the run failed, from what the guest left in $out; empty on success.
failure_reason() {
	local out="$1" qemu_rc="$2" status

	if ((qemu_rc == 124 || qemu_rc == 137)); then
		echo "guest timed out after ${VM_TIMEOUT}s (hung?)"
	elif [[ -f "$out/clock-skew" ]]; then
		echo "$(cat "$out/clock-skew"), on the second boot too: the host is too loaded"
	elif [[ ! -f "$out/status" ]]; then
		if grep -q 'Kernel panic' "$out/console.log"; then
			echo "guest kernel panicked"
		else
			echo "guest died before reporting a status (qemu exit $qemu_rc)"
		fi
	elif [[ -f "$out/dmesg-problems.txt" ]]; then
		echo "guest kernel log shows a problem: $(head -n 3 "$out/dmesg-problems.txt" | tr '\n' ' ')"
	elif status="$(cat "$out/status")" && [[ "$status" != 0 ]]; then
		echo "guest script exited with status $status"
	fi
}

# Boots the guest and waits for it; the guest's output is in @out.
# Returns QEMU's exit status.
boot_guest() {
	local accel="$1" initrd="$2" out="$3" rc=0

	start_qemu "$accel" "$initrd" "$out"
	if [[ "$accel" == kvm ]] && ! kvm_came_up "$out"; then
		accel=tcg
		start_qemu "$accel" "$initrd" "$out"
	fi
	if [[ "${VM_QUIET:-0}" != 1 ]]; then
		tail -n +1 -f --pid="$qemu_pid" "$out/console.log" &
		tail_pid=$!
	fi
	wait "$qemu_pid" || rc=$?
	qemu_pid=""
	[[ -n "${tail_pid:-}" ]] && wait "$tail_pid"
	tail_pid=""
	return "$rc"
}

main() {
	local script out initrd accel="$ACCEL" qemu_rc=0 reason

	(($# >= 1)) || usage
	[[ "$accel" =~ ^(tcg|mttcg|kvm|icount)$ ]] || die "ACCEL must be tcg, mttcg, kvm or icount, not '$accel'"
	script="$(realpath "$1")"
	[[ -x "$script" ]] || die "$1: not an executable file"
	KVER="$(guest_kver)"
	if [[ -n "${VM_KERNEL:-}" ]]; then
		[[ -f "$VM_KERNEL" ]] || die "no kernel image $VM_KERNEL"
	else
		kernel_image "$KVER" > /dev/null ||
			die "no image of kernel $KVER (run 'make deps', or 'make deps-kernels')"
	fi
	initrd="$("$VM_DIR/mkinitrd.sh")"
	out="${VM_OUT:-$BUILD/vm-out/$(basename "$script" .sh)-$(date +%Y%m%d-%H%M%S)-$$}"
	prepare_out "$out" "$@"
	note "guest $KVER ($accel), output in $out"

	trap stop_children EXIT
	trap 'exit 130' INT TERM
	boot_guest "$accel" "$initrd" "$out" || qemu_rc=$?
	# A clock skewed at boot is the host's load, not the test's fault:
	# boot once more (guest-run.sh stops at once on a skewed clock).
	if [[ -f "$out/clock-skew" ]]; then
		note "$(cat "$out/clock-skew"): booting the guest again"
		mv "$out/clock-skew" "$out/clock-skew.first"
		rm -f "$out/status" "$out/script-status"
		qemu_rc=0
		boot_guest "$accel" "$initrd" "$out" || qemu_rc=$?
	fi

	reason="$(failure_reason "$out" "$qemu_rc")"
	if [[ -z "$reason" ]]; then
		return 0
	fi
	[[ "${VM_QUIET:-0}" == 1 ]] && show_console "$out/console.log" >&2
	note "FAILED: $reason (output in $out)"
	# The guest script's own status when it has one, else a plain failure.
	if [[ -f "$out/script-status" && "$(cat "$out/script-status")" != 0 ]]; then
		return "$(cat "$out/script-status")"
	fi
	return 1
}

main "$@"
