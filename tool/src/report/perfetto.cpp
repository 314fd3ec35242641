#include "report/perfetto.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <utility>

#include "report/pidns.hpp"
#include "trace/names.hpp"
#include "trace/process_tree.hpp"

namespace clonescope {

namespace {

using json = nlohmann::json;

// Chrome trace events count microseconds; keep ns precision as fractions.
double us(uint64_t ns, uint64_t t0)
{
	return static_cast<double>(static_cast<int64_t>(ns - t0)) / 1000.0;
}

// The earliest timestamp of the trace: the time origin of the JSON.
uint64_t origin(const Trace &trace, const Correlation &corr)
{
	uint64_t t0 = trace.meta.value("start_ns", UINT64_MAX);
	for (const auto &s : corr.samples) {
		if (s.user)
			t0 = std::min(t0, s.user->entry_ns);
		for (const auto *k : s.kernel)
			t0 = std::min<uint64_t>(t0, k->start_ns);
	}
	return t0 == UINT64_MAX ? 0 : t0;
}

json slice(const std::string &name, const char *cat, uint32_t tgid, uint32_t pid, uint64_t start,
	   uint64_t dur, uint64_t t0, json args = json::object())
{
	return {{"ph", "X"},	       {"name", name},	  {"cat", cat},
		{"pid", tgid},	       {"tid", pid},	  {"ts", us(start, t0)},
		{"dur", static_cast<double>(dur) / 1000.0}, {"args", std::move(args)}};
}

// The child's life on its own track: fork to its first exec, then until
// it exits (the program it ran), then a zombie until reaped.
void lifecycle_slices(const clonescope_lifecycle_event &l, uint64_t t0, json &events,
		      std::map<std::pair<uint32_t, uint32_t>, std::string> &tasks)
{
	tasks.emplace(std::pair{l.tgid, l.pid}, comm_of(l.comm));
	const auto to_exec = fork_to_exec_ns(l);
	const uint64_t ran_from = to_exec ? l.exec_ns : l.fork_ns;
	if (to_exec)
		events.push_back(
			slice("fork to exec", "lifecycle", l.tgid, l.pid, l.fork_ns, *to_exec, t0));
	if (auto ran = lifecycle_interval(ran_from, l.exit_ns))
		events.push_back(slice(to_exec ? fmt::format("{} (exec'd)", comm_of(l.comm))
					       : std::string("running"),
				       "lifecycle", l.tgid, l.pid, ran_from, *ran, t0,
				       {{"execs", l.execs}}));
	if (auto zombie = zombie_ns(l))
		events.push_back(slice("zombie", "lifecycle", l.tgid, l.pid, l.exit_ns, *zombie, t0,
				       {{"exit_code", l.exit_code}, {"reaped_by", l.reaper_pid}}));
}

} // namespace

json render_perfetto(const Trace &trace, const Correlation &corr)
{
	const uint64_t t0 = origin(trace, corr);
	json events = json::array();
	// (tgid, pid) -> name, for the track names.
	std::map<std::pair<uint32_t, uint32_t>, std::string> tasks;
	for (const auto &p : trace.processes)
		tasks.emplace(std::pair{p.tgid, p.pid}, p.comm);

	uint64_t flow_id = 0;
	for (const auto &s : corr.samples) {
		if (s.user) {
			const auto &u = *s.user;
			tasks.emplace(std::pair{u.pid, u.tid}, "");
			events.push_back(slice(fmt::format("{}()", s.kind), "user", u.pid, u.tid,
					       u.entry_ns, u.return_ns - u.entry_ns, t0,
					       {{"site", s.site},
						{"ret", u.ret},
						{"errno", u.err ? errno_name(u.err) : "0"}}));
		}
		for (const auto *k : s.kernel) {
			const std::string comm = comm_of(k->comm);
			tasks.emplace(std::pair{k->parent_tgid, k->parent_pid}, comm);
			events.push_back(slice(
				fmt::format("{} syscall", syscall_name(k->syscall)), "kernel",
				k->parent_tgid, k->parent_pid, k->start_ns, k->end_ns - k->start_ns, t0,
				{{"flags", clone_flags_string(k->clone_flags)},
				 {"result", k->result < 0 ? errno_name(static_cast<int>(-k->result))
							  : std::to_string(k->result)},
				 {"site", s.site}}));
			for (uint32_t i = 0; i < CLONESCOPE_NR_PHASES; i++) {
				if (!has_phase(*k, i))
					continue; // unavailable: no slice rather than a 0-long one
				json args = json::object();
				if (i == CLONESCOPE_PHASE_COPY_PAGE_RANGE)
					args["calls"] = k->copy_page_range_calls;
				events.push_back(slice(phase_name(i), "phase", k->parent_tgid,
						       k->parent_pid, k->phases[i].start_ns,
						       k->phases[i].duration_ns, t0, args));
			}
		}
		const auto *k = s.primary();
		if (s.cow) {
			// A step per fork: 0 at the fork, the pages copied at the
			// end of the COW window (the child's exec or exit).
			const std::string name = fmt::format("COW pages copied (fork of {})", s.cow->child_pid);
			events.push_back({{"ph", "C"}, {"name", name}, {"pid", s.cow->parent_tgid},
					  {"ts", us(s.cow->fork_ns, t0)},
					  {"args", {{"child", 0}, {"parent", 0}}}});
			events.push_back({{"ph", "C"}, {"name", name}, {"pid", s.cow->parent_tgid},
					  {"ts", us(s.cow->hdr.timestamp_ns, t0)},
					  {"args", {{"child", s.cow->child.copied},
						    {"parent", s.cow->parent.copied}}}});
		}
		if (s.life)
			lifecycle_slices(*s.life, t0, events, tasks);
		if (!k || !s.child_start_ns)
			continue;
		// The child's first run, and an arrow to it from the parent.
		tasks.emplace(std::pair{k->child_tgid, k->child_pid}, comm_of(k->comm));
		events.push_back(slice("first run", "child", k->child_tgid, k->child_pid,
				       *s.child_start_ns, 1000, t0,
				       {{"wakeup_ns", s.wakeup_ns ? json(*s.wakeup_ns) : json(nullptr)}}));
		const bool has_wake = has_phase(*k, CLONESCOPE_PHASE_WAKE_UP_NEW_TASK);
		const uint64_t from = has_wake ? k->phases[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK].start_ns
					       : k->start_ns;
		flow_id++;
		events.push_back({{"ph", "s"}, {"id", flow_id}, {"name", "clone"}, {"cat", "flow"},
				  {"pid", k->parent_tgid}, {"tid", k->parent_pid}, {"ts", us(from, t0)}});
		events.push_back({{"ph", "f"}, {"bp", "e"}, {"id", flow_id}, {"name", "clone"},
				  {"cat", "flow"}, {"pid", k->child_tgid}, {"tid", k->child_pid},
				  {"ts", us(*s.child_start_ns, t0)}});
	}
	// pid -> its own namespace's pid, where they differ (containers).
	std::map<uint32_t, uint32_t> ns_pids;
	for (const auto &ns : foreign_pid_namespaces(trace.kernel))
		for (const auto &t : ns.tasks)
			ns_pids.emplace(t.pid, t.ns_pid);
	for (const auto &[task, name] : tasks) {
		const auto [tgid, pid] = task;
		std::string label = name.empty() ? fmt::format("{}", pid) : fmt::format("{} {}", name, pid);
		if (const auto ns = ns_pids.find(pid); ns != ns_pids.end())
			label += fmt::format(" (ns pid {})", ns->second);
		events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", tgid}, {"tid", pid},
				  {"args", {{"name", label}}}});
		if (tgid == pid)
			events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", tgid},
					  {"args", {{"name", label}}}});
	}
	return {{"traceEvents", events},
		{"displayTimeUnit", "ns"},
		{"otherData", {{"clonescope_origin_ns", t0}}}};
}

} // namespace clonescope
