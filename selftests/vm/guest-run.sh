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
export CLONESCOPE_OUT CLONESCOPE_REPO BUILD KVER

run_script() {
	local rc

	cd "$CLONESCOPE_REPO" || return 1
	"${CLONESCOPE_CMD[@]}"
	rc=$?
	echo "$rc" > "$CLONESCOPE_OUT/script-status"
	return "$rc"
}

main() {
	local rc

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
