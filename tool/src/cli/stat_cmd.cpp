#include "cli/stat_cmd.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <fmt/format.h>
#include <functional>
#include <map>
#include <span>
#include <time.h>

#include "correlate/correlate.hpp"
#include "report/event_line.hpp"
#include "report/stats.hpp"
#include "trace/process_tree.hpp"
#include "util/clock.hpp"

namespace clonescope {

namespace {

std::atomic<bool> g_exiting{false};

void on_signal(int)
{
	g_exiting = true;
}

std::string pct(const std::optional<Summary> &s, uint64_t Summary::*field)
{
	return s ? format_duration((*s).*field) : std::string("-");
}

std::string clock_time()
{
	char now[16];
	const time_t t = time(nullptr);
	tm local;
	strftime(now, sizeof(now), "%H:%M:%S", localtime_r(&t, &local));
	return now;
}

// What one line of stat or top says about a set of clones.
struct Line {
	size_t clones = 0, fork = 0, vfork = 0, thread = 0, failed = 0, restarted = 0;
	uint64_t cow_pages = 0;
	std::optional<Summary> total, wakeup;

	explicit Line(const std::vector<const Sample *> &samples)
	{
		std::vector<uint64_t> totals, wakeups;
		for (const auto *s : samples) {
			clones++;
			fork += s->kind == "fork";
			vfork += s->kind == "vfork";
			thread += s->kind == "thread";
			failed += s->failed();
			restarted += s->restarts();
			if (auto t = s->kernel_ns())
				totals.push_back(*t);
			if (s->wakeup_ns)
				wakeups.push_back(*s->wakeup_ns);
			cow_pages += s->cow_pages().value_or(0);
		}
		total = summarize(std::move(totals));
		wakeup = summarize(std::move(wakeups));
	}

	// From the module's aggregates: clones of each CLONESCOPE_AGG_KIND_*,
	// and log2 histograms of their durations and wake-up latencies.
	Line(std::span<const __u64, CLONESCOPE_AGG_NR_KINDS> kinds, uint64_t failed_,
	     uint64_t restarted_, std::span<const __u64> duration, std::span<const __u64> wakeup_,
	     uint64_t cow)
		: fork(kinds[CLONESCOPE_AGG_KIND_FORK]), vfork(kinds[CLONESCOPE_AGG_KIND_VFORK]),
		  thread(kinds[CLONESCOPE_AGG_KIND_THREAD]), failed(failed_),
		  restarted(restarted_), cow_pages(cow), total(summarize_log2(duration)),
		  wakeup(summarize_log2(wakeup_))
	{
		for (auto k : kinds)
			clones += k;
	}
	size_t other() const { return clones - fork - vfork - thread; }
};

// One interval: all clones, and the clones by command name.
struct Interval {
	std::vector<std::pair<std::string, Line>> by_comm;
	std::optional<Line> all;
	uint64_t lost = 0;
};

Interval from_records(const Correlation &corr)
{
	Interval iv;
	std::vector<const Sample *> samples;
	std::map<std::string, std::vector<const Sample *>> by_comm;
	for (const auto &s : corr.samples) {
		samples.push_back(&s);
		if (const auto *k = s.primary())
			by_comm[comm_of(k->comm)].push_back(&s);
	}
	iv.all.emplace(samples);
	for (const auto &[comm, v] : by_comm)
		iv.by_comm.emplace_back(comm, Line(v));
	iv.lost = corr.lost;
	return iv;
}

// @now - @before, counter by counter (both are sums since ENABLE).
template <typename T> T minus(const T &now, const T &before, size_t from)
{
	static_assert(sizeof(T) % 8 == 0);
	T out = now;
	auto *o = reinterpret_cast<uint64_t *>(reinterpret_cast<std::byte *>(&out) + from);
	const auto *b = reinterpret_cast<const uint64_t *>(
		reinterpret_cast<const std::byte *>(&before) + from);
	for (size_t i = 0; i < (sizeof(T) - from) / 8; i++)
		o[i] -= b[i];
	return out;
}

Interval from_aggregates(const Aggregate &now, const Aggregate &before)
{
	const auto t = minus(now.totals, before.totals, offsetof(clonescope_aggregate, clones));
	__u64 kinds[CLONESCOPE_AGG_NR_KINDS] = {};
	uint64_t failed = 0, restarted = 0;
	std::vector<__u64> duration(CLONESCOPE_AGG_BUCKETS);
	for (size_t k = 0; k < CLONESCOPE_AGG_NR_KINDS; k++) {
		kinds[k] = t.kinds[k].duration_ns.count;
		failed += t.kinds[k].failed;
		restarted += t.kinds[k].restarted;
		for (size_t b = 0; b < CLONESCOPE_AGG_BUCKETS; b++)
			duration[b] += t.kinds[k].duration_ns.buckets[b];
	}
	Interval iv;
	iv.all.emplace(std::span<const __u64, CLONESCOPE_AGG_NR_KINDS>(kinds), failed, restarted,
		       duration, t.wakeup_ns.buckets, t.cow_copied.sum);

	std::map<std::string, const clonescope_agg_comm *> earlier;
	for (const auto &c : before.comms)
		earlier[comm_of(c.comm)] = &c;
	for (const auto &c : now.comms) {
		const auto name = comm_of(c.comm);
		const auto it = earlier.find(name);
		const auto d = it == earlier.end()
				       ? c
				       : minus(c, *it->second, offsetof(clonescope_agg_comm, failed));
		if (d.duration_ns.count || d.wakeup_ns.count || d.cow_copied)
			iv.by_comm.emplace_back(name, Line(d.kinds, d.failed, d.restarted,
							   d.duration_ns.buckets, d.wakeup_ns.buckets,
							   d.cow_copied));
	}
	return iv;
}

constexpr const char *kColumns =
	"{:>8} {:>6} {:>6} {:>6} {:>6} {:>5} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7}";

std::string header()
{
	return fmt::format(kColumns, "CLONES/s", "FORK", "VFORK", "THREAD", "OTHER", "FAIL", "RSTRT",
			   "p50",
			   "p99", "max", "WAKEp50", "COWpg");
}

// COW pages print as "-" when the COW probes are not armed: unknown, not 0.
std::string columns(const Line &l, double seconds, bool cow_armed)
{
	return fmt::format(kColumns, fmt::format("{:.1f}", static_cast<double>(l.clones) / seconds),
			   l.fork, l.vfork, l.thread, l.other(), l.failed, l.restarted,
			   pct(l.total, &Summary::p50),
			   pct(l.total, &Summary::p99), pct(l.total, &Summary::max),
			   pct(l.wakeup, &Summary::p50),
			   cow_armed ? fmt::format("{}", l.cow_pages) : std::string("-"));
}

// Sleeps @ns, less if @stop is set meanwhile.
void nap(uint64_t ns, const std::atomic<bool> &stop)
{
	const uint64_t deadline = monotonic_ns() + ns;
	for (uint64_t now = monotonic_ns(); now < deadline && !stop; now = monotonic_ns()) {
		const uint64_t left = std::min<uint64_t>(deadline - now, 100'000'000);
		timespec ts{0, static_cast<long>(left)};
		nanosleep(&ts, nullptr);
	}
}

// Runs @show for each interval until count or a signal: from the module's
// aggregates where it keeps them, else from the records.
int live_loop(const LiveOptions &opts, const std::function<void(const Interval &, double)> &show)
{
	auto session = LiveSession::start(opts.device, opts.filter, opts.in_kernel);
	if (!session) {
		fmt::print(stderr, "clonescope: {}\n", session.error().message);
		return 1;
	}
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);

	const auto interval_ns = static_cast<uint64_t>(opts.interval_s * 1e9);
	Aggregate before;
	for (uint64_t n = 0; !g_exiting && (opts.count == 0 || n < opts.count); n++) {
		const uint64_t start = monotonic_ns();
		Interval iv;
		if (session->aggregating()) {
			nap(interval_ns, g_exiting);
			auto now = session->aggregate();
			if (!now) {
				fmt::print(stderr, "clonescope: {}\n", now.error().message);
				return 1;
			}
			iv = from_aggregates(*now, before);
			before = std::move(*now);
		} else {
			auto window = session->collect(interval_ns, g_exiting);
			if (!window) {
				fmt::print(stderr, "clonescope: {}\n", window.error().message);
				return 1;
			}
			iv = from_records(correlate(*window));
		}
		if (g_exiting)
			break;
		show(iv, static_cast<double>(monotonic_ns() - start) / 1e9);
		std::fflush(stdout);
	}
	return 0;
}

} // namespace

int run_stat(const LiveOptions &opts)
{
	fmt::print("{:<8} {} {:>5}\n", "TIME", header(), "LOST");
	const bool cow = opts.filter.probe_groups & CLONESCOPE_PROBES_COW;
	return live_loop(opts, [cow](const Interval &iv, double seconds) {
		fmt::print("{:<8} {} {:>5}\n", clock_time(), columns(*iv.all, seconds, cow), iv.lost);
	});
}

int run_top(const LiveOptions &opts)
{
	const bool tty = isatty(STDOUT_FILENO);
	const bool cow = opts.filter.probe_groups & CLONESCOPE_PROBES_COW;
	return live_loop(opts, [&opts, tty, cow](const Interval &iv, double seconds) {
		auto rows = iv.by_comm;
		std::stable_sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
			return a.second.clones > b.second.clones;
		});
		if (tty)
			fmt::print("\033[H\033[2J"); // redraw in place
		fmt::print("clonescope top - {}   {:.1f} clones/s   lost {}\n\n", clock_time(),
			   static_cast<double>(iv.all->clones) / seconds, iv.lost);
		fmt::print("{:<16} {}\n", "COMM", header());
		for (size_t i = 0; i < rows.size() && i < opts.rows; i++)
			fmt::print("{:<16} {}\n", rows[i].first, columns(rows[i].second, seconds, cow));
		if (!tty)
			fmt::print("\n");
	});
}

} // namespace clonescope
