#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace clonescope::testing {

// The bytes of tests/fixtures/@name.
std::vector<std::byte> read_fixture(const std::string &name);

} // namespace clonescope::testing
