#pragma once
// What one line of `stat` or one row of `top` says about the clones of an
// interval, from their records or from the module's aggregates.

#include <linux/clonescope.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "correlate/correlate.hpp"
#include "report/stats.hpp"

namespace clonescope {

struct IntervalStats {
	size_t clones = 0, fork = 0, vfork = 0, thread = 0, failed = 0, restarted = 0;
	std::optional<uint64_t> cow_pages = 0; // nullopt: the COW probes are not armed
	std::optional<Summary> total, wakeup;  // nullopt: none measured

	size_t other() const { return clones - fork - vfork - thread; }
};

IntervalStats interval_stats(const std::vector<const Sample *> &samples);

// From the module's aggregates: clones of each CLONESCOPE_AGG_KIND_*, and
// log2 histograms of their durations and wake-up latencies.
IntervalStats interval_stats(std::span<const __u64, CLONESCOPE_AGG_NR_KINDS> kinds,
			     uint64_t failed, uint64_t restarted, std::span<const __u64> duration,
			     std::span<const __u64> wakeup, uint64_t cow_pages);

} // namespace clonescope
