#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "trace/records.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

// The tasks of a recorded tree: the root (started by the tool at
// @root_start_ns) and every task a successful clone record created.
std::vector<ProcessInfo> build_process_tree(uint32_t root_pid, uint32_t tool_pid,
					    const std::string &root_comm, uint64_t root_start_ns,
					    const DecodedRecords &records);

// The comm in a record, without the padding NULs.
std::string comm_of(const char (&comm)[16]);

} // namespace clonescope
