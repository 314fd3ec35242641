#pragma once

#include <cstdint>
#include <string>

namespace clonescope {

struct StatOptions {
	std::string device;
	double interval_s = 1.0;
	uint64_t count = 0;	   // 0: until SIGINT
	uint32_t tree_of_pid = 0;  // 0: system-wide
	std::string comm;	   // empty: any
};

// `clonescope stat [interval [count]]`: one line of rates and latency
// percentiles per interval, like vmstat.
int run_stat(const StatOptions &opts);

} // namespace clonescope
