#!/usr/bin/env bash
# make fuzz: builds the libFuzzer harnesses of tool/fuzz/ with clang under
# ASan and UBSan, and runs the trace parser's and the user-record reader's
# for $FUZZ_RUNS executions each (default 10^6) and the whole report
# pipeline's, ~50x slower per input, for $FUZZ_REPORT_RUNS (default 10^5),
# starting from the seeds (the unit tests' fixtures, among them the traces
# captured from a real guest run, tool/tests/fixtures/guest/) and every
# input that ever crashed it (tool/fuzz/regressions/).  A crash fails the run; its input is left in
# $BUILD/fuzz/artifacts/ to be committed to tool/fuzz/regressions/<harness>/,
# where the unit test fuzz_regression_test replays it.
# Ends with "N passed, N failed" (one per harness).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FUZZ_RUNS="${FUZZ_RUNS:-1000000}"
FUZZ_REPORT_RUNS="${FUZZ_REPORT_RUNS:-100000}"
FUZZ_DIR="$BUILD/fuzz"
SRC="$CLONESCOPE_REPO/tool/fuzz"
FIXTURES="$CLONESCOPE_REPO/tool/tests/fixtures"
HARNESSES=(trace report user)
CLANG_VERSION=14

build() {
	command -v "clang++-$CLANG_VERSION" > /dev/null ||
		die "no clang++-$CLANG_VERSION (run 'make deps')"
	cmake -S "$CLONESCOPE_REPO/tool" -B "$FUZZ_DIR/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER="clang-$CLANG_VERSION" \
		-DCMAKE_CXX_COMPILER="clang++-$CLANG_VERSION" \
		-DCLONESCOPE_FUZZ=ON -DCLONESCOPE_SANITIZE=ON -DCLONESCOPE_TESTS=OFF > /dev/null
	nice -n 15 cmake --build "$FUZZ_DIR/build" -j"$(nproc)" \
		--target "${HARNESSES[@]/%/_fuzzer}"
}

# The input format of each harness.
harness_format() {
	case "$1" in
	trace | report) echo trace ;;
	user) echo user ;;
	esac
}

harness_runs() {
	case "$1" in
	report) echo "$FUZZ_REPORT_RUNS" ;;
	*) echo "$FUZZ_RUNS" ;;
	esac
}

# The synthetic fixture of each format, beside the captured ones.
fixture_seeds() {
	case "$1" in
	trace) echo "$FIXTURES/trace.cst" ;;
	user) echo "$FIXTURES/user_records.cstu" ;;
	esac
}

# Runs one harness; prints its execution count on the last line of its log.
run_harness() {
	local name="$1" log="$FUZZ_DIR/$1.log" corpus="$FUZZ_DIR/corpus-$1" rc=0 format

	format="$(harness_format "$name")"
	mkdir -p "$corpus" "$FUZZ_DIR/artifacts"
	# The scratch corpus comes first: libFuzzer adds new inputs to it only.
	# UBSan reports must stop the run, not scroll by.
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		nice -n 15 "$FUZZ_DIR/build/fuzz/${name}_fuzzer" -runs="$(harness_runs "$name")" \
		-timeout=10 \
		-max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_DIR/artifacts/$name-" \
		-seed_inputs="$(fixture_seeds "$format")" \
		"$corpus" "$FIXTURES/guest/$format" "$SRC/regressions/$name" > "$log" 2>&1 || rc=$?
	grep -E '^(stat::number_of_executed_units|Done [0-9]+ runs)|ERROR|SUMMARY|crash-' "$log" |
		sed "s/^/fuzz: $name: /"
	return "$rc"
}

# Whether a harness's failed run found something: libFuzzer and the
# sanitizers print an ERROR/SUMMARY line and leave an artifact.
found_crash() {
	grep -qE '^==[0-9]+== ?ERROR|^SUMMARY: |^artifact_prefix=|Test unit written to' \
		"$FUZZ_DIR/$1.log"
}

main() {
	local name executions rc passed=0 failed=0

	build
	for name in "${HARNESSES[@]}"; do
		rc=0
		run_harness "$name" || rc=$?
		if ((rc == 0)); then
			executions="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' \
				"$FUZZ_DIR/$name.log")"
			echo "fuzz: $name: ${executions:-?} executions, 0 crashes"
			if ((${executions:-0} >= $(harness_runs "$name"))); then
				passed=$((passed + 1))
			else
				failed=$((failed + 1))
			fi
		elif found_crash "$name"; then
			echo "fuzz: $name: CRASH (log $FUZZ_DIR/$name.log); commit the input from" \
				"$FUZZ_DIR/artifacts/ to tool/fuzz/regressions/$name/"
			failed=$((failed + 1))
		else
			echo "fuzz: $name: stopped with status $rc and no crash report, e.g. by a" \
				"signal (log $FUZZ_DIR/$name.log)"
			failed=$((failed + 1))
		fi
	done
	echo "$passed passed, $failed failed"
	((failed == 0))
}

main "$@"
