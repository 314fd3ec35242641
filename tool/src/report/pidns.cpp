#include "report/pidns.hpp"

#include <fmt/format.h>
#include <map>
#include <utility>

#include "trace/process_tree.hpp"

namespace clonescope {

namespace {

// Tasks listed per namespace in the text report; JSON lists all.
constexpr size_t kTextTasksPerNamespace = 20;

std::string ns_note(uint32_t pid, uint32_t tgid, uint32_t ns_pid, uint32_t ns_tgid)
{
	if (ns_pid == pid && ns_tgid == tgid)
		return {};
	return fmt::format(" [ns {}/{}]", ns_pid, ns_tgid);
}

} // namespace

std::string ns_parent_note(const clonescope_clone_event &ev)
{
	if (!has_ns_pids(ev))
		return {};
	return ns_note(ev.parent_pid, ev.parent_tgid, ev.ns_parent_pid, ev.ns_parent_tgid);
}

std::string ns_child_note(const clonescope_clone_event &ev)
{
	if (!has_ns_pids(ev) || ev.child_pid == 0)
		return {};
	return ns_note(ev.child_pid, ev.child_tgid, ev.ns_child_pid, ev.ns_child_tgid);
}

std::vector<PidNamespace> foreign_pid_namespaces(const KernelRecords &records)
{
	// inum -> pid -> task; a recycled pid keeps its first task.
	std::map<uint32_t, std::map<uint32_t, NsTask>> by_ns;
	auto add = [&by_ns](uint32_t inum, NsTask t) {
		if (t.ns_pid != t.pid || t.ns_tgid != t.tgid)
			by_ns[inum].emplace(t.pid, std::move(t));
	};
	for (const auto r : records) {
		const auto *ev = r.get_if<clonescope_clone_event>();
		if (!ev || !has_ns_pids(*ev))
			continue;
		const std::string comm = comm_of(ev->comm);
		add(ev->parent_pidns,
		    {ev->parent_pid, ev->parent_tgid, ev->ns_parent_pid, ev->ns_parent_tgid, comm});
		if (ev->child_pid)
			add(ev->child_pidns,
			    {ev->child_pid, ev->child_tgid, ev->ns_child_pid, ev->ns_child_tgid, comm});
	}
	std::vector<PidNamespace> out;
	for (auto &[inum, tasks] : by_ns) {
		PidNamespace ns{inum, {}};
		for (auto &[pid, t] : tasks)
			ns.tasks.push_back(std::move(t));
		out.push_back(std::move(ns));
	}
	return out;
}

std::string pid_namespaces_text(const std::vector<PidNamespace> &namespaces)
{
	if (namespaces.empty())
		return {};
	std::string out = "\n=== pid namespaces: tasks whose own pids differ (pid/tgid here -> "
			  "in the namespace) ===\n";
	for (const auto &ns : namespaces) {
		out += fmt::format("pid:[{}]: {} tasks\n", ns.inum, ns.tasks.size());
		for (size_t i = 0; i < ns.tasks.size() && i < kTextTasksPerNamespace; i++) {
			const auto &t = ns.tasks[i];
			out += fmt::format("  {:>7}/{:<7} -> {:>7}/{:<7} {}\n", t.pid, t.tgid, t.ns_pid,
					   t.ns_tgid, t.comm);
		}
		if (ns.tasks.size() > kTextTasksPerNamespace)
			out += fmt::format("  ... {} more (see --json)\n",
					   ns.tasks.size() - kTextTasksPerNamespace);
	}
	return out;
}

nlohmann::json pid_namespaces_json(const std::vector<PidNamespace> &namespaces)
{
	auto out = nlohmann::json::array();
	for (const auto &ns : namespaces) {
		auto tasks = nlohmann::json::array();
		for (const auto &t : ns.tasks)
			tasks.push_back({{"pid", t.pid},
					 {"tgid", t.tgid},
					 {"ns_pid", t.ns_pid},
					 {"ns_tgid", t.ns_tgid},
					 {"comm", t.comm}});
		out.push_back({{"pidns", ns.inum}, {"tasks", tasks}});
	}
	return out;
}

} // namespace clonescope
