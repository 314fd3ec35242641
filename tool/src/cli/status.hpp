#pragma once

#include <string>

namespace clonescope {

// `clonescope status`: module ABI, features, stats and probe table.
int run_status(const std::string &device);

} // namespace clonescope
