#include "cli/stat_cmd.hpp"

#include <poll.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <map>

#include "correlate/correlate.hpp"
#include "device/device.hpp"
#include "report/event_line.hpp"
#include "report/stats.hpp"
#include "util/clock.hpp"

namespace clonescope {

namespace {

std::atomic<bool> g_exiting{false};

void on_sigint(int)
{
	g_exiting = true;
}

std::string pct(const std::optional<Summary> &s, uint64_t Summary::*field)
{
	return s ? format_duration((*s).*field) : std::string("-");
}

void print_header()
{
	fmt::print("{:<8} {:>8} {:>6} {:>6} {:>6} {:>6} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7} {:>5}\n",
		   "TIME", "CLONES/s", "FORK", "VFORK", "THREAD", "OTHER", "FAIL", "p50", "p99",
		   "max", "WAKEp50", "COWpg", "LOST");
}

// One interval's records, summarized on one line.
void print_interval(const Trace &window, double seconds)
{
	const Correlation corr = correlate(window);
	std::map<std::string, size_t> kinds;
	size_t failed = 0;
	uint64_t cow = 0;
	std::vector<uint64_t> totals, wakeups;
	for (const auto &s : corr.samples) {
		kinds[s.kind]++;
		failed += s.failed();
		if (auto t = s.kernel_ns())
			totals.push_back(*t);
		if (s.wakeup_ns)
			wakeups.push_back(*s.wakeup_ns);
		cow += s.cow_pages().value_or(0);
	}
	const size_t other = corr.samples.size() - kinds["fork"] - kinds["vfork"] - kinds["thread"];
	const auto total = summarize(totals);
	const auto wake = summarize(wakeups);

	char now[16];
	const time_t t = time(nullptr);
	tm local;
	strftime(now, sizeof(now), "%H:%M:%S", localtime_r(&t, &local));
	fmt::print("{:<8} {:>8.1f} {:>6} {:>6} {:>6} {:>6} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7} {:>5}\n",
		   now, static_cast<double>(corr.samples.size()) / seconds, kinds["fork"],
		   kinds["vfork"], kinds["thread"], other, failed, pct(total, &Summary::p50),
		   pct(total, &Summary::p99), pct(total, &Summary::max), pct(wake, &Summary::p50),
		   cow, corr.lost);
	std::fflush(stdout);
}

int fail(const Error &e)
{
	fmt::print(stderr, "clonescope: {}\n", e.message);
	return 1;
}

} // namespace

int run_stat(const StatOptions &opts)
{
	auto dev = Device::open(opts.device.empty() ? kDevicePath : opts.device);
	if (!dev)
		return fail(dev.error());
	auto ver = dev->version();
	if (!ver)
		return fail(ver.error());
	if (auto st = check_abi(*ver); !st)
		return fail(st.error());

	clonescope_filter filter{};
	if (opts.tree_of_pid) {
		filter.flags |= CLONESCOPE_FILTER_TREE;
		filter.nr_tgids = 1;
		filter.tgids[0] = opts.tree_of_pid;
	}
	if (!opts.comm.empty()) {
		filter.flags |= CLONESCOPE_FILTER_COMM;
		std::strncpy(filter.comm, opts.comm.c_str(), sizeof(filter.comm) - 1);
	}
	if (auto st = dev->set_filter(filter); !st)
		return fail(st.error());

	struct sigaction sa = {};
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);

	if (auto st = dev->enable(); !st)
		return fail(st.error());
	print_header();

	alignas(8) static std::byte buf[1 << 16];
	const auto interval_ns = static_cast<uint64_t>(opts.interval_s * 1e9);
	for (uint64_t n = 0; !g_exiting && (opts.count == 0 || n < opts.count); n++) {
		Trace window;
		const uint64_t start = monotonic_ns(), deadline = start + interval_ns;
		for (uint64_t now = start; now < deadline && !g_exiting; now = monotonic_ns()) {
			pollfd pfd = {dev->fd(), POLLIN, 0};
			const auto wait_ms = static_cast<int>((deadline - now + 999'999) / 1'000'000);
			if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
				return fail(errno_error("poll", errno));
			for (;;) {
				auto got = dev->read(buf);
				if (!got && got.error().errnum == EAGAIN)
					break;
				if (!got)
					return fail(got.error());
				if (*got == 0)
					break;
				if (auto st = decode_records_into(std::span(buf, *got), 0, window.kernel); !st)
					return fail(st.error());
			}
		}
		if (g_exiting)
			break;
		print_interval(window, static_cast<double>(monotonic_ns() - start) / 1e9);
	}
	(void)dev->disable();
	return 0;
}

} // namespace clonescope
