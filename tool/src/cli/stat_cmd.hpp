#pragma once

#include <cstdint>
#include <string>

#include "output/output.hpp"
#include "record/live.hpp"

namespace clonescope {

struct LiveOptions {
	std::string device;
	double interval_s = 1.0;
	uint64_t count = 0; // 0: until SIGINT
	LiveFilter filter;
	size_t rows = 20;   // top only
	TopGrouping top_by = TopGrouping::comm; // top only
	// Read the module's in-kernel aggregates (no record per clone) when it
	// keeps them; false: decode records, as with a 1.0 module.
	bool in_kernel = true;
	Format format = Format::Text;
};

// `clonescope stat [interval [count]]`: one line of rates and latency
// percentiles per interval, like vmstat.
int run_stat(const LiveOptions &opts);

// `clonescope top [interval [count]]`: the busiest comms (or kinds) of each
// interval, redrawn in place.
int run_top(const LiveOptions &opts);

} // namespace clonescope
