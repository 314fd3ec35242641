#include "trace/process_tree.hpp"

#include <algorithm>
#include <cstring>

namespace clonescope {

std::string comm_of(const char (&comm)[16])
{
	return std::string(comm, strnlen(comm, sizeof(comm)));
}

std::vector<ProcessInfo> build_process_tree(std::vector<ProcessInfo> roots,
					    const KernelRecords &records)
{
	std::vector<ProcessInfo> tree = std::move(roots);
	for (const auto r : records) {
		const auto *ev = r.get_if<clonescope_clone_event>();
		if (!ev || ev->child_pid == 0)
			continue;
		// A recycled pid appears once per task that had it, told apart
		// by start_ns.
		// The child's comm is its parent's until it execs.
		tree.push_back({ev->child_pid, ev->child_tgid, ev->parent_tgid, comm_of(ev->comm),
				ev->end_ns});
	}
	std::stable_sort(tree.begin(), tree.end(),
			 [](const ProcessInfo &a, const ProcessInfo &b) { return a.start_ns < b.start_ns; });
	return tree;
}

} // namespace clonescope
