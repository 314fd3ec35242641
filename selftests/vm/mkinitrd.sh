#!/usr/bin/env bash
# Build the test guest's initramfs for kernel $KVER: static busybox, /init and
# the virtio/9p/overlay modules needed to mount the host's root (none when the
# kernel has them built in, as the debug kernel does).  Cached under $BUILD/vm
# and rebuilt only when an input changes.  Prints the image's path.
#
# Environment: VM_MODULES_ROOT, a root directory holding lib/modules/$KVER
# (modprobe -d) for a kernel that is not installed; default /.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
# shellcheck source=scripts/kernels-lib.sh
source "$CLONESCOPE_REPO/scripts/kernels-lib.sh"

VM_DIR="$(dirname "${BASH_SOURCE[0]}")"
BUSYBOX=/bin/busybox
# What /init needs: the virtio PCI transport, 9p over virtio and overlayfs.
# Their dependencies, and which of them a kernel has built in (6.12 does
# virtio), come from that kernel's modules.dep through modprobe.
NEEDED_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

# The module files to load, in load order, from the kernel's own tree
# (the host's, or its chroot's for a kernel of make deps-kernels).
module_files() {
	local kver="$1" root

	if [[ -n "${VM_MODULES_ROOT:-}" ]]; then
		root="$VM_MODULES_ROOT"
	else
		root="$(kernel_root "$kver")" || return
	fi
	modprobe -d "$root" -a -S "$kver" --show-depends "${NEEDED_MODULES[@]}" |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

# Everything the image is made from: a change in any rebuilds it.
inputs_key() {
	local kver="$1" files="$2"

	{
		printf '%s\n' "$kver" "$files"
		# shellcheck disable=SC2086 # one path per line, no spaces
		cat "$VM_DIR/init" "${BASH_SOURCE[0]}" "$BUSYBOX" $files
	} | sha256sum | cut -d' ' -f1
}

build_image() {
	local image="$1" files="$2" root file mod tmp

	root="$(mktemp -d "$BUILD/vm/root.XXXXXX")"
	# shellcheck disable=SC2064 # expand now: $root is local
	trap "rm -rf '$root'" RETURN
	mkdir -p "$root"/{bin,dev,etc,proc,sys,mnt,ov,newroot,lib/modules}
	: > "$root/etc/modules.order"
	cp "$BUSYBOX" "$root/bin/busybox"
	install -m 0755 "$VM_DIR/init" "$root/init"
	while read -r file; do
		[[ -n "$file" ]] || continue
		mod="$(basename "$file")"
		mod="${mod%%.ko*}"
		# busybox insmod cannot read compressed modules (Debian's
		# are xz from 5.10 to 7.3; other distributions use zstd).
		case "$file" in
		*.xz) xz -dc "$file" > "$root/lib/modules/$mod.ko" ;;
		*.zst) zstd -q -dc "$file" > "$root/lib/modules/$mod.ko" ;;
		*) cp "$file" "$root/lib/modules/$mod.ko" ;;
		esac
		printf '%s\n' "$mod" >> "$root/etc/modules.order"
	done <<< "$files"
	# A private temporary name: another run may be building the same image.
	tmp="$(mktemp "$image.XXXXXX")"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$tmp"
	mv "$tmp" "$image"
}

main() {
	local kver image key files

	kver="$(guest_kver)"
	files="$(module_files "$kver")" || die "cannot resolve the guest's modules for $kver"
	mkdir -p "$BUILD/vm"
	image="$BUILD/vm/initrd-$kver.cpio.gz"
	key="$(inputs_key "$kver" "$files")"
	if [[ ! -f "$image" || "$(cat "$image.key" 2>/dev/null)" != "$key" ]]; then
		note "building $image"
		build_image "$image" "$files"
		printf '%s\n' "$key" > "$image.key"
	fi
	printf '%s\n' "$image"
}

main "$@"
