#pragma once
// What the fuzzers run on one input, shared with the regression test that
// replays every input they ever crashed on (tests/fuzz_regression_test.cpp).
// Bad input must come back as an error value: an exception, a sanitizer
// report or an abort is the bug.

#include <cstddef>
#include <span>

namespace clonescope::fuzz {

// A .cst file through the trace parser (parse_trace) alone: fast, for the
// many runs the file format needs.
void run_trace_input(std::span<const std::byte> bytes);

// A .cst file through everything `clonescope report` does with it:
// parse_trace, correlate, build_report and every renderer.
void run_report_input(std::span<const std::byte> bytes);

// One of the shim's per-process files (.cstu), as USER_RECORDS carries it.
void run_user_input(std::span<const std::byte> bytes);

} // namespace clonescope::fuzz
