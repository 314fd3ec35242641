#!/usr/bin/env bash
# Builds the module for kernel KVER in $BUILD/kmod-KVER (a copy of module/
# and uapi/), leaving module/clonescope.ko alone; prints the .ko path.
#
# usage: scripts/kmod-build.sh KVER
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

main() {
	local kver="${1:?usage: kmod-build.sh KVER}" dir

	[[ -d "/lib/modules/$kver/build" ]] || die "no headers for $kver (make deps-kernels)"
	dir="$BUILD/kmod-$kver"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -r "$CLONESCOPE_REPO/module" "$CLONESCOPE_REPO/uapi" "$dir/"
	make -s -C "/lib/modules/$kver/build" M="$dir/module" modules >&2
	echo "$dir/module/clonescope.ko"
}

main "$@"
