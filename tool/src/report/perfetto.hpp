#pragma once
// Chrome trace-event JSON (opens in ui.perfetto.dev and chrome://tracing):
// one track per task (pid = tgid, tid = pid), the user call, the clone
// syscall and each measured phase as nested slices on the parent's track,
// the child's first run as a slice on its own track, a flow arrow from
// the parent's wake_up_new_task to the child's first run, and each fork's
// copy-on-write page copies as a counter on the parent process.

#include <nlohmann/json.hpp>

#include "correlate/correlate.hpp"

namespace clonescope {

nlohmann::json render_perfetto(const Trace &trace, const Correlation &corr);

} // namespace clonescope
