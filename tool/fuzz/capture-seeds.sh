#!/usr/bin/env bash
# Captures the records of a real guest run into the repository, where they
# are the fuzzers' seeds and the ABI compatibility tests' input:
#   tool/tests/fixtures/guest/trace/guest-<kernel>.cst  `clonescope record` of
#       the call-site workload, with the real module's records
#   tool/tests/fixtures/guest/user/*.cstu  the preload shim's files of one run
# Run after `make module tool`; rerun when the record formats change.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

main() {
	local out fixtures="$CLONESCOPE_REPO/tool/tests/fixtures/guest" kver file i=0

	kver="$(guest_kver)"
	out="$BUILD/vm-out/capture-seeds-$$"
	VM_OUT="$out" VM_QUIET=1 "$CLONESCOPE_REPO/selftests/vm/run.sh" \
		"$CLONESCOPE_REPO/tool/fuzz/capture-guest.sh" \
		"$CLONESCOPE_REPO/module/clonescope.ko" "$BUILD/tool"
	mkdir -p "$fixtures/trace" "$fixtures/user"
	cp "$out/guest.cst" "$fixtures/trace/guest-${kver%%-*}.cst"
	rm -f "$fixtures/user/"*.cstu
	# Stable names: the pids and start times in the guest's are noise.
	for file in "$out/user/"*.cstu; do
		cp "$file" "$fixtures/user/guest-${kver%%-*}-$((i++)).cstu"
	done
	ls -l "$fixtures/trace" "$fixtures/user"
}

main "$@"
