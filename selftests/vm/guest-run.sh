#!/usr/bin/env bash
# Guest-side runner, started by /init inside the chroot of the host's root:
# runs the guest script named in /out/guest.env from the repository, then
# checks the kernel log.  /out/status gets the result for run.sh; init
# powers the guest off when this returns.
set -uo pipefail

# shellcheck source=/dev/null # written per run by run.sh
source /out/guest.env
# shellcheck source=selftests/vm/guest-lib.sh
source "$CLONESCOPE_REPO/selftests/vm/guest-lib.sh"

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
export CLONESCOPE_OUT CLONESCOPE_REPO BUILD KVER CLONESCOPE_ACCEL

run_script() {
	local rc

	cd "$CLONESCOPE_REPO" || return 1
	"${CLONESCOPE_CMD[@]}"
	rc=$?
	echo "$rc" > "$CLONESCOPE_OUT/script-status"
	return "$rc"
}

# A guest that calibrated its TSC while the host was too busy keeps time at
# a multiple of real time, and every timeout in the tests is off by it
# (seen on a loaded host: "tsc: Detected 241.001 MHz" where the host's is
# 2594, guest time 11 times too fast, 7 tests failed).  Files created in
# /out get the host's clock: 2 s of the guest's must be near 2 s of it.
# Writes the reason to /out/clock-skew and fails when they are not.
check_clock() {
	local g0 g1 h0 h1 verdict

	# Under -icount guest time counts instructions: it is not meant to
	# keep the host's time.
	[[ "${CLONESCOPE_ACCEL:-}" == icount ]] && return 0

	: > "$CLONESCOPE_OUT/.clock0"
	g0="$(date +%s.%N)"
	sleep 2
	: > "$CLONESCOPE_OUT/.clock1"
	g1="$(date +%s.%N)"
	h0="$(stat -c %.9Y "$CLONESCOPE_OUT/.clock0")"
	h1="$(stat -c %.9Y "$CLONESCOPE_OUT/.clock1")"
	rm -f "$CLONESCOPE_OUT/.clock0" "$CLONESCOPE_OUT/.clock1"
	verdict="$(awk -v g0="$g0" -v g1="$g1" -v h0="$h0" -v h1="$h1" 'BEGIN {
		host = h1 - h0 > 0.001 ? h1 - h0 : 0.001
		r = (g1 - g0) / host
		if (r > 1.5 || r < 1 / 1.5)
			printf "the guest clock runs %.2f times as fast as the host clock", r
	}')"
	[[ -z "$verdict" ]] && return 0
	echo "$verdict ($(dmesg | grep -m1 -o 'tsc: Detected .*' || echo 'no TSC line'))" \
		> "$CLONESCOPE_OUT/clock-skew"
	cat "$CLONESCOPE_OUT/clock-skew"
	return 1
}

main() {
	local rc

	if ! check_clock; then
		echo 1 > "$CLONESCOPE_OUT/status"
		return
	fi
	run_script
	rc=$?
	dmesg > "$CLONESCOPE_OUT/dmesg.txt"
	if ! dmesg_problems > "$CLONESCOPE_OUT/dmesg-problems.txt"; then
		echo "clonescope-vm: the kernel log shows a problem:"
		cat "$CLONESCOPE_OUT/dmesg-problems.txt"
		((rc == 0)) && rc=1
	else
		rm -f "$CLONESCOPE_OUT/dmesg-problems.txt"
	fi
	echo "$rc" > "$CLONESCOPE_OUT/status"
}

main
