# shellcheck shell=bash
# Helpers shared by the scripts in scripts/ and selftests/vm/ (sourced, not run).

# The repository root, whatever the caller's working directory.
CLONESCOPE_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$CLONESCOPE_REPO/build}"

die() {
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

note() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# The guest kernel: $KVER when make exported it, else the newest installed
# kernel that has both a bootable image and a module tree (the running host
# kernel may have neither).  Debian bumps the ABI number, so never hard-code it.
guest_kver() {
	local dir kver found=""

	if [[ -n "${KVER:-}" ]]; then
		printf '%s\n' "$KVER"
		return
	fi
	for dir in /lib/modules/*/; do
		kver="$(basename "$dir")"
		[[ -f "/boot/vmlinuz-$kver" && -d "$dir/kernel" ]] && found+="$kver"$'\n'
	done
	[[ -n "$found" ]] || die "no kernel with /boot/vmlinuz-* and /lib/modules/*/kernel (run 'make deps')"
	printf '%s' "$found" | sort -V | tail -n 1
}
