#pragma once
// What `record` traces: the tree of the command it starts, processes that
// already run (-p), or the whole system (-a); narrowed by comm (-c) and
// cgroup (-G).  Turned into the module's filter (CLONESCOPE_IOC_SET_FILTER).

#include <linux/clonescope.h>
#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "trace/trace_file.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace clonescope {

struct TargetOptions {
	std::vector<uint32_t> pids; // -p: running processes
	bool children = true;	    // ... and every task they create from now on
	bool system_wide = false;   // -a
	std::string comm;	    // -c: only clones made by tasks of this comm
	std::string cgroup;	    // -G: ... by tasks in this cgroup (v2)
};

// A running process given with -p.
struct AttachedProcess {
	uint32_t pid = 0;
	std::string comm;
	UniqueFd pidfd; // polls readable when the process exits
};

struct Target {
	clonescope_filter filter{};
	std::vector<AttachedProcess> attached;
	std::string cgroup_dir; // -G resolved to a directory
	uint64_t cgroup_id = 0;

	// For the trace's META: what was traced.
	nlohmann::json to_json(const TargetOptions &opts) const;
	// The attached processes as roots of the process tree, seen at @now_ns.
	std::vector<ProcessInfo> roots(uint64_t now_ns) const;
};

// Checks the options and resolves them (pids to pidfds, the cgroup path to
// its id).  @command_root: the pid of the command record started, if any;
// without -a its tree is traced.
Result<Target> resolve_target(const TargetOptions &opts, std::optional<pid_t> command_root);

// The directory of cgroup v2 @path: a directory on cgroup2 as given, else
// relative to the cgroup2 mount (as `perf -G` takes it).
Result<std::string> cgroup_dir_of(const std::string &path);
// The id the kernel's cgroup_id() gives that cgroup (its kernfs id).
Result<uint64_t> cgroup_id_of(const std::string &dir);

} // namespace clonescope
