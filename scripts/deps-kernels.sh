#!/usr/bin/env bash
# make deps-kernels: the second test kernel, the newest 6.12 from
# bookworm-backports (image + headers), for make check-all-kernels.  The
# backports suite goes into a sources file of ours, pinned at priority 100
# so it never upgrades anything on its own; only the kernel packages
# named here come from it.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SOURCES=/etc/apt/sources.list.d/clonescope-backports.sources
PIN=/etc/apt/preferences.d/clonescope-backports

add_backports() {
	[[ -f "$SOURCES" && -f "$PIN" ]] && return
	note "adding bookworm-backports ($SOURCES), pinned low ($PIN)"
	cat > "$SOURCES" <<-'END'
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: bookworm-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	END
	cat > "$PIN" <<-'END'
	Package: *
	Pin: release n=bookworm-backports
	Pin-Priority: 100
	END
	apt-get update -q
}

# The versioned package a backports metapackage depends on, e.g.
# linux-image-amd64 -> linux-image-6.12.95+deb12-amd64.
backports_target() {
	local meta="$1" version

	version="$(apt-cache madison "$meta" | awk '/bookworm-backports/ { print $3; exit }')"
	[[ -n "$version" ]] || die "no $meta in bookworm-backports"
	apt-cache show "$meta=$version" |
		sed -nE 's/^Depends: ([^ ,]+).*/\1/p' | head -n 1
}

installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

main() {
	local image headers

	[[ $EUID -eq 0 ]] || die "make deps-kernels installs packages: run it as root"
	add_backports
	image="$(backports_target linux-image-amd64)"
	headers="$(backports_target linux-headers-amd64)"
	if installed "$image" && installed "$headers"; then
		note "deps-kernels: $image and $headers present"
		return
	fi
	note "installing $image $headers"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$image" "$headers"
}

main "$@"
