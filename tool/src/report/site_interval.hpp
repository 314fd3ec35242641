#pragma once
// `top --by site`: the clones of each interval of a live session joined to
// their user calls (the LD_PRELOAD shim's records), grouped by call site as
// `report` groups them by default (source line).
//
// A user call's record is written when the call returns, after its clone
// record was committed; so the caller reads the shim's files first, then
// drains the device, and every call it passes has its kernel records
// among those passed so far.  A clone record no call claims may belong to
// a call still running (vfork, system, posix_spawn): it is held back one
// interval before it is shown as unclaimed ("[no user call: ...]"), and
// shown at once in the last interval.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "report/interval.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

struct SiteInterval {
	std::vector<std::pair<std::string, IntervalStats>> rows; // by site key, in key order
	IntervalStats all;
	uint64_t lost = 0; // records the module dropped (LOST records)
};

class SiteJoin {
public:
	// Where the caller keeps the shim's images (and their symbols, which
	// next() adds) and puts the calls that returned in this interval.
	Trace &user() { return trace_; }

	// Joins @kernel, the records read in this interval, and the records
	// held from the last one with user().calls.  With @last, nothing is
	// held back.
	SiteInterval next(const KernelRecords &kernel, bool last);

private:
	void symbolize_new_sites();

	Trace trace_;
	KernelRecords held_; // unclaimed clones (and their children's first runs)
};

} // namespace clonescope
