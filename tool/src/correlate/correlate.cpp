#include "correlate/correlate.hpp"

#include <linux/sched.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <set>
#include <unordered_map>

#include "trace/process_tree.hpp"
#include "user_trace.h"
#include "util/named.hpp"

namespace clonescope {

namespace {

std::string basename_of(const std::string &path)
{
	return std::filesystem::path(path).filename().string();
}

// Whether the shim ran in the process image a clone record comes from,
// for a clone no user call claims: the shim bypassed (a raw syscall, or a
// pointer to libc's function taken with dlsym(RTLD_NEXT), as jemalloc does
// for its background thread), or never there (static, setuid, LD_PRELOAD
// removed).
class ShimPresence {
public:
	ShimPresence(const Trace &trace, const std::vector<const clonescope_clone_event *> &clones,
		     const std::vector<const clonescope_clone_event *> &unmatched)
	{
		for (const auto &im : trace.images)
			images_of_[im.pid].push_back(&im);
		for (const auto *k : clones)
			if ((k->clone_flags & CLONE_THREAD) && k->child_pid)
				creator_of_[k->child_pid].push_back(k);
		unclaimed_.insert(unmatched.begin(), unmatched.end());
	}

	// A thread other than the leader lives in the image it was created
	// in (exec leaves only the leader), so the record that created it
	// decides: claimed by a user call, the shim was there.  The leader's
	// image had the shim if the shim's file for it started before the
	// clone and has the comm the record has (no exec since).  A leader
	// that renamed itself looks like one without the shim.
	bool ran(const clonescope_clone_event &k, int depth = 0) const
	{
		if (k.parent_pid != k.parent_tgid && depth < 64)
			if (const auto *c = creator(k.parent_pid, k.start_ns))
				return !unclaimed_.count(c) || ran(*c, depth + 1);
		return leader_image_had_shim(k);
	}

private:
	const clonescope_clone_event *creator(uint32_t tid, uint64_t before) const
	{
		const clonescope_clone_event *found = nullptr;
		if (auto it = creator_of_.find(tid); it != creator_of_.end())
			for (const auto *c : it->second)
				if (c->start_ns < before && (!found || c->start_ns > found->start_ns))
					found = c;
		return found;
	}

	bool leader_image_had_shim(const clonescope_clone_event &k) const
	{
		auto it = images_of_.find(k.parent_tgid);
		if (it == images_of_.end())
			return false;
		const UserImage *current = nullptr;
		for (const auto *im : it->second)
			if (im->start_ns <= k.start_ns && (!current || im->start_ns > current->start_ns))
				current = im;
		if (!current)
			return false;
		// An older shim wrote no comm: TASK_COMM_LEN - 1 characters of
		// the program's name are the best guess.
		const std::string comm = comm_of(k.comm);
		return current->comm.empty() ? basename_of(current->exe).substr(0, 15) == comm
					     : current->comm == comm;
	}

	std::unordered_map<uint32_t, std::vector<const UserImage *>> images_of_;
	std::unordered_map<uint32_t, std::vector<const clonescope_clone_event *>> creator_of_;
	std::set<const clonescope_clone_event *> unclaimed_;
};

// Whether the trace attached to processes that were already running
// (record -p or -a), which the shim could not be injected into.
bool attached_trace(const Trace &trace)
{
	const auto target = trace.meta.find("target");
	if (target == trace.meta.end() || !target->is_object())
		return false;
	const auto system_wide = target->find("system_wide");
	const auto pids = target->find("attached");
	return (system_wide != target->end() && system_wide->is_boolean() &&
		system_wide->get<bool>()) ||
	       (pids != target->end() && pids->is_array() && !pids->empty());
}

constexpr Named kUserKinds[] = {
	{CS_KIND_FORK, "fork"},
	{CS_KIND_VFORK, "vfork"},
	{CS_KIND__FORK, "_Fork"},
	{CS_KIND_CLONE, "clone"},
	{CS_KIND_POSIX_SPAWN, "posix_spawn"},
	{CS_KIND_POSIX_SPAWNP, "posix_spawnp"},
	{CS_KIND_PTHREAD_CREATE, "thread"},
	{CS_KIND_SYSTEM, "system"},
	{CS_KIND_POPEN, "popen"},
	{CS_KIND_DAEMON, "daemon"},
	{CS_KIND_CLONE3, "clone3"},
};

} // namespace

std::string site_name(const Trace &trace, uint32_t image, uint64_t address)
{
	auto it = std::find_if(trace.symbols.begin(), trace.symbols.end(), [&](const SymbolInfo &s) {
		return s.image == image && s.address == address;
	});
	return site_name(it == trace.symbols.end() ? nullptr : &*it, trace, image, address);
}

bool Sample::failed() const
{
	return error() != 0;
}

int Sample::error() const
{
	if (const auto *k = primary(); k && is_failure(*k))
		return static_cast<int>(-k->result);
	if (user && user->err)
		return user->err;
	return 0;
}

size_t Sample::restarts() const
{
	return static_cast<size_t>(std::count_if(kernel.begin(), kernel.end(),
						 [](const auto *k) { return is_restart(*k); }));
}

std::optional<uint64_t> Sample::kernel_ns() const
{
	return sum_kernel([](const clonescope_clone_event &k) { return k.end_ns - k.start_ns; });
}

std::optional<uint64_t> Sample::self_cost_ns(uint64_t features) const
{
	if (!std::all_of(kernel.begin(), kernel.end(),
			 [features](const auto *k) { return is_timed(*k, features); }))
		return std::nullopt;
	return sum_kernel([](const clonescope_clone_event &k) { return k.self_cost_ns; });
}

std::optional<uint64_t> Sample::user_ns() const
{
	if (!user)
		return std::nullopt;
	return user->return_ns - user->entry_ns;
}

std::optional<uint64_t> Sample::overhead_ns() const
{
	auto u = user_ns(), k = kernel_ns();
	if (!u || !k || *k > *u)
		return std::nullopt;
	return *u - *k;
}

std::optional<uint64_t> Sample::cow_pages() const
{
	if (!cow)
		return std::nullopt;
	return cow->child.copied + cow->parent.copied + cow->child.hugetlb_copied +
	       cow->parent.hugetlb_copied;
}

std::optional<uint64_t> Sample::fork_to_exec_ns() const
{
	return life ? clonescope::fork_to_exec_ns(*life) : std::nullopt;
}

std::optional<uint64_t> Sample::lifetime_ns() const
{
	return life ? clonescope::lifetime_ns(*life) : std::nullopt;
}

std::optional<uint64_t> Sample::zombie_ns() const
{
	return life ? clonescope::zombie_ns(*life) : std::nullopt;
}

std::optional<uint64_t> Sample::cow_copy_ns() const
{
	if (!cow)
		return std::nullopt;
	return cow->child.copy_ns + cow->parent.copy_ns;
}

const char *user_kind_name(uint32_t kind)
{
	return name_in(kUserKinds, kind, "unknown");
}

const char *kernel_kind_name(const clonescope_clone_event &ev)
{
	if (ev.clone_flags & CLONE_THREAD)
		return "thread";
	if (ev.clone_flags & CLONE_VFORK)
		return "vfork";
	if (ev.syscall == CLONESCOPE_SYSCALL_CLONE3)
		return "clone3";
	if (ev.syscall == CLONESCOPE_SYSCALL_UNKNOWN)
		return "kernel";
	return "fork";
}

std::string site_name(const SymbolInfo *sym, const Trace &trace, uint32_t image,
		      uint64_t address)
{
	if (sym) {
		const SymbolInfo &s = *sym;
		std::string name;
		if (!s.symbol.empty())
			name = fmt::format("{}+{:#x}", s.symbol, s.offset);
		else if (!s.module.empty())
			name = fmt::format("{}+{:#x}", basename_of(s.module), s.offset);
		if (!name.empty()) {
			if (!s.file.empty())
				name += fmt::format(" ({}:{})", basename_of(s.file), s.line);
			if (!s.symbol.empty() && !s.module.empty())
				name += fmt::format(" [{}]", basename_of(s.module));
			return name;
		}
	}
	// Not symbolized: module-relative from the image's mappings.
	if (image < trace.images.size())
		for (const auto &m : trace.images[image].maps)
			if (address >= m.start && address < m.end)
				return fmt::format("{}+{:#x}", basename_of(m.path), address - m.base);
	return fmt::format("{:#x}", address);
}

std::string site_key(const Sample &s, SiteGrouping grouping)
{
	const SymbolInfo *sym = s.symbol;
	if (!sym || sym->symbol.empty() || grouping == SiteGrouping::address)
		return s.site;
	const std::string module = sym->module.empty() ? "" : " [" + basename_of(sym->module) + "]";
	if (grouping == SiteGrouping::function)
		return sym->symbol + module;
	if (sym->file.empty())
		return s.site;
	return fmt::format("{} ({}:{}){}", sym->symbol, basename_of(sym->file), sym->line, module);
}

namespace {

// Of the records about a fork's child (COW, lifecycle), keyed by child pid,
// the one of clone @k: the same parent, stamped at the fork, inside the
// clone (a recycled pid's records are another clone's).
template <typename Event>
const Event *record_of_clone(
	const std::unordered_map<uint32_t, std::vector<const Event *>> &by_child,
	const clonescope_clone_event &k)
{
	auto it = by_child.find(k.child_pid);
	if (it == by_child.end())
		return nullptr;
	for (const auto *w : it->second)
		if (w->parent_tgid == k.parent_tgid && w->fork_ns >= k.start_ns &&
		    w->fork_ns <= k.end_ns)
			return w;
	return nullptr;
}

} // namespace

Correlation correlate(const Trace &trace)
{
	Correlation out;
	std::vector<const clonescope_clone_event *> clones;
	// pid -> first-run times, in stream order.
	std::unordered_map<uint32_t, std::vector<uint64_t>> starts;
	// child pid -> COW records, in stream order.
	std::unordered_map<uint32_t, std::vector<const clonescope_cow_event *>> cows;
	std::unordered_map<uint32_t, std::vector<const clonescope_lifecycle_event *>> lives;
	for (const auto r : trace.kernel) {
		if (const auto *c = r.get_if<clonescope_clone_event>()) {
			clones.push_back(c);
			out.kernel_restarts += is_restart(*c);
		} else if (const auto *s = r.get_if<clonescope_child_start_event>())
			starts[s->pid].push_back(s->hdr.timestamp_ns);
		else if (const auto *l = r.get_if<clonescope_lost_event>())
			out.lost += l->lost;
		else if (const auto *w = r.get_if<clonescope_cow_event>())
			cows[w->child_pid].push_back(w);
		else if (const auto *f = r.get_if<clonescope_lifecycle_event>())
			lives[f->pid].push_back(f);
	}
	for (auto &[pid, v] : starts) {
		std::sort(v.begin(), v.end());
		out.child_starts += v.size();
	}
	std::stable_sort(clones.begin(), clones.end(),
			 [](const auto *a, const auto *b) { return a->start_ns < b->start_ns; });
	out.kernel_clones = clones.size();
	out.user_calls = trace.calls.size();

	// Per tid: its calls by entry time, and the latest return among the
	// first i of them, so that the search for the calls around a record
	// stops as soon as no earlier call can still be running.
	struct TidCalls {
		std::vector<size_t> by_entry;
		std::vector<uint64_t> max_return;
	};
	std::unordered_map<uint32_t, TidCalls> calls_by_tid;
	for (size_t i = 0; i < trace.calls.size(); i++)
		calls_by_tid[trace.calls[i].tid].by_entry.push_back(i);
	for (auto &[tid, tc] : calls_by_tid) {
		std::stable_sort(tc.by_entry.begin(), tc.by_entry.end(), [&](size_t a, size_t b) {
			return trace.calls[a].entry_ns < trace.calls[b].entry_ns;
		});
		uint64_t latest = 0;
		for (size_t i : tc.by_entry)
			tc.max_return.push_back(latest = std::max(latest, trace.calls[i].return_ns));
	}

	std::map<std::pair<uint32_t, uint64_t>, const SymbolInfo *> symbols;
	for (const auto &s : trace.symbols)
		symbols.emplace(std::pair{s.image, s.address}, &s);
	out.samples.reserve(trace.calls.size() + clones.size());
	for (const auto &c : trace.calls) {
		auto it = symbols.find({c.image, c.call_site});
		const SymbolInfo *sym = it == symbols.end() ? nullptr : it->second;
		out.samples.push_back(Sample{.kind = user_kind_name(c.kind),
					     .site = site_name(sym, trace, c.image, c.call_site),
					     .user = &c,
					     .symbol = sym});
	}

	std::vector<const clonescope_clone_event *> unmatched;
	for (const auto *k : clones) {
		std::optional<size_t> best;
		auto better = [&](size_t a, size_t b) {
			const UserCall &x = trace.calls[a], &y = trace.calls[b];
			const bool xc = x.child > 0 && static_cast<uint64_t>(x.child) == k->child_pid;
			const bool yc = y.child > 0 && static_cast<uint64_t>(y.child) == k->child_pid;
			if (xc != yc)
				return xc;
			return x.return_ns - x.entry_ns < y.return_ns - y.entry_ns;
		};
		if (auto it = calls_by_tid.find(k->parent_pid); it != calls_by_tid.end()) {
			const TidCalls &tc = it->second;
			// Calls that entered before the clone began, latest first.
			auto end = std::upper_bound(tc.by_entry.begin(), tc.by_entry.end(), k->start_ns,
						    [&](uint64_t t, size_t i) {
							    return t < trace.calls[i].entry_ns;
						    });
			for (auto pos = static_cast<size_t>(end - tc.by_entry.begin());
			     pos > 0 && tc.max_return[pos - 1] >= k->end_ns; pos--) {
				const size_t i = tc.by_entry[pos - 1];
				if (k->end_ns <= trace.calls[i].return_ns && (!best || better(i, *best)))
					best = i;
			}
		}
		if (best)
			out.samples[*best].kernel.push_back(k);
		else
			unmatched.push_back(k);
	}
	out.kernel_matched = clones.size() - unmatched.size();
	const ShimPresence shim(trace, clones, unmatched);
	const bool attached = attached_trace(trace);
	for (const auto *k : unmatched) {
		const bool shim_ran = shim.ran(*k);
		std::string site;
		if (!shim_ran && attached)
			site = fmt::format("[no user call (attached)] {}", comm_of(k->comm));
		else
			site = fmt::format(
				"[no user call: {}] {}",
				shim_ran ? "shim bypassed (raw syscall or dlsym'd libc function)"
					 : "no shim in the process (static, setuid or LD_PRELOAD "
					   "removed)",
				comm_of(k->comm));
		out.samples.push_back(
			Sample{.kind = kernel_kind_name(*k), .site = std::move(site), .kernel = {k}});
	}

	for (auto &s : out.samples) {
		if (s.user && !s.kernel.empty())
			out.user_matched++;
		const auto *k = s.primary();
		if (!k || k->child_pid == 0)
			continue;
		// The COW window opens when copy_process returns, inside the
		// clone; the lifecycle starts there too.
		s.cow = record_of_clone(cows, *k);
		out.cow_records += s.cow != nullptr;
		s.life = record_of_clone(lives, *k);
		out.lifecycle_records += s.life != nullptr;
		auto it = starts.find(k->child_pid);
		if (it == starts.end())
			continue;
		// The child runs after its clone began; a recycled pid's earlier
		// start is skipped.
		auto ts = std::lower_bound(it->second.begin(), it->second.end(), k->start_ns);
		if (ts == it->second.end())
			continue;
		s.child_start_ns = *ts;
		if (has_phase(*k, CLONESCOPE_PHASE_WAKE_UP_NEW_TASK) &&
		    *ts >= k->phases[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK].start_ns)
			s.wakeup_ns = *ts - k->phases[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK].start_ns;
	}
	return out;
}

} // namespace clonescope
