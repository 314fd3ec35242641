#!/usr/bin/env bash
# Builds the module for kernel KVER from a copy of module/ and uapi/,
# leaving module/clonescope.ko alone, and prints the .ko path.  The host's
# kernels build in $BUILD/kmod-KVER; a kernel of 'make deps-kernels' builds
# inside its suite's chroot, with that suite's toolchain.  The compiler's
# output goes to stderr; --werror fails the build on any warning (kbuild's
# or modpost's).
#
# usage: scripts/kmod-build.sh [--werror] KVER [KDIR]
#   KDIR: a kernel build tree of the host's to build against instead (the
#   debug kernel of make check-debug)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/kernels-lib.sh
source "$CLONESCOPE_REPO/scripts/kernels-lib.sh"

main() {
	local werror=0 kver root kdir dir build_dir log rc=0
	local -a make_cmd

	if [[ "${1:-}" == --werror ]]; then
		werror=1
		shift
	fi
	kver="${1:?usage: kmod-build.sh [--werror] KVER [KDIR]}"
	if [[ -n "${2:-}" ]]; then
		root=/
		kdir="$2"
	else
		root="$(kernel_root "$kver")" || die "no headers and image for $kver (make deps-kernels)"
		kdir="/lib/modules/$kver/build"
	fi
	if [[ "$root" == / ]]; then
		dir="$BUILD/kmod-$kver"
		make_cmd=(make -C "$kdir" M="$dir/module" modules)
	else
		# One build directory per clone: other clones share the chroot.
		build_dir="/clonescope-build/$(printf '%s' "$BUILD" | sha256sum | cut -c1-12)"
		dir="$root$build_dir/kmod-$kver"
		# objtool reads /proc: a private one, gone with the build.
		make_cmd=(unshare --mount --pid --fork --mount-proc="$root/proc"
			chroot "$root" make -C "/usr/src/linux-headers-$kver"
			M="$build_dir/kmod-$kver/module" modules)
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -r "$CLONESCOPE_REPO/module" "$CLONESCOPE_REPO/uapi" "$dir/"
	log="$dir/build.log"
	LC_ALL=C "${make_cmd[@]}" > "$log" 2>&1 || rc=$?
	cat "$log" >&2
	((rc == 0)) || die "the module does not build for $kver"
	if ((werror)) && grep -qi 'warning' "$log"; then
		die "the module builds for $kver with warnings"
	fi
	echo "$dir/module/clonescope.ko"
}

main "$@"
