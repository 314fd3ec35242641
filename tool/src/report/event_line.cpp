#include "report/event_line.hpp"

#include <fmt/format.h>

#include "correlate/correlate.hpp"
#include "report/pidns.hpp"
#include "trace/names.hpp"
#include "trace/process_tree.hpp"

namespace clonescope {

namespace {

std::string rel_time(uint64_t ts, uint64_t t0)
{
	const int64_t d = static_cast<int64_t>(ts - t0);
	return fmt::format("{:12.6f}", static_cast<double>(d) / 1e9);
}

} // namespace

std::string format_duration(uint64_t ns)
{
	if (ns >= 10'000'000)
		return fmt::format("{:.1f}ms", static_cast<double>(ns) / 1e6);
	return fmt::format("{:.1f}us", static_cast<double>(ns) / 1e3);
}

std::string format_clone_event(const clonescope_clone_event &ev, uint64_t t0_ns)
{
	std::string result;
	if (ev.result < 0)
		result = errno_name(static_cast<int>(-ev.result));
	else
		result = fmt::format("{}", ev.child_pid);
	result += ns_child_note(ev);
	if (ev.flags & CLONESCOPE_CLONE_RESTART)
		result += " (restarted)";
	std::string line = fmt::format(
		"{} {:<16} {:>7}/{:<7} {:<6} {} sig={} -> {} {}", rel_time(ev.start_ns, t0_ns),
		comm_of(ev.comm), ev.parent_pid,
		fmt::format("{}{}", ev.parent_tgid, ns_parent_note(ev)), syscall_name(ev.syscall),
		clone_flags_string(ev.clone_flags), signal_name(ev.exit_signal), result,
		format_duration(ev.end_ns - ev.start_ns));
	if (ev.result < 0 && ev.failed_phase != CLONESCOPE_PHASE_NONE && phase_name(ev.failed_phase))
		line += fmt::format(" failed in {}", phase_name(ev.failed_phase));
	if (ev.phase_mask == 0)
		return line;

	std::string measured, unavailable, not_reached;
	const auto add = [](std::string &list, uint32_t i) {
		list += fmt::format("{}{}", list.empty() ? "" : ",", phase_name(i));
	};
	for (uint32_t i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (has_phase(ev, i))
			measured += fmt::format(" {}={}", phase_name(i),
						format_duration(ev.phases[i].duration_ns));
		else
			add(phase_not_reached(ev, i) ? not_reached : unavailable, i);
	}
	line += fmt::format("\n{:12} phases:{}", "", measured);
	if (has_phase(ev, CLONESCOPE_PHASE_COPY_PAGE_RANGE))
		line += fmt::format(" (copy_page_range x{})", ev.copy_page_range_calls);
	if (!unavailable.empty())
		line += fmt::format("\n{:12} unavailable: {}", "", unavailable);
	if (!not_reached.empty())
		line += fmt::format("\n{:12} not reached: {}", "", not_reached);
	return line;
}

std::string format_child_start(const clonescope_child_start_event &ev, uint64_t t0_ns)
{
	return fmt::format("{} child {}/{} of {} first runs", rel_time(ev.hdr.timestamp_ns, t0_ns),
			   ev.pid, ev.tgid, ev.parent_tgid);
}

namespace {

// Shown once for both sides of a COW line: "copying took".
bool shown_apart(const CowCounter &c)
{
	return c.field == &clonescope_cow_counts::copy_ns;
}

bool always_shown(const CowCounter &c)
{
	return c.field == &clonescope_cow_counts::copied || c.field == &clonescope_cow_counts::reused;
}

} // namespace

std::string format_cow_counts(const clonescope_cow_counts &c)
{
	std::string out;
	for (const auto &f : cow_counters())
		if (!shown_apart(f) && (always_shown(f) || c.*f.field))
			out += fmt::format("{}{} {}", out.empty() ? "" : " ", f.name, c.*f.field);
	return out;
}

clonescope_cow_counts add_cow_counts(const clonescope_cow_counts &a,
				     const clonescope_cow_counts &b)
{
	clonescope_cow_counts sum{};
	for (const auto &f : cow_counters())
		sum.*f.field = a.*f.field + b.*f.field;
	return sum;
}

std::string format_cow(const clonescope_cow_event &ev, uint64_t t0_ns)
{
	return fmt::format("{} COW of fork {}/{} -> {} (until {}): child {}, parent {}, copying "
			   "took {}",
			   rel_time(ev.hdr.timestamp_ns, t0_ns), ev.parent_pid, ev.parent_tgid,
			   ev.child_pid, cow_end_name(ev.end_reason), format_cow_counts(ev.child),
			   format_cow_counts(ev.parent),
			   format_duration(ev.child.copy_ns + ev.parent.copy_ns));
}

std::string format_wait_status(int status)
{
	if ((status & 0x7f) == 0)
		return fmt::format("exit {}", (status >> 8) & 0xff);
	return fmt::format("killed by {}{}", signal_name(status & 0x7f),
			   status & 0x80 ? " (core dumped)" : "");
}

std::string format_lifecycle(const clonescope_lifecycle_event &ev, uint64_t t0_ns)
{
	auto span = [](std::optional<uint64_t> ns) {
		return ns ? format_duration(*ns) : std::string("-");
	};
	std::string out = fmt::format("{} LIFE {}/{} {} fork->exec {} lifetime {} zombie {}",
				      rel_time(ev.hdr.timestamp_ns, t0_ns), ev.pid, ev.tgid,
				      comm_of(ev.comm), span(fork_to_exec_ns(ev)),
				      span(lifetime_ns(ev)), span(zombie_ns(ev)));
	if (ev.exit_ns)
		out += " " + format_wait_status(ev.exit_code);
	if (ev.reap_ns)
		out += fmt::format(" reaped by {}", ev.reaper_pid);
	if (ev.flags & CLONESCOPE_LIFE_UNFINISHED)
		out += " (tracing stopped first)";
	return out;
}

namespace {

// One overload per record type: a type added to KernelRecord::visit()
// without its line does not compile.
struct RecordLine {
	uint64_t t0_ns;

	std::string operator()(const clonescope_clone_event &ev) const
	{
		return format_clone_event(ev, t0_ns);
	}
	std::string operator()(const clonescope_child_start_event &ev) const
	{
		return format_child_start(ev, t0_ns);
	}
	std::string operator()(const clonescope_lost_event &ev) const
	{
		return format_lost(ev, t0_ns);
	}
	std::string operator()(const clonescope_cow_event &ev) const
	{
		return format_cow(ev, t0_ns);
	}
	std::string operator()(const clonescope_lifecycle_event &ev) const
	{
		return format_lifecycle(ev, t0_ns);
	}
	template <typename T>
	std::string operator()(const T &) const = delete;
};

std::string call_result(const UserCall &call)
{
	return call.err ? errno_name(call.err) : fmt::format("{}", call.ret);
}

} // namespace

std::string format_record(const KernelRecord &record, uint64_t t0_ns)
{
	return record.visit(RecordLine{t0_ns});
}

std::string format_joined_call(const UserCall &call, const std::string &site)
{
	return fmt::format("{:12} call: {}() by tid {} at {}, {}", "", user_kind_name(call.kind),
			   call.tid, site, format_duration(call.return_ns - call.entry_ns));
}

std::string format_lone_call(const UserCall &call, const std::string &site, uint64_t t0_ns)
{
	return fmt::format("{} {}() by tid {} at {} -> {} {}, no kernel record",
			   rel_time(call.entry_ns, t0_ns), user_kind_name(call.kind), call.tid, site,
			   call_result(call), format_duration(call.return_ns - call.entry_ns));
}

std::string format_tally(const RecordTally &t)
{
	return fmt::format("{} clone records ({} failed, {} restarted), {} child starts, {} lost "
			   "in-stream",
			   t.clones, t.failed, t.restarted, t.child_starts, t.lost);
}

std::string format_lost(const clonescope_lost_event &ev, uint64_t t0_ns)
{
	return fmt::format("{} LOST {} records on cpu {} (buffer full)",
			   rel_time(ev.hdr.timestamp_ns, t0_ns), ev.lost, ev.hdr.cpu);
}

} // namespace clonescope
