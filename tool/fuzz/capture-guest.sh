#!/usr/bin/env bash
# Guest side of tool/fuzz/capture-seeds.sh: records the call-site workload
# with the real module into $CLONESCOPE_OUT/guest.cst, and the shim's raw
# per-process files into $CLONESCOPE_OUT/user/.
#
# usage: capture-guest.sh MODULE.ko TOOL_BUILD_DIR
set -euo pipefail

# shellcheck source=selftests/vm/guest-lib.sh
source "$CLONESCOPE_REPO/selftests/vm/guest-lib.sh"

module="$1"
tool_dir="$2"
# One call of each kind, two forks: every record type, a small file.
counts=(2 1 1 1 1 1 1)

insmod_clonescope "$module"
"$tool_dir/clonescope" record -q -o "$CLONESCOPE_OUT/guest.cst" -- \
	"$tool_dir/tests/clonescope_callsites" "${counts[@]}"
mkdir -p "$CLONESCOPE_OUT/user"
CLONESCOPE_USER_TRACE="$CLONESCOPE_OUT/user" LD_PRELOAD="$tool_dir/libclonescope-preload.so" \
	"$tool_dir/tests/clonescope_callsites" "${counts[@]}"
rmmod clonescope
