#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "output/output.hpp"
#include "record/live.hpp"
#include "util/result.hpp"

namespace clonescope {

struct LiveOptions {
	std::string device;
	double interval_s = 1.0;
	uint64_t count = 0; // 0: until SIGINT
	LiveFilter filter;
	size_t rows = 20;   // top only
	TopGrouping top_by = TopGrouping::comm; // top only
	// top --by site: the command run under the user-side shim, and the
	// shim (empty: next to the executable).
	std::vector<std::string> command;
	std::string preload_path;
	// Read the module's in-kernel aggregates (no record per clone) when it
	// keeps them; false: decode records, as with a 1.0 module.
	bool in_kernel = true;
	Format format = Format::Text;
};

// `clonescope stat [interval [count]]`: one line of rates and latency
// percentiles per interval, like vmstat.
int run_stat(const LiveOptions &opts);

// A command without --by site, --by site without one, or with -p.
Status check_top_options(const LiveOptions &opts);

// `clonescope top [interval [count]]`: the busiest comms (or kinds) of each
// interval, redrawn in place.  --by site runs opts.command under the shim
// and joins its clones to their call sites; it ends when the command exits
// too, and returns the command's exit status then.
int run_top(const LiveOptions &opts);

} // namespace clonescope
