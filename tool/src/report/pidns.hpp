#pragma once
// Pids as the tasks' own pid namespaces number them (containers), from the
// clone records' ABI 1.2 tail: which tasks' pids differ from the tracer's.

#include <linux/clonescope.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "trace/records.hpp"

namespace clonescope {

// A task whose own pid differs from the tracer's view of it.
struct NsTask {
	uint32_t pid = 0, tgid = 0;	  // as the tracer sees it
	uint32_t ns_pid = 0, ns_tgid = 0; // as its own pid namespace does
	std::string comm;
};

struct PidNamespace {
	uint32_t inum = 0; // as in /proc/PID/ns/pid: pid:[inum]
	std::vector<NsTask> tasks; // by pid
};

// Whether the record has namespace pids (a module of ABI 1.2 or later).
inline bool has_ns_pids(const clonescope_clone_event &ev)
{
	return ev.parent_pidns != 0;
}

// " [ns P/T]" when the parent's own pid/tgid differ from the record's,
// else "".  The child's likewise with @child.
std::string ns_parent_note(const clonescope_clone_event &ev);
std::string ns_child_note(const clonescope_clone_event &ev);

// The namespaces with a task whose pids differ, by inode number.
std::vector<PidNamespace> foreign_pid_namespaces(const KernelRecords &records);

std::string pid_namespaces_text(const std::vector<PidNamespace> &namespaces);
nlohmann::json pid_namespaces_json(const std::vector<PidNamespace> &namespaces);

} // namespace clonescope
