#include "cli/stat_cmd.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <fmt/format.h>
#include <functional>
#include <map>

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

// What one line of stat or top says about a set of samples.
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
	size_t other() const { return clones - fork - vfork - thread; }
};

constexpr const char *kColumns =
	"{:>8} {:>6} {:>6} {:>6} {:>6} {:>5} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7}";

std::string header()
{
	return fmt::format(kColumns, "CLONES/s", "FORK", "VFORK", "THREAD", "OTHER", "FAIL", "RSTRT",
			   "p50",
			   "p99", "max", "WAKEp50", "COWpg");
}

std::string columns(const Line &l, double seconds)
{
	return fmt::format(kColumns, fmt::format("{:.1f}", static_cast<double>(l.clones) / seconds),
			   l.fork, l.vfork, l.thread, l.other(), l.failed, l.restarted,
			   pct(l.total, &Summary::p50),
			   pct(l.total, &Summary::p99), pct(l.total, &Summary::max),
			   pct(l.wakeup, &Summary::p50), l.cow_pages);
}

std::vector<const Sample *> all(const Correlation &corr)
{
	std::vector<const Sample *> v;
	for (const auto &s : corr.samples)
		v.push_back(&s);
	return v;
}

// Runs @show for each interval's correlated records until count or a signal.
int live_loop(const LiveOptions &opts, const std::function<void(const Correlation &, double)> &show)
{
	auto session = LiveSession::start(opts.device, opts.filter);
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
	for (uint64_t n = 0; !g_exiting && (opts.count == 0 || n < opts.count); n++) {
		const uint64_t start = monotonic_ns();
		auto window = session->collect(interval_ns, g_exiting);
		if (!window) {
			fmt::print(stderr, "clonescope: {}\n", window.error().message);
			return 1;
		}
		if (g_exiting)
			break;
		show(correlate(*window), static_cast<double>(monotonic_ns() - start) / 1e9);
		std::fflush(stdout);
	}
	return 0;
}

} // namespace

int run_stat(const LiveOptions &opts)
{
	fmt::print("{:<8} {} {:>5}\n", "TIME", header(), "LOST");
	return live_loop(opts, [](const Correlation &corr, double seconds) {
		fmt::print("{:<8} {} {:>5}\n", clock_time(), columns(Line(all(corr)), seconds),
			   corr.lost);
	});
}

int run_top(const LiveOptions &opts)
{
	const bool tty = isatty(STDOUT_FILENO);
	return live_loop(opts, [&opts, tty](const Correlation &corr, double seconds) {
		std::map<std::string, std::vector<const Sample *>> by_comm;
		for (const auto &s : corr.samples)
			if (const auto *k = s.primary())
				by_comm[comm_of(k->comm)].push_back(&s);
		std::vector<std::pair<std::string, Line>> rows;
		for (const auto &[comm, samples] : by_comm)
			rows.emplace_back(comm, Line(samples));
		std::stable_sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
			return a.second.clones > b.second.clones;
		});
		if (tty)
			fmt::print("\033[H\033[2J"); // redraw in place
		fmt::print("clonescope top - {}   {:.1f} clones/s   lost {}\n\n", clock_time(),
			   static_cast<double>(corr.samples.size()) / seconds, corr.lost);
		fmt::print("{:<16} {}\n", "COMM", header());
		for (size_t i = 0; i < rows.size() && i < opts.rows; i++)
			fmt::print("{:<16} {}\n", rows[i].first, columns(rows[i].second, seconds));
		if (!tty)
			fmt::print("\n");
	});
}

} // namespace clonescope
