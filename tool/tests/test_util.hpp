#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "trace/trace_file.hpp"

namespace clonescope::testing {

// The bytes of the file @path (none when it cannot be read).
std::vector<std::byte> read_file(const std::string &path);

// The bytes of tests/fixtures/@name.
std::vector<std::byte> read_fixture(const std::string &name);

// Runs @argv (argv[0] a path) with an empty environment, stdout to
// /dev/null; returns its shell-style exit status (128 + signal when killed,
// -1 when it could not run), its stderr in @err.
int run_program(const std::vector<std::string> &argv, std::string &err);
// tests/fixtures/trace.cst, parsed (a failure fails the calling test).
Trace fixture_trace();

// @records as a vector, to index.
std::vector<KernelRecord> records_of(const KernelRecords &records);

// @text split at its line breaks.
std::vector<std::string> lines_of(const std::string &text);

} // namespace clonescope::testing
