#!/usr/bin/env bash
# Build the debug guest kernel for `make check-debug` (KASAN, KFENCE, lockdep,
# PROVE_RCU, DEBUG_ATOMIC_SLEEP, DEBUG_PREEMPT, UBSAN bounds) from Debian's
# linux-source-6.1, with everything the guest needs built in.
#
# The result is cached outside the clone, keyed by the config fragment, the
# source package's version and the compiler, so a machine builds it once:
#   $CLONESCOPE_CACHE/debug-kernel/<key>/obj      the build tree (a KDIR for
#                                                 the module; bzImage under
#                                                 arch/x86/boot)
#   $CLONESCOPE_CACHE/debug-kernel/<key>/build.log, build-time
# Prints the build tree's path.  Long: see README.md for the times measured.
#
# Environment: CLONESCOPE_CACHE (default /var/cache/clonescope),
# LINUX_SOURCE (default /usr/src/linux-source-6.1.tar.xz), JOBS (default
# nproc), NICE (default 15).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FRAGMENT="$CLONESCOPE_REPO/selftests/vm/debug-kernel.config"
LINUX_SOURCE="${LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}"
CACHE_ROOT="${CLONESCOPE_CACHE:-/var/cache/clonescope}/debug-kernel"
JOBS="${JOBS:-$(nproc)}"
NICE="${NICE:-15}"

# What the kernel is made from: the fragment, the source and the compiler.
cache_key() {
	local source_version

	source_version="$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null)" ||
		source_version="$(sha256sum < "$LINUX_SOURCE")"
	{
		cat "$FRAGMENT"
		printf 'source %s\n' "$source_version"
		gcc --version | head -n 1
	} | sha256sum | cut -c1-16
}

# Prints the fragment's lines that the final .config does not have: a
# dependency missing, or an option this kernel version does not know.
missing_options() {
	local config="$1"

	grep -E '^(CONFIG_|# CONFIG_)' "$FRAGMENT" | while IFS= read -r line; do
		grep -qxF -- "$line" "$config" || printf '%s\n' "$line"
	done
}

configure() {
	local src="$1" obj="$2" missing

	kmake "$src" "$obj" tinyconfig
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m .config "$FRAGMENT") > /dev/null
	kmake "$src" "$obj" olddefconfig
	missing="$(missing_options "$obj/.config")"
	[[ -z "$missing" ]] || die "options of $FRAGMENT not in the final config:" "${missing//$'\n'/ }"
}

kmake() {
	local src="$1" obj="$2"

	shift 2
	nice -n "$NICE" make -C "$src" O="$obj" -j"$JOBS" "$@"
}

# An interrupted build resumes: the source is extracted once, and make
# rebuilds only what is missing or out of date.
build() {
	local dir="$1" src="$1/src" obj="$1/obj" start elapsed

	start="$(date +%s)"
	if [[ ! -f "$src/.extracted" ]]; then
		note "extracting $LINUX_SOURCE"
		rm -rf "$src"
		mkdir -p "$src"
		tar -xJf "$LINUX_SOURCE" -C "$src" --strip-components=1
		touch "$src/.extracted"
	fi
	mkdir -p "$obj"
	configure "$src" "$obj"
	note "building (nice $NICE, -j$JOBS; log in $dir/build.log)"
	# The CPU time says what an idle machine would take; wall time on a
	# shared one depends on the others.
	{ time kmake "$src" "$obj" all 2>&1; } 2> "$dir/make-time"
	# modules.builtin and modules.dep, for mkinitrd.sh's modprobe: every
	# module the guest needs is built in, so the initramfs gets none.
	rm -rf "$dir/modroot"
	kmake "$src" "$obj" INSTALL_MOD_PATH="$dir/modroot" modules_install
	elapsed=$(($(date +%s) - start))
	printf '%d s wall (make: %s), -j%s on %s CPUs, load average at the end: %s\n' \
		"$elapsed" "$(cat "$dir/make-time")" "$JOBS" "$(nproc)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" >> "$dir/build-time"
	touch "$dir/done"
}

main() {
	local key dir
	local TIMEFORMAT='%R s wall, %U s user + %S s system CPU'

	[[ -f "$LINUX_SOURCE" ]] || die "$LINUX_SOURCE missing (run 'make deps')"
	key="$(cache_key)"
	dir="$CACHE_ROOT/$key"
	mkdir -p "$dir"
	# One build per machine: a second caller waits for the first.
	exec 9> "$dir/lock"
	flock 9
	if [[ ! -f "$dir/done" ]]; then
		note "no cached debug kernel for key $key: building it (long)"
		build "$dir" >> "$dir/build.log" 2>&1 ||
			{ tail -n 30 "$dir/build.log" >&2; die "debug kernel build failed (log: $dir/build.log)"; }
		note "built in $(cat "$dir/build-time")"
	fi
	printf '%s\n' "$dir/obj"
}

main "$@"
