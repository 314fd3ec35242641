#!/usr/bin/env bash
# make build-all-kernels: compiles the module against every test kernel's
# headers (the host's and those of 'make deps-kernels'), each with its own
# suite's toolchain; any warning fails.  One line per kernel, then
# "N built, N failed".  Needs every kernel of scripts/kernels-lib.sh: a
# missing one is a failure, not a silent pass.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/kernels-lib.sh
source "$CLONESCOPE_REPO/scripts/kernels-lib.sh"

main() {
	local kver log built=0 failed=0 start
	local -a kernels

	mapfile -t kernels < <(all_kernels)
	if ((${#kernels[@]} < $(grep -c . <<< "$KERNEL_TABLE") + 1)); then
		note "only ${#kernels[@]} kernels (${kernels[*]}): run 'make deps-kernels'"
		failed=1
	fi
	mkdir -p "$BUILD"
	for kver in "${kernels[@]}"; do
		log="$BUILD/build-$kver.log"
		start=$SECONDS
		# Its own build directories: a guest may be using the others.
		if BUILD="$BUILD/build-all" "$CLONESCOPE_REPO/scripts/kmod-build.sh" --werror "$kver" \
			> /dev/null 2> "$log"; then
			echo "build-all-kernels: $kver: ok ($((SECONDS - start)) s)"
			built=$((built + 1))
		else
			echo "build-all-kernels: $kver: FAILED ($((SECONDS - start)) s):"
			grep -iE 'error|warning' "$log" | sed 's/^/    /'
			failed=$((failed + 1))
		fi
	done
	echo "$built built, $failed failed"
	((failed == 0))
}

main "$@"
