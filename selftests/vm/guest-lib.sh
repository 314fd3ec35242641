# shellcheck shell=bash
# Guest-side helpers (sourced inside the test guest).

# Kernel log lines that mean the kernel hit a bug, whatever the test said.
# KASAN and KFENCE reports and "sleeping function called from invalid
# context" start with BUG:, lockdep splats and suspicious RCU usage with
# WARNING:; UBSAN, RCU stalls and hung tasks have their own words.
DMESG_BAD_RE='BUG:|WARNING:|Oops|general protection|list_del corruption|UBSAN:|rcu: INFO:|detected stalls? on CPU|INFO: task .* blocked for more than'
# Taint letters by bit (kernel/panic.c).  Allowed: O (out-of-tree module,
# bit 12) and E (unsigned module, bit 13), which loading our module sets.
TAINT_LETTERS=PFSRMBUDAWCIOELKXTN
TAINT_ALLOWED=$(((1 << 12) | (1 << 13)))

# Prints what is wrong with the kernel's state (bad log lines, unexpected
# taint flags); prints nothing and succeeds when it is clean.
dmesg_problems() {
	local tainted bad bit letters=""

	dmesg | grep -E "$DMESG_BAD_RE" && bad=1
	tainted="$(cat /proc/sys/kernel/tainted)"
	for ((bit = 0; bit < ${#TAINT_LETTERS}; bit++)); do
		if ((tainted & (1 << bit) & ~TAINT_ALLOWED)); then
			letters+="${TAINT_LETTERS:bit:1}"
		fi
	done
	if [[ -n "$letters" ]]; then
		echo "kernel tainted: $tainted (flags $letters)"
		bad=1
	fi
	[[ -z "${bad:-}" ]]
}

# insmod the module (with any parameters) and wait for its device node:
# there is no udev in the guest, devtmpfs makes the node a little later.
insmod_clonescope() {
	local i

	insmod "$@" || return
	for ((i = 0; i < 50; i++)); do
		[[ -c /dev/clonescope ]] && return 0
		sleep 0.1
	done
	echo "no /dev/clonescope after insmod" >&2
	return 1
}
