#include "report/site_interval.hpp"

#include <map>
#include <set>

#include "correlate/correlate.hpp"
#include "symbol/symbolizer.hpp"

namespace clonescope {

void SiteJoin::symbolize_new_sites()
{
	std::set<std::pair<uint32_t, uint64_t>> known;
	for (const auto &s : trace_.symbols)
		known.emplace(s.image, s.address);
	std::vector<UserCall> calls = std::move(trace_.calls);
	trace_.calls.clear();
	for (const auto &c : calls)
		if (!known.count({c.image, c.call_site}))
			trace_.calls.push_back(c);
	// While the command runs, its binaries are at hand, as at record's end.
	for (auto &s : symbolize_call_sites(trace_))
		trace_.symbols.push_back(std::move(s));
	trace_.calls = std::move(calls);
}

SiteInterval SiteJoin::next(const KernelRecords &kernel, bool last)
{
	std::set<const clonescope_clone_event *> held_before;
	trace_.kernel = std::move(held_);
	held_ = KernelRecords{};
	for (const KernelRecord r : trace_.kernel)
		if (const auto *c = r.get_if<clonescope_clone_event>())
			held_before.insert(c);
	trace_.kernel.append(kernel);
	symbolize_new_sites();

	const Correlation corr = correlate(trace_);
	std::vector<const Sample *> all;
	std::map<std::string, std::vector<const Sample *>> by_site;
	std::set<uint32_t> held_children;
	for (const auto &s : corr.samples) {
		const auto *k = s.primary();
		if (!s.user && k && !last && !held_before.count(k)) {
			held_.push_back(*k);
			held_children.insert(k->child_pid);
			continue;
		}
		all.push_back(&s);
		by_site[site_key(s, SiteGrouping::line)].push_back(&s);
	}
	// A held clone's wake-up latency needs its child's first run.
	for (const KernelRecord r : trace_.kernel)
		if (const auto *st = r.get_if<clonescope_child_start_event>();
		    st && held_children.count(st->pid))
			held_.push_back(*st);

	SiteInterval out;
	out.all = interval_stats(all);
	for (const auto &[site, samples] : by_site)
		out.rows.emplace_back(site, interval_stats(samples));
	out.lost = corr.lost;
	trace_.calls.clear();
	return out;
}

} // namespace clonescope
