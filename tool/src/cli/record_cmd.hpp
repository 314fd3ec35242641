#pragma once

#include <linux/clonescope.h>

#include <cstdint>
#include <string>
#include <vector>

#include "record/target.hpp"
#include "util/result.hpp"

namespace clonescope {

struct RecordOptions {
	std::string output = "clonescope.cst"; // empty: no trace file
	std::string device;
	uint32_t buffer_pages = 0; // 0: the module's default
	uint32_t probe_groups = CLONESCOPE_PROBES_ALL;
	bool quiet = false;	   // no per-event lines
	bool preload = true;	   // inject the user-side shim
	std::string preload_path;  // default: next to the executable
	std::vector<std::string> command; // empty: attach (target.pids or -a)
	TargetOptions target;
	double duration_s = 0; // attached: stop after this long (0: at Ctrl-C)
};

// Options that cannot go together (-p with -a or a command, ...), or no
// target at all.
Status check_record_options(const RecordOptions &opts);

// `clonescope record`: returns the process exit status (the command's
// status, or 1 when tracing failed; attached: 0 or 1; 2 for options that
// conflict).
int run_record(const RecordOptions &opts);

} // namespace clonescope
