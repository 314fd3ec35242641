#!/usr/bin/env bash
# make deps: install the Debian 12 packages clonescope needs to build, test
# and demo.  Idempotent: installs only what dpkg reports missing, and touches
# the apt lists only when there is something to install.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
	# the QEMU guest that runs the module (the host kernel cannot load it)
	qemu-system-x86 linux-image-amd64 linux-headers-amd64
	busybox-static cpio kmod xz-utils zstd
	# building the module, the selftests and the tool
	build-essential cmake pkg-config
	libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libdw-dev
	# clonescope export's HTTP server; the Prometheus that scrapes it in
	# the guest test (Debian's prometheus package also ships promtool,
	# which checks the exposition) and curl, which queries it
	libcpp-httplib-dev prometheus curl
	# kselftest_harness.h for the selftests; the source of the debug kernel
	linux-source-6.1
	# the real programs the realprog selftests record (redis-server also
	# for the attach test and README example)
	redis-server redis-tools libjemalloc2 libtcmalloc-minimal4 perl python3 make
	# building that kernel (make check-debug)
	flex bison bc libelf-dev libssl-dev
	# libFuzzer harnesses (make fuzz)
	clang-14 libclang-rt-14-dev
	# the guest tests of record -p/-a: pgrep, unshare
	procps util-linux
)

# make deps-bench: the tracers clonescope is compared with, and the
# generators of bench/results.md and the case studies.
BENCH_PACKAGES=(bpftrace forkstat linux-perf python3)

missing_packages() {
	local pkg status

	for pkg in "${PACKAGES[@]}"; do
		status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
		[[ "$status" == installed ]] || printf '%s\n' "$pkg"
	done
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
		--no-install-recommends "$@"
}

main() {
	local -a missing

	case "${1:-}" in
	"") ;;
	bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
	*) die "usage: ${0##*/} [bench]" ;;
	esac
	mapfile -t missing < <(missing_packages)
	if ((${#missing[@]} == 0)); then
		echo "deps: all present"
		return
	fi
	echo "deps: missing: ${missing[*]}"
	if ((EUID != 0)); then
		die "installing packages needs root: run 'sudo make deps'" \
			"(or: apt-get install ${missing[*]})"
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update
	# A stale mirror can still fail an install right after an update
	# (a package moved between update and fetch): refresh once more.
	if ! apt_install "${missing[@]}"; then
		note "install failed; refreshing the package lists and retrying"
		apt-get -o DPkg::Lock::Timeout=600 update
		apt_install "${missing[@]}"
	fi
	echo "deps: installed ${missing[*]}"
}

main "$@"
