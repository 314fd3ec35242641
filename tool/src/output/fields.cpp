#include "output/fields.hpp"

#include <cstring>
#include <set>

#include "util/csv.hpp"
#include "trace/names.hpp"
#include "trace/process_tree.hpp"
#include "user_trace.h"

namespace clonescope {

namespace {

using ojson = nlohmann::ordered_json;

ojson or_null(bool present, ojson value)
{
	return present ? std::move(value) : ojson(nullptr);
}

ojson errno_json(int err)
{
	return or_null(err != 0, errno_name(err));
}

ojson user_json(const Event &ev)
{
	if (!ev.call)
		return nullptr;
	const UserCall &c = *ev.call;
	const SymbolInfo *s = ev.symbol;
	return {{"kind", user_kind_name(c.kind)},
		{"pid", c.pid},
		{"tid", c.tid},
		{"entry_ns", c.entry_ns},
		{"return_ns", c.return_ns},
		{"duration_ns", c.return_ns - c.entry_ns},
		{"ret", c.ret},
		{"errno", errno_json(c.err)},
		{"child", or_null(c.child > 0, c.child)},
		{"call_site", c.call_site},
		{"site", ev.site},
		{"module", or_null(s && !s->module.empty(), s ? s->module : "")},
		{"symbol", or_null(s && !s->symbol.empty(), s ? s->symbol : "")},
		{"offset", or_null(s != nullptr, s ? s->offset : 0)},
		{"file", or_null(s && !s->file.empty(), s ? s->file : "")},
		{"line", or_null(s && s->line > 0, s ? s->line : 0)}};
}

ojson clone_json(const clonescope_clone_event &k, const EventContext &ctx)
{
	ojson phases = ojson::object();
	ojson unavailable = ojson::array();
	ojson not_reached = ojson::array();
	for (uint32_t i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (has_phase(k, i))
			phases[phase_name(i)] = {{"start_ns", k.phases[i].start_ns},
						 {"duration_ns", k.phases[i].duration_ns}};
		else
			(phase_not_reached(k, i) ? not_reached : unavailable).push_back(phase_name(i));
	}
	const bool failed = k.result < 0;
	const bool clone3 = k.syscall == CLONESCOPE_SYSCALL_CLONE3;
	return {{"comm", comm_of(k.comm)},
		{"parent_pid", k.parent_pid},
		{"parent_tgid", k.parent_tgid},
		{"child_pid", or_null(k.child_pid != 0, k.child_pid)},
		{"child_tgid", or_null(k.child_tgid != 0, k.child_tgid)},
		{"syscall", syscall_name(k.syscall)},
		{"clone_flags", clone_flag_names(k.clone_flags)},
		{"exit_signal", or_null(k.exit_signal != 0, signal_name(k.exit_signal))},
		{"result", k.result},
		{"errno", errno_json(failed ? static_cast<int>(-k.result) : 0)},
		{"flags", record_flag_names(k.flags)},
		{"failed_phase", or_null(phase_name(k.failed_phase) != nullptr,
					 phase_name(k.failed_phase) ? phase_name(k.failed_phase) : "")},
		{"start_ns", k.start_ns},
		{"end_ns", k.end_ns},
		{"duration_ns", k.end_ns - k.start_ns},
		{"self_cost_ns", or_null(is_timed(k, ctx.features), k.self_cost_ns)},
		{"copy_page_range_calls", or_null(has_phase(k, CLONESCOPE_PHASE_COPY_PAGE_RANGE),
						  k.copy_page_range_calls)},
		{"clone3_size", or_null(clone3, k.clone3_size)},
		{"set_tid_size", or_null(clone3, k.set_tid_size)},
		{"phases", phases},
		{"unavailable", unavailable},
		{"not_reached", not_reached}};
}

ojson cow_counts_json(const clonescope_cow_counts &c)
{
	ojson j = ojson::object();
	for (const auto &f : cow_counters())
		j[f.name] = c.*f.field;
	return j;
}

ojson cow_json(const clonescope_cow_event &w)
{
	return {{"fork_ns", w.fork_ns},
		{"end_reason", cow_end_name(w.end_reason)},
		{"parent_pid", w.parent_pid},
		{"parent_tgid", w.parent_tgid},
		{"child_pid", w.child_pid},
		{"child_tgid", w.child_tgid},
		{"rss_anon_pages", w.rss_anon_pages},
		{"rss_file_pages", w.rss_file_pages},
		{"map_count", w.map_count},
		{"cow", {{"child", cow_counts_json(w.child)}, {"parent", cow_counts_json(w.parent)}}}};
}

ojson stamp_json(uint64_t ns)
{
	return or_null(ns != 0, ns);
}

ojson duration_json(std::optional<uint64_t> ns)
{
	return ns ? ojson(*ns) : ojson(nullptr);
}

// A stamp that did not happen while traced is null, and so is every
// interval it ends or starts; the wait status is decoded as waitpid()'s
// WEXITSTATUS or WTERMSIG.
ojson lifecycle_json(const clonescope_lifecycle_event &l)
{
	const bool exited = l.exit_ns != 0;
	const bool by_signal = exited && (l.exit_code & 0x7f) != 0;
	return {{"comm", comm_of(l.comm)},
		{"pid", l.pid},
		{"tgid", l.tgid},
		{"parent_tgid", l.parent_tgid},
		{"fork_ns", stamp_json(l.fork_ns)},
		{"exec_ns", stamp_json(l.exec_ns)},
		{"exit_ns", stamp_json(l.exit_ns)},
		{"reap_ns", stamp_json(l.reap_ns)},
		{"fork_to_exec_ns", duration_json(fork_to_exec_ns(l))},
		{"lifetime_ns", duration_json(lifetime_ns(l))},
		{"zombie_ns", duration_json(zombie_ns(l))},
		{"execs", l.execs},
		{"exit_code", or_null(exited, l.exit_code)},
		{"exit_status", or_null(exited && !by_signal, (l.exit_code >> 8) & 0xff)},
		{"exit_signal", or_null(by_signal, signal_name(l.exit_code & 0x7f))},
		{"core_dumped", or_null(by_signal, (l.exit_code & 0x80) != 0)},
		{"reaper_pid", or_null(l.reap_ns != 0, l.reaper_pid)},
		{"flags", lifecycle_flag_names(l.flags)}};
}

// The fields after "type", "time_ns", "timestamp_ns" and "cpu".
struct RecordFields {
	const EventContext &ctx;

	std::pair<const char *, ojson> operator()(const clonescope_clone_event &k) const
	{
		return {"clone", clone_json(k, ctx)};
	}
	std::pair<const char *, ojson> operator()(const clonescope_child_start_event &s) const
	{
		return {"child_start",
			{{"pid", s.pid}, {"tgid", s.tgid}, {"parent_tgid", s.parent_tgid}}};
	}
	std::pair<const char *, ojson> operator()(const clonescope_lost_event &l) const
	{
		return {"lost", {{"lost", l.lost}}};
	}
	std::pair<const char *, ojson> operator()(const clonescope_cow_event &w) const
	{
		return {"cow", cow_json(w)};
	}
	std::pair<const char *, ojson> operator()(const clonescope_lifecycle_event &l) const
	{
		return {"lifecycle", lifecycle_json(l)};
	}
};

template <size_t N>
std::string cstr(const char (&s)[N])
{
	return std::string(s, strnlen(s, N));
}

ojson percentile_json(const std::optional<Summary> &s, uint64_t Summary::*field)
{
	return s ? ojson((*s).*field) : ojson(nullptr);
}

// The counts of a stat line or top row; latencies null when none measured.
void add_interval_fields(ojson &j, const IntervalStats &l, double seconds)
{
	j["clones_per_s"] = seconds > 0 ? static_cast<double>(l.clones) / seconds : 0.0;
	j["clones"] = l.clones;
	j["fork"] = l.fork;
	j["vfork"] = l.vfork;
	j["thread"] = l.thread;
	j["other"] = l.other();
	j["failed"] = l.failed;
	j["restarted"] = l.restarted;
	j["total_p50_ns"] = percentile_json(l.total, &Summary::p50);
	j["total_p99_ns"] = percentile_json(l.total, &Summary::p99);
	j["total_max_ns"] = percentile_json(l.total, &Summary::max);
	j["wakeup_p50_ns"] = percentile_json(l.wakeup, &Summary::p50);
	j["cow_pages"] = l.cow_pages ? ojson(*l.cow_pages) : ojson(nullptr);
}

ojson interval_head(const std::string &clock, double seconds, bool partial)
{
	return {{"time", clock}, {"seconds", seconds}, {"partial", partial}};
}

} // namespace

ojson interval_json(const IntervalView &v)
{
	ojson j = interval_head(v.clock, v.seconds, v.partial);
	add_interval_fields(j, v.stats, v.seconds);
	j["lost"] = v.lost;
	return j;
}

ojson top_json(const TopView &v)
{
	ojson j = interval_head(v.clock, v.seconds, v.partial);
	j["clones_per_s"] = v.seconds > 0 ? static_cast<double>(v.clones) / v.seconds : 0.0;
	j["lost"] = v.lost;
	ojson rows = ojson::array();
	for (const auto &[comm, stats] : v.rows) {
		ojson r = {{top_grouping_name(v.by), comm}};
		add_interval_fields(r, stats, v.seconds);
		rows.push_back(std::move(r));
	}
	j["rows"] = std::move(rows);
	return j;
}

ojson top_row_json(const TopView &v, size_t row)
{
	ojson j = interval_head(v.clock, v.seconds, v.partial);
	j[top_grouping_name(v.by)] = v.rows[row].first;
	add_interval_fields(j, v.rows[row].second, v.seconds);
	return j;
}

ojson probe_json(uint32_t index, const clonescope_probe_info &p)
{
	return {{"index", index},
		{"symbol", cstr(p.symbol)},
		{"role", cstr(p.role)},
		{"kind", probe_kind_name(p)},
		{"state", probe_state_name(p.state)},
		{"error", p.error ? ojson(errno_name(-p.error)) : ojson(nullptr)},
		{"hits", p.hits},
		{"nmissed", p.nmissed},
		{"handler_ns", p.handler_ns}};
}

ojson status_json(const StatusView &v)
{
	const clonescope_stats &s = v.stats;
	ojson probes = ojson::array();
	for (size_t i = 0; i < v.probes.size(); i++)
		probes.push_back(probe_json(static_cast<uint32_t>(i), v.probes[i]));
	return {{"abi", {{"major", v.abi.major}, {"minor", v.abi.minor}}},
		{"tool_abi", {{"major", CLONESCOPE_ABI_MAJOR}, {"minor", CLONESCOPE_ABI_MINOR}}},
		{"features", feature_names(v.abi.features)},
		{"enabled", s.enabled != 0},
		{"nr_cpus", s.nr_cpus},
		{"pages_per_cpu", s.pages_per_cpu},
		{"produced", s.produced},
		{"delivered", s.delivered},
		{"dropped", s.dropped},
		{"inflight_overflow", s.inflight_overflow},
		{"handler_calls", s.handler_calls},
		{"handler_ns", s.handler_ns},
		{"cost_sampled", s.cost_sampled != 0},
		{"timed_calls", s.timed_calls},
		{"timed_clones", s.timed_clones},
		{"clones", s.clones},
		{"probe_groups", s.probes},
		{"probes", probes}};
}

ojson event_json(const Event &ev, const EventContext &ctx)
{
	ojson j = ojson::object();
	if (!ev.record) {
		j["type"] = "user_call";
		j["time_ns"] = ev.time_ns;
		j["user"] = user_json(ev);
		return j;
	}
	auto [type, fields] = ev.record.visit(RecordFields{ctx});
	const auto &hdr = ev.record.header();
	j["type"] = type;
	j["time_ns"] = ev.time_ns;
	j["timestamp_ns"] = hdr.timestamp_ns;
	j["cpu"] = hdr.cpu;
	for (auto &[key, value] : fields.items())
		j[key] = std::move(value);
	if (ev.record.holds<clonescope_clone_event>())
		j["user"] = user_json(ev);
	return j;
}

const std::vector<std::string> &event_columns()
{
	static const std::vector<std::string> columns = [] {
		// One event of each type with every optional part present: a
		// clone with every phase and its user call, resolved.
		clonescope_clone_event clone{};
		clone.hdr.type = CLONESCOPE_RECORD_CLONE;
		clone.phase_mask = (1ULL << CLONESCOPE_NR_PHASES) - 1;
		const UserCall call{};
		const SymbolInfo symbol{};
		clonescope_lifecycle_event life{};
		life.fork_ns = life.exec_ns = life.exit_ns = life.reap_ns = 1;
		KernelRecords records;
		records.push_back(clone);
		records.push_back(clonescope_child_start_event{});
		records.push_back(clonescope_lost_event{});
		records.push_back(clonescope_cow_event{});
		records.push_back(life);
		std::vector<std::string> out;
		std::set<std::string> seen;
		auto add = [&](const Event &ev) {
			for (auto &[key, value] : flatten(event_json(ev, EventContext{})))
				if (seen.insert(key).second)
					out.push_back(key);
		};
		for (const auto r : records)
			add(Event{0, r, &call, "", &symbol});
		add(Event{0, {}, &call, "", &symbol});
		return out;
	}();
	return columns;
}

} // namespace clonescope
