#!/usr/bin/env bash
# Guest side of `make vm-check` (run by run.sh inside the test guest, from
# the repository): load the module, run every selftest binary, unload and
# reload it, check the kernel log.
#
# usage: guest-check.sh [MODULE.ko]    (default: the repository's build)  Each selftest writes its own TAP to
# $CLONESCOPE_OUT/<name>.tap; the steps here go to guest-check.tap.
set -uo pipefail

# shellcheck source=selftests/vm/guest-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"

# Both loads use one snapshot of the module, taken at the start: the host
# tree is live in the guest and a rebuild there must not change it mid-run.
MODULE_BUILT="$(realpath "${1:-$CLONESCOPE_REPO/module/clonescope.ko}")"
MODULE=/tmp/clonescope.ko
STEPS_TAP="$CLONESCOPE_OUT/guest-check.tap"
step=0
failed=0

# Records one TAP result: step DESCRIPTION COMMAND [ARGS...].
step() {
	local what="$1" out

	shift
	step=$((step + 1))
	if out="$("$@" 2>&1)"; then
		echo "ok $step $what" | tee -a "$STEPS_TAP"
	else
		failed=1
		echo "not ok $step $what" | tee -a "$STEPS_TAP"
		[[ -n "$out" ]] && printf '# %s\n' "${out//$'\n'/$'\n'# }" | tee -a "$STEPS_TAP"
	fi
}

# The probe status right after the first load, for the per-kernel tables
# of Documentation/kernels.rst (scripts/kernels-doc.sh).
load_module() {
	insmod_clonescope "$MODULE" || return
	[[ -f "$CLONESCOPE_OUT/probe-status.txt" ]] && return
	uname -r > "$CLONESCOPE_OUT/kernel-release"
	cat /sys/kernel/debug/clonescope/status > "$CLONESCOPE_OUT/probe-status.txt"
}

# An open file must pin the module: unloading under it would leave the fd
# pointing at freed code.
rmmod_refused_while_open() {
	local fd refused=1

	exec {fd}<> /dev/clonescope || return 1
	rmmod clonescope 2>/dev/null && refused=0
	exec {fd}>&-
	((refused))
}

# The TAP goes to its own file; the harness exit status only says whether
# some test failed, which the file already tells, so it is not a step.
run_selftest() {
	local bin="$1" tap

	tap="$CLONESCOPE_OUT/$(basename "$bin").tap"
	echo "# $bin"
	"$bin" > "$tap" 2>&1 || failed=1
	cat "$tap"
}

# A TAP suite run by script, into $CLONESCOPE_OUT/NAME.tap:
# run_suite NAME SCRIPT [ARGS...]
run_suite() {
	local name="$1" script="$2" tap="$CLONESCOPE_OUT/$1.tap"

	shift 2
	echo "# $script"
	"$script" "$@" > "$tap" 2>&1 || failed=1
	cat "$tap"
}

main() {
	local bin
	local -a bins

	shopt -s nullglob
	bins=("$BUILD"/selftests/*_test)
	echo "TAP version 13" > "$STEPS_TAP"
	step "selftests built in $BUILD/selftests" test "${#bins[@]}" -gt 0
	step "module built: $MODULE_BUILT" cp "$MODULE_BUILT" "$MODULE"
	step "insmod $(basename "$MODULE_BUILT") creates /dev/clonescope" load_module
	for bin in "${bins[@]}"; do
		run_selftest "$bin"
	done
	# The tool end to end: known call sites, exact counts (issue 7);
	# running processes (issue 21); known lifecycles and Prometheus
	# scraping the exporter (issue 19); real programs (issue 16).
	run_suite tool_test "$CLONESCOPE_REPO/tool/tests/guest/tool_test.sh" "$BUILD/tool"
	run_suite attach_test "$CLONESCOPE_REPO/tool/tests/guest/attach_test.sh" "$BUILD/tool"
	run_suite lifecycle_test "$CLONESCOPE_REPO/tool/tests/guest/lifecycle_test.sh" "$BUILD/tool"
	run_suite export_test "$CLONESCOPE_REPO/tool/tests/guest/export_test.sh" "$BUILD/tool"
	run_suite realprog "$CLONESCOPE_REPO/selftests/realprog/realprog.sh" \
		"$BUILD/tool" "$BUILD/selftests"
	step "rmmod clonescope" rmmod clonescope
	step "insmod again" load_module
	step "rmmod refused while /dev/clonescope is open" rmmod_refused_while_open
	step "rmmod again" rmmod clonescope
	step "kernel log clean, no unexpected taint" dmesg_problems
	echo "1..$step" >> "$STEPS_TAP"
	return "$failed"
}

main "$@"
