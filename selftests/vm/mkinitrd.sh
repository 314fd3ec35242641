#!/usr/bin/env bash
# Build the test guest's initramfs for kernel $KVER: static busybox, /init and
# the virtio/9p/overlay modules needed to mount the host's root.  Cached under
# $BUILD/vm and rebuilt only when an input changes.  Prints the image's path.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

VM_DIR="$(dirname "${BASH_SOURCE[0]}")"
BUSYBOX=/bin/busybox
# Load order: each module only needs those before it.
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
	netfs fscache 9pnet 9pnet_virtio 9p overlay)

# The module file in the kernel's tree: plain or xz-compressed.
module_file() {
	local kver="$1" mod="$2" file

	file="$(find "/lib/modules/$kver/kernel" \( -name "$mod.ko" -o -name "$mod.ko.xz" \) \
		-print -quit)"
	[[ -n "$file" ]] || die "module $mod not found for kernel $kver"
	printf '%s\n' "$file"
}

# Everything the image is made from: a change in any rebuilds it.
inputs_key() {
	local kver="$1" mod

	{
		printf '%s\n' "$kver" "${MODULES[@]}"
		cat "$VM_DIR/init" "${BASH_SOURCE[0]}" "$BUSYBOX"
		for mod in "${MODULES[@]}"; do
			cat "$(module_file "$kver" "$mod")"
		done
	} | sha256sum | cut -d' ' -f1
}

build_image() {
	local kver="$1" image="$2" root mod file

	root="$(mktemp -d "$BUILD/vm/root.XXXXXX")"
	# shellcheck disable=SC2064 # expand now: $root is local
	trap "rm -rf '$root'" RETURN
	mkdir -p "$root"/{bin,dev,etc,proc,sys,mnt,ov,newroot,lib/modules}
	cp "$BUSYBOX" "$root/bin/busybox"
	install -m 0755 "$VM_DIR/init" "$root/init"
	for mod in "${MODULES[@]}"; do
		file="$(module_file "$kver" "$mod")"
		# busybox insmod cannot read compressed modules.
		case "$file" in
		*.xz) xz -dc "$file" > "$root/lib/modules/$mod.ko" ;;
		*) cp "$file" "$root/lib/modules/$mod.ko" ;;
		esac
		printf '%s\n' "$mod" >> "$root/etc/modules.order"
	done
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$image.tmp"
	mv "$image.tmp" "$image"
}

main() {
	local kver image key

	kver="$(guest_kver)"
	mkdir -p "$BUILD/vm"
	image="$BUILD/vm/initrd-$kver.cpio.gz"
	key="$(inputs_key "$kver")"
	if [[ ! -f "$image" || "$(cat "$image.key" 2>/dev/null)" != "$key" ]]; then
		note "building $image"
		build_image "$kver" "$image"
		printf '%s\n' "$key" > "$image.key"
	fi
	printf '%s\n' "$image"
}

main "$@"
