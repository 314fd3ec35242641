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

# The guest kernel: $KVER when make exported it, else what the top-level
# Makefile would pick (scripts/default-kver.sh), so the guest boots the
# kernel the module was built for.
guest_kver() {
	if [[ -n "${KVER:-}" ]]; then
		printf '%s\n' "$KVER"
	else
		"$CLONESCOPE_REPO/scripts/default-kver.sh"
	fi
}
