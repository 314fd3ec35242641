#pragma once

#include <fmt/format.h>

#include "util/result.hpp"

namespace clonescope {

// Prints "clonescope: MESSAGE" on stderr; returns 1, the commands' exit
// status for a failure.
inline int fail(const Error &e)
{
	fmt::print(stderr, "clonescope: {}\n", e.message);
	return 1;
}

} // namespace clonescope
