#pragma once

#include <string>

#include "output/output.hpp"

namespace clonescope {

// `clonescope status`: module ABI, features, stats and probe table.
int run_status(const std::string &device, Format format = Format::Text);

} // namespace clonescope
