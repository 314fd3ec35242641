#!/usr/bin/env bash
# make demo: boot the test guest, trace a shell pipeline and a program that
# creates tasks every common way with `clonescope record`, and print what
# the tool prints.  Needs the module, the tool and the selftests built.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_built() {
	local file="$1" target="$2"

	[[ -f "$file" ]] || die "$file is not built: run 'make $target' first"
}

main() {
	local out

	require_built "$BUILD/tool/clonescope" tool
	require_built "$CLONESCOPE_REPO/module/clonescope.ko" module
	require_built "$BUILD/selftests/demo_workload" selftests
	out="$BUILD/vm-out/demo-$(date +%Y%m%d-%H%M%S)-$$"
	VM_OUT="$out" "$CLONESCOPE_REPO/selftests/vm/run.sh" "$CLONESCOPE_REPO/scripts/demo-guest.sh"
	echo "demo: traces in $out/*.cst"
}

main "$@"
