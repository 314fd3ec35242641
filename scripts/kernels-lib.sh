# shellcheck shell=bash
# The test kernels (sourced after lib.sh): which Debian suite gives each one,
# and where its headers, image and modules are once 'make deps-kernels' has
# fetched them.
#
# Debian 12's own 6.1 is the host's (make deps).  The others live in one
# debootstrap chroot per suite under $CLONESCOPE_KERNELS, outside the
# clone: the suite's linux-headers package is installed in its chroot
# (newer headers need their own suite's gcc and glibc to build against),
# and the image package is unpacked there with dpkg -x, never installed, so
# nothing of another suite reaches the host's apt state.

CLONESCOPE_KERNELS="${CLONESCOPE_KERNELS:-/var/cache/clonescope/kernels}"

# One kernel per line: label, chroot suite, extra apt suite to take it from
# ("-" for the chroot's own), image and headers metapackages.  trixie's 6.12
# (not bookworm-backports') so the generic and the PREEMPT_RT flavour come
# from one suite and one toolchain.
# shellcheck disable=SC2034 # used by the scripts that source this
KERNEL_TABLE="
5.10	bullseye	-	linux-image-amd64	linux-headers-amd64
6.12	trixie	-	linux-image-amd64	linux-headers-amd64
6.12-rt	trixie	-	linux-image-rt-amd64	linux-headers-rt-amd64
7.2	sid	-	linux-image-amd64	linux-headers-amd64
7.3-rc	sid	experimental	linux-image-amd64	linux-headers-amd64
"

# The chroot of a suite.
kernel_chroot_dir() {
	printf '%s/%s\n' "$CLONESCOPE_KERNELS" "$1"
}

# The image of kernel @kver under @root: Debian's /boot up to 6.x, the
# kernel's module directory from 7.x.
image_under() {
	local root="${1%/}" kver="$2" image

	for image in "$root/boot/vmlinuz-$kver" "$root/usr/lib/modules/$kver/vmlinuz"; do
		if [[ -f "$image" ]]; then
			echo "$image"
			return
		fi
	done
	return 1
}

# The root a kernel's files are under: / for the host's, else its chroot.
# Fails for a kernel that is in neither.
kernel_root() {
	local kver="$1" dir

	if [[ -d "/lib/modules/$kver/build" ]] && image_under / "$kver" > /dev/null; then
		echo /
		return
	fi
	for dir in "$CLONESCOPE_KERNELS"/*/; do
		dir="${dir%/}"
		if [[ -d "$dir/usr/src/linux-headers-$kver" ]] &&
			image_under "$dir" "$kver" > /dev/null; then
			echo "$dir"
			return
		fi
	done
	return 1
}

# The bootable image of a kernel.
kernel_image() {
	local root

	root="$(kernel_root "$1")" || return
	image_under "$root" "$1"
}

# Every kernel with both an image and headers, in version order.
all_kernels() {
	local build headers dir kver

	{
		for build in /lib/modules/*/build; do
			kver="$(basename "$(dirname "$build")")"
			image_under / "$kver" > /dev/null && echo "$kver"
		done
		for headers in "$CLONESCOPE_KERNELS"/*/usr/src/linux-headers-*; do
			[[ -f "$headers/Module.symvers" ]] || continue
			dir="${headers%/usr/src/*}"
			kver="${headers##*/linux-headers-}"
			image_under "$dir" "$kver" > /dev/null && echo "$kver"
		done
	} | sort -V
}
