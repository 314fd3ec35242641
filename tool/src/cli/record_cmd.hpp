#pragma once

#include <linux/clonescope.h>

#include <cstdint>
#include <string>
#include <vector>

#include "record/target.hpp"
#include "util/cpu_time.hpp"
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

// What the reader itself cost: its CPU time from the first read of the
// records to the last (while the command ran: what it took from the traced
// workload; the probes' disarming left out), per record read, and after
// (the summary and process tree made from the records).
struct ReaderCost {
	CpuTime recording;
	uint64_t records = 0;
	CpuTime after;
};

// "reader CPU 1.2ms while recording (user 0.2ms, sys 1.0ms), 400 ns/record;
// 0.3ms after", for the summary line.
std::string format_reader_cost(const ReaderCost &cost);

// `clonescope record`: returns the process exit status (the command's
// status, or 1 when tracing failed; attached: 0 or 1; 2 for options that
// conflict).
int run_record(const RecordOptions &opts);

} // namespace clonescope
