#pragma once
// The events of a trace, one per kernel record and per user call that no
// kernel record joined, in time order: what `clonescope script` prints.

#include <cstdint>
#include <vector>

#include "correlate/correlate.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

struct Event {
	// Sort key: a clone's syscall entry, a user call's entry, else the
	// record's timestamp (when the module wrote it).
	uint64_t time_ns = 0;
	KernelRecord record = {}; // none: a user call alone
	// The user call joined with a clone record, or the lone user call.
	const UserCall *call = nullptr;
	std::string site = {}; // the call's site name, when there is a call
	const SymbolInfo *symbol = nullptr; // the call site resolved, if it was
};

// What the back ends need besides the event itself.
struct EventContext {
	uint64_t t0_ns = 0;		// origin of the text lines' times
	uint64_t features = CLONESCOPE_FEAT_SELF_COST; // the module's: is_timed()
};

// @trace and @corr must outlive the result.
std::vector<Event> script_events(const Trace &trace, const Correlation &corr);

// The trace's context: its start time and features (from META).
EventContext event_context(const Trace &trace);

} // namespace clonescope
