#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/records.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

// The tasks of a recording: @roots (the command the tool started, the
// processes it attached to) and every task a successful clone record
// created, by start time.
std::vector<ProcessInfo> build_process_tree(std::vector<ProcessInfo> roots,
					    const KernelRecords &records);

// The comm in a record, without the padding NULs.
std::string comm_of(const char (&comm)[16]);

} // namespace clonescope
