#include "report/interval.hpp"

namespace clonescope {

IntervalStats interval_stats(const std::vector<const Sample *> &samples)
{
	IntervalStats l;
	std::vector<uint64_t> totals, wakeups;
	for (const auto *s : samples) {
		l.clones++;
		l.fork += s->kind == "fork";
		l.vfork += s->kind == "vfork";
		l.thread += s->kind == "thread";
		l.failed += s->failed();
		l.restarted += s->restarts();
		if (auto t = s->kernel_ns())
			totals.push_back(*t);
		if (s->wakeup_ns)
			wakeups.push_back(*s->wakeup_ns);
		*l.cow_pages += s->cow_pages().value_or(0);
	}
	l.total = summarize(std::move(totals));
	l.wakeup = summarize(std::move(wakeups));
	return l;
}

IntervalStats interval_stats(std::span<const __u64, CLONESCOPE_AGG_NR_KINDS> kinds,
			     uint64_t failed, uint64_t restarted, std::span<const __u64> duration,
			     std::span<const __u64> wakeup, uint64_t cow_pages)
{
	IntervalStats l;
	for (auto k : kinds)
		l.clones += k;
	l.fork = kinds[CLONESCOPE_AGG_KIND_FORK];
	l.vfork = kinds[CLONESCOPE_AGG_KIND_VFORK];
	l.thread = kinds[CLONESCOPE_AGG_KIND_THREAD];
	l.failed = failed;
	l.restarted = restarted;
	l.cow_pages = cow_pages;
	l.total = summarize_log2(duration);
	l.wakeup = summarize_log2(wakeup);
	return l;
}

} // namespace clonescope
