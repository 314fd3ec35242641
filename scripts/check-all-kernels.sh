#!/usr/bin/env bash
# make check-all-kernels: the host unit tests once, then the guest
# selftests on every installed kernel that has both headers and an image
# (Debian 12's 6.1 and, after 'make deps-kernels', 6.12 from
# bookworm-backports).  One summary line per kernel, then the total as
# "N passed, N failed".
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kernels() {
	local build kver

	for build in /lib/modules/*/build; do
		kver="$(basename "$(dirname "$build")")"
		[[ -f "/boot/vmlinuz-$kver" ]] && echo "$kver"
	done | sort -V
}

# The "N passed, N failed" line of one check.sh run, as "N N".
last_counts() {
	sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$1" | tail -n 1
}

main() {
	local scripts kver module log passed=0 failed=0 p f
	local -a summary=()

	scripts="$(dirname "${BASH_SOURCE[0]}")"
	log="$BUILD/check-unit-all.log"
	"$scripts/check.sh" --unit-only 2>&1 | tee "$log" || true
	read -r p f < <(last_counts "$log") || { p=0; f=1; }
	passed=$((passed + p))
	failed=$((failed + f))
	summary+=("unit: $p passed, $f failed")

	for kver in $(kernels); do
		log="$BUILD/check-$kver.log"
		if module="$("$scripts/kmod-build.sh" "$kver")"; then
			KVER="$kver" "$scripts/check.sh" --vm-only "$module" 2>&1 | tee "$log" || true
			read -r p f < <(last_counts "$log") || { p=0; f=1; }
		else
			note "the module does not build for $kver"
			p=0
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
		summary+=("$kver: $p passed, $f failed")
	done

	printf 'check-all-kernels: %s\n' "${summary[@]}"
	echo "$passed passed, $failed failed"
	((failed == 0))
}

main "$@"
