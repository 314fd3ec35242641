#!/usr/bin/env bash
# make deps-kernels: the test kernels other than the host's 6.1 (see
# scripts/kernels-lib.sh): one debootstrap chroot per Debian suite under
# $CLONESCOPE_KERNELS, with the suite's kernel headers installed in it and
# the kernel image unpacked into it.  Idempotent: a kernel fetched before
# is kept (CLONESCOPE_KERNELS_REFRESH=1 looks for newer ones).
#
# usage: scripts/deps-kernels.sh [LABEL...]   (default: every kernel)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/kernels-lib.sh
source "$CLONESCOPE_REPO/scripts/kernels-lib.sh"

MIRROR=http://deb.debian.org/debian
# What building a module needs; the kernel's own gcc comes with its headers.
CHROOT_PACKAGES=gcc,make,libc6-dev,bc,libelf-dev,kmod,xz-utils,zstd
APT=(apt-get -q -y --no-install-recommends -o DPkg::Lock::Timeout=600)

host_debootstrap() {
	command -v debootstrap > /dev/null && return
	note "installing debootstrap (Debian 12's)"
	DEBIAN_FRONTEND=noninteractive "${APT[@]}" install debootstrap ||
		{ apt-get -q update && DEBIAN_FRONTEND=noninteractive "${APT[@]}" install debootstrap; }
}

in_chroot() {
	local dir="$1"

	shift
	# INITRD=No: newer headers depend on their image, whose postinst
	# would build an initramfs the guest does not use.
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 INITRD=No \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		chroot "$dir" "$@"
}

# The chroot of @suite, made once.  sid's and experimental's Release files
# on the mirror are expired: the chroot's apt is told not to mind.
make_chroot() {
	local suite="$1" dir tmp

	dir="$(kernel_chroot_dir "$suite")"
	[[ -f "$dir/.clonescope-chroot" ]] && return
	note "debootstrap $suite into $dir"
	tmp="$dir.tmp"
	rm -rf "$tmp"
	mkdir -p "$CLONESCOPE_KERNELS"
	debootstrap --variant=minbase --include="$CHROOT_PACKAGES" "$suite" "$tmp" "$MIRROR" \
		> "$CLONESCOPE_KERNELS/debootstrap-$suite.log" 2>&1 ||
		die "debootstrap $suite failed (see $CLONESCOPE_KERNELS/debootstrap-$suite.log)"
	echo 'Acquire::Check-Valid-Until "false";' > "$tmp/etc/apt/apt.conf.d/99clonescope"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	touch "$dir/.clonescope-chroot"
}

# Adds the apt suite @extra (experimental) to a chroot's sources, once.
add_suite() {
	local dir="$1" extra="$2" list

	list="$dir/etc/apt/sources.list.d/$extra.list"
	[[ -f "$list" ]] && return
	echo "deb $MIRROR $extra main" > "$list"
	rm -f "$dir/.clonescope-updated"
}

update_chroot() {
	local dir="$1"

	[[ -f "$dir/.clonescope-updated" && "${CLONESCOPE_KERNELS_REFRESH:-0}" != 1 ]] && return
	in_chroot "$dir" apt-get -q update > /dev/null
	touch "$dir/.clonescope-updated"
}

# The versioned package that @meta depends on in apt suite @from, e.g.
# linux-image-amd64 -> linux-image-6.12.57+deb13-amd64 (7.x metapackages
# also depend on linux-base-amd64: take the one with a version number).
versioned_package() {
	local dir="$1" from="$2" meta="$3" version package

	version="$(in_chroot "$dir" apt-cache madison "$meta" |
		awk -F'|' -v from=" $from/" 'index($3, from) { gsub(/ /, "", $2); print $2; exit }')"
	[[ -n "$version" ]] || die "no $meta in $from"
	package="$(in_chroot "$dir" apt-cache show "$meta=$version" |
		sed -nE 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
		sed -nE "s/^ *($(cut -d- -f1-2 <<< "$meta")-[0-9][^ ]*).*/\1/p" | head -n 1)"
	[[ -n "$package" ]] || die "$meta $version depends on no versioned package"
	echo "$package"
}

fetch_kernel() {
	local label="$1" suite="$2" extra="$3" image_meta="$4" headers_meta="$5"
	local dir from stamp image headers parts kver deb start=$SECONDS
	local -a target=()

	dir="$(kernel_chroot_dir "$suite")"
	stamp="$dir/.clonescope-kernel-$label"
	if [[ -f "$stamp" && "${CLONESCOPE_KERNELS_REFRESH:-0}" != 1 ]] &&
		kernel_root "$(cat "$stamp")" > /dev/null; then
		note "$label: $(cat "$stamp") present"
		return
	fi
	make_chroot "$suite"
	from="$suite"
	if [[ "$extra" != - ]]; then
		add_suite "$dir" "$extra"
		from="$extra"
		target=(-t "$extra")
	fi
	update_chroot "$dir"
	image="$(versioned_package "$dir" "$from" "$image_meta")"
	headers="$(versioned_package "$dir" "$from" "$headers_meta")"
	kver="${image#linux-image-}"
	# Signed images are named linux-image-KVER, unsigned ones -unsigned.
	kver="${kver%-unsigned}"
	note "$label: $image and $headers ($from) into $dir"
	in_chroot "$dir" "${APT[@]}" "${target[@]}" install "$headers" > /dev/null
	rm -rf "$dir/tmp/clonescope-image"
	mkdir -p "$dir/tmp/clonescope-image"
	# From 7.x the image package only depends on the kernel's parts.
	parts="$(in_chroot "$dir" apt-cache show "$image" | sed -nE 's/^Depends: //p' |
		head -n 1 | tr ',' '\n' | sed -nE 's/^ *(linux-(binary|modules)-[^ ]+).*/\1/p' |
		tr '\n' ' ')"
	in_chroot "$dir" sh -c "cd /tmp/clonescope-image &&
		apt-get -q -o APT::Sandbox::User=root download $image $parts" > /dev/null
	# Unpacked, not installed: no maintainer scripts, no initramfs.  The
	# chroot's /lib is a symlink to usr/lib: tar must keep it one.
	for deb in "$dir"/tmp/clonescope-image/*.deb; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$dir"
	done
	rm -rf "$dir/tmp/clonescope-image"
	in_chroot "$dir" depmod "$kver"
	kernel_root "$kver" > /dev/null || die "$label: no image or headers for $kver in $dir"
	echo "$kver" > "$stamp"
	note "$label: $kver ready ($((SECONDS - start)) s)"
}

main() {
	local label suite extra image_meta headers_meta lock
	local -a wanted=("$@")

	[[ $EUID -eq 0 ]] || die "make deps-kernels runs debootstrap and chroot: run it as root"
	host_debootstrap
	mkdir -p "$CLONESCOPE_KERNELS"
	# Other clones on this machine share the chroots.
	exec {lock}> "$CLONESCOPE_KERNELS/.lock"
	flock "$lock"
	while read -r label suite extra image_meta headers_meta; do
		[[ -n "$label" ]] || continue
		if ((${#wanted[@]})) && [[ " ${wanted[*]} " != *" $label "* ]]; then
			continue
		fi
		fetch_kernel "$label" "$suite" "$extra" "$image_meta" "$headers_meta"
	done <<< "$KERNEL_TABLE"
}

main "$@"
