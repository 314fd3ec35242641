#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "trace/trace_file.hpp"

namespace clonescope::testing {

// The bytes of tests/fixtures/@name.
std::vector<std::byte> read_fixture(const std::string &name);

// tests/fixtures/trace.cst, parsed (a failure fails the calling test).
Trace fixture_trace();

// @text split at its line breaks.
std::vector<std::string> lines_of(const std::string &text);

} // namespace clonescope::testing
