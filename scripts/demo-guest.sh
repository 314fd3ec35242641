#!/usr/bin/env bash
# Guest side of `make demo` (run by selftests/vm/run.sh in the test guest):
# load the module and trace two small real workloads with the tool.  The
# traces go to the out share, so they outlive the guest.
set -euo pipefail

TOOL="$BUILD/tool/clonescope"

banner() {
	printf '\n===== %s =====\n' "$*"
}

main() {
	insmod "$CLONESCOPE_REPO/module/clonescope.ko"
	trap 'rmmod clonescope' EXIT

	banner "clonescope status"
	"$TOOL" status

	banner "a shell pipeline"
	"$TOOL" record -o "$CLONESCOPE_OUT/pipeline.cst" -- \
		sh -c 'ls / | wc -l; cat /etc/hostname | tr a-z A-Z'

	banner "fork, vfork, posix_spawn, pthread_create, system"
	"$TOOL" record -o "$CLONESCOPE_OUT/workload.cst" -- "$BUILD/selftests/demo_workload"

	banner "clonescope report: by kind and call site"
	"$TOOL" report "$CLONESCOPE_OUT/workload.cst"
}

main
