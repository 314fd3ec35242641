#!/usr/bin/env bash
# make check: the tool's host unit tests (ctest), then the selftests in the
# test guest (selftests/vm/guest-check.sh).  Prints a summary per part and,
# last, "N passed, N failed" over both; fails when anything failed.
#
# usage: scripts/check.sh [--unit-only | --vm-only] [MODULE.ko]
#   MODULE.ko: the module the guest tests (default: module/clonescope.ko)
# Environment: CHECK_GUEST_SCRIPT, the guest side (default
# selftests/vm/guest-check.sh); VM_OUT, the guest's output directory;
# and run.sh's (VM_KERNEL, VM_TIMEOUT...).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

total_passed=0
total_failed=0

usage() {
	echo "usage: ${0##*/} [--unit-only | --vm-only] [MODULE.ko]" >&2
	exit 2
}

# Adds a part's counts to the totals and prints its summary line.
tally() {
	local part="$1" passed="$2" failed="$3" extra="${4:-}"

	total_passed=$((total_passed + passed))
	total_failed=$((total_failed + failed))
	echo "check: $part: $passed passed, $failed failed$extra"
}

unit_tests() {
	local log passed=0 failed=0 total rc=0

	if [[ ! -d "$BUILD/tool" ]]; then
		note "no $BUILD/tool yet (make tool): unit tests skipped"
		tally unit 0 0 " (not built)"
		return
	fi
	log="$BUILD/check-unit.log"
	ctest --test-dir "$BUILD/tool" --output-on-failure 2>&1 | tee "$log" || rc=$?
	# ctest's summary: "NN% tests passed, F tests failed out of T".
	if read -r failed total < <(sed -nE \
		's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$log" | tail -n 1); then
		passed=$((total - failed))
	elif ((rc != 0)); then
		note "ctest failed (exit $rc) without a summary"
		failed=1
	fi
	tally unit "$passed" "$failed"
}

# Counts one TAP file: prints "passed failed skipped".  A plan larger than
# the results, or no plan at all, means the program died: the missing
# results are failures.
tap_counts() {
	local file="$1"

	awk '
		/^ok .*# *SKIP/ { skipped++; next }
		/^ok / { passed++; next }
		/^not ok / { failed++; next }
		/^1\.\.[0-9]+/ { split($1, p, "\\.\\."); plan = p[2]; planned = 1 }
		END {
			done = passed + failed + skipped
			if (!planned)
				failed++
			else if (plan > done)
				failed += plan - done
			printf "%d %d %d\n", passed, failed, skipped
		}' "$file"
}

# Warns, before the guest boots, when the module cannot load in it.
check_module() {
	local module="$1" kver vermagic

	if [[ ! -f "$module" ]]; then
		note "$module is not built (make module): expect failures"
		return
	fi
	kver="$(guest_kver)"
	vermagic="$(modinfo -F vermagic "$module")"
	[[ "${vermagic%% *}" == "$kver" ]] ||
		note "$module is built for ${vermagic%% *} but the guest boots $kver" \
			"(make module KVER=$kver, or KVER=${vermagic%% *}): expect failures"
}

# Warns when the test programs are older than their sources or the uapi
# header (a script run without make's selftests prerequisite): a stale
# program reads as ABI failures.
check_selftests() {
	make -q -C "$CLONESCOPE_REPO/selftests" BUILD="$BUILD" > /dev/null 2>&1 ||
		note "the test programs in $BUILD/selftests are older than their" \
			"sources (make selftests): expect failures"
}

vm_tests() {
	local module="$1" out rc=0 file passed=0 failed=0 skipped=0 p f s

	check_module "$module"
	check_selftests
	out="${VM_OUT:-$BUILD/vm-out/check-$(date +%Y%m%d-%H%M%S)-$$}"
	VM_OUT="$out" VM_QUIET=1 "$CLONESCOPE_REPO/selftests/vm/run.sh" \
		"${CHECK_GUEST_SCRIPT:-$CLONESCOPE_REPO/selftests/vm/guest-check.sh}" "$module" ||
		rc=$?

	for file in "$out"/*.tap; do
		[[ -f "$file" ]] || continue
		read -r p f s < <(tap_counts "$file")
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
		echo "check: $(basename "$file" .tap): $p passed, $f failed, $s skipped"
		# A suite may name what it ran: "# summary: ..." (realprog).
		sed -n 's/^# summary: /    /p' "$file"
		if ((f > 0)); then
			sed 's/^/    /' "$file"
		fi
	done
	if ((rc != 0 && failed == 0)); then
		note "the guest run failed (exit $rc) though no test reported a failure"
		failed=1
	fi
	tally vm "$passed" "$failed" " ($skipped skipped; output in $out)"
}

main() {
	local unit=1 vm=1 module="$CLONESCOPE_REPO/module/clonescope.ko"

	case "${1:-}" in
	--unit-only) vm=0; shift ;;
	--vm-only) unit=0; shift ;;
	-*) usage ;;
	esac
	(($# <= 1)) || usage
	[[ -n "${1:-}" ]] && module="$(realpath "$1")"
	((unit)) && unit_tests
	((vm)) && vm_tests "$module"
	echo "$total_passed passed, $total_failed failed"
	((total_failed == 0))
}

main "$@"
