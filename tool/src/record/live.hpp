#pragma once
// A tracing session read in intervals, for the live commands (stat, top).

#include <atomic>
#include <cstdint>
#include <string>

#include "device/device.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

struct LiveFilter {
	uint32_t tree_of_pid = 0; // 0: system-wide
	std::string comm;	  // empty: any
	uint32_t probe_groups = CLONESCOPE_PROBES_ALL;
};

class LiveSession {
public:
	// Opens the device, sets the filter and enables tracing.  With
	// @in_kernel, and a module that can (CLONESCOPE_FEAT_AGGREGATE), the
	// module aggregates and writes no records: read aggregate(), not
	// collect().
	static Result<LiveSession> start(const std::string &device, const LiveFilter &filter,
					 bool in_kernel = false);
	LiveSession(LiveSession &&) = default;
	~LiveSession();

	// The records that arrive within @ns (less if @stop is set or
	// @until_readable, a pidfd, polls readable meanwhile); @ns 0: those
	// already there.  @stop: as wait_until_stopped()'s.
	Result<Trace> collect(uint64_t ns, const std::atomic<bool> &stop, int until_readable = -1);

	bool aggregating() const { return aggregating_; }
	// The module's aggregates since start(); @with_comms as Device's.
	Result<Aggregate> aggregate(bool with_comms) const { return dev_.aggregate(with_comms); }
	// The session's counters: drops, handler self-cost.
	Result<clonescope_stats> stats() const { return dev_.stats(); }

private:
	LiveSession(Device dev, bool aggregating) : dev_(std::move(dev)), aggregating_(aggregating)
	{
	}
	Device dev_;
	bool aggregating_;
};

} // namespace clonescope
