#pragma once

#include <string>

#include "output/output.hpp"

namespace clonescope {

struct ScriptOptions {
	std::string input = "clonescope.cst";
	Format format = Format::Json;
};

// `clonescope script`: every event of a trace, in time order.
int run_script(const ScriptOptions &opts);

} // namespace clonescope
