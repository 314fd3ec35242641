#include "cli/stat_cmd.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <fmt/format.h>
#include <functional>
#include <iostream>
#include <map>
#include <span>
#include <time.h>

#include "cli/fail.hpp"
#include "correlate/correlate.hpp"
#include "record/child.hpp"
#include "record/shim.hpp"
#include "report/interval.hpp"
#include "report/site_interval.hpp"
#include "trace/names.hpp"
#include "trace/process_tree.hpp"
#include "util/clock.hpp"
#include "util/stop_wait.hpp"

namespace clonescope {

namespace {

std::atomic<bool> g_exiting{false};

void on_signal(int)
{
	g_exiting = true;
}

std::string clock_time()
{
	char now[16];
	const time_t t = time(nullptr);
	tm local;
	strftime(now, sizeof(now), "%H:%M:%S", localtime_r(&t, &local));
	return now;
}

// One interval: all clones, and the clones by command name, by kind and
// (top --by site) by call site.
struct Interval {
	std::vector<std::pair<std::string, IntervalStats>> by_comm, by_kind, by_site;
	IntervalStats all;
	uint64_t lost = 0;
};

Interval from_records(const Correlation &corr)
{
	Interval iv;
	std::vector<const Sample *> samples;
	std::map<std::string, std::vector<const Sample *>> by_comm, by_kind;
	for (const auto &s : corr.samples) {
		samples.push_back(&s);
		by_kind[s.kind].push_back(&s);
		if (const auto *k = s.primary())
			by_comm[comm_of(k->comm)].push_back(&s);
	}
	iv.all = interval_stats(samples);
	for (const auto &[comm, v] : by_comm)
		iv.by_comm.emplace_back(comm, interval_stats(v));
	for (const auto &[kind, v] : by_kind)
		iv.by_kind.emplace_back(kind, interval_stats(v));
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
	iv.all = interval_stats(std::span<const __u64, CLONESCOPE_AGG_NR_KINDS>(kinds), failed,
				restarted, duration, t.wakeup_ns.buckets, t.cow_copied.sum);
	// The module keeps no wake-up latency or COW pages by kind: unknown,
	// not 0.
	for (size_t k = 0; k < CLONESCOPE_AGG_NR_KINDS; k++) {
		if (!kinds[k])
			continue;
		__u64 only[CLONESCOPE_AGG_NR_KINDS] = {};
		only[k] = kinds[k];
		auto stats = interval_stats(std::span<const __u64, CLONESCOPE_AGG_NR_KINDS>(only),
					    t.kinds[k].failed, t.kinds[k].restarted,
					    t.kinds[k].duration_ns.buckets, {}, 0);
		stats.cow_pages.reset();
		iv.by_kind.emplace_back(agg_kind_name(static_cast<uint32_t>(k)), stats);
	}

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
			iv.by_comm.emplace_back(name, interval_stats(d.kinds, d.failed, d.restarted,
								     d.duration_ns.buckets,
								     d.wakeup_ns.buckets, d.cow_copied));
	}
	return iv;
}

// Sleeps @ns, less if @stop is set meanwhile: in one sleep, which the
// signal that sets @stop interrupts, so an interval costs one wakeup, not
// one per slice.
void nap(uint64_t ns, const std::atomic<bool> &stop)
{
	(void)wait_until_stopped({}, monotonic_ns() + ns, stop);
}

// What one interval gathered, for @show.
struct Window {
	Interval iv;
	std::string clock;
	double seconds;
	bool partial; // cut short by a signal, or by the command's exit
};

// One interval's clones; @last: the traced command has exited, nothing more
// will come.
struct Gathered {
	Interval iv;
	bool last = false;
};
using Gather = std::function<Result<Gathered>(uint64_t interval_ns)>;

void stop_on_signals()
{
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
}

// Runs @show for each interval that @gather collects, until count, a
// signal or the last one. The interval a signal cuts short is shown too,
// as libbpf-tools print what they have on exit. COW pages are unknown,
// not 0, when the COW probes are not armed.
int run_intervals(const LiveOptions &opts, const Gather &gather,
		  const std::function<void(Window &)> &show)
{
	const bool cow_armed = opts.filter.probe_groups & CLONESCOPE_PROBES_COW;
	const auto interval_ns = static_cast<uint64_t>(opts.interval_s * 1e9);
	for (uint64_t n = 0; opts.count == 0 || n < opts.count; n++) {
		const uint64_t start = monotonic_ns();
		auto got = gather(interval_ns);
		if (!got)
			return fail(got.error());
		Interval &iv = got->iv;
		if (!cow_armed) {
			iv.all.cow_pages.reset();
			for (auto *rows : {&iv.by_comm, &iv.by_kind, &iv.by_site})
				for (auto &[name, stats] : *rows)
					stats.cow_pages.reset();
		}
		const uint64_t elapsed = monotonic_ns() - start;
		const bool partial = g_exiting || got->last;
		if (elapsed > 0) {
			Window w{std::move(iv), clock_time(), static_cast<double>(elapsed) / 1e9, partial};
			show(w);
			std::cout.flush();
		}
		if (partial)
			break;
	}
	return 0;
}

// stat and top of the whole system (or -p's tree): from the module's
// aggregates where it keeps them, else from the records.  @by_comm: @show
// reads the rows per command name (top), not only the totals (stat), which
// are all an interval then fetches.
int live_loop(const LiveOptions &opts, const std::function<void(Window &)> &show, bool by_comm)
{
	// Before tracing starts: a stop signal from then on is handled, not fatal.
	stop_on_signals();
	auto session = LiveSession::start(opts.device, opts.filter, opts.in_kernel);
	if (!session)
		return fail(session.error());
	Aggregate before;
	return run_intervals(
		opts,
		[&](uint64_t interval_ns) -> Result<Gathered> {
			if (!session->aggregating()) {
				auto window = session->collect(interval_ns, g_exiting);
				if (!window)
					return window.error();
				return Gathered{from_records(correlate(*window))};
			}
			nap(interval_ns, g_exiting);
			auto now = session->aggregate(by_comm);
			if (!now)
				return now.error();
			Gathered g{from_aggregates(*now, before)};
			before = std::move(*now);
			return g;
		},
		show);
}

// top --by site: opts.command under the shim, its tree's clone records
// joined to its calls interval by interval (report/site_interval.hpp).
int site_loop(const LiveOptions &opts, const std::function<void(Window &)> &show)
{
	auto shim = prepare_shim(opts.preload_path, true);
	if (!shim)
		return fail(shim.error());
	auto child = HeldChild::spawn(opts.command, (*shim)->env);
	if (!child)
		return fail(child.error());
	LiveFilter filter = opts.filter;
	filter.tree_of_pid = static_cast<uint32_t>(child->pid());
	auto session = LiveSession::start(opts.device, filter);
	if (!session)
		return fail(session.error());
	if (auto st = child->release(); !st) {
		fmt::print(stderr, "clonescope: {}: {}\n", opts.command[0], st.error().message);
		return st.error().errnum == ENOENT ? 127 : 126;
	}
	stop_on_signals();
	UserStreamFollower follower((*shim)->dir.path());
	SiteJoin join;
	bool exited = false;
	const int rc = run_intervals(
		opts,
		[&](uint64_t interval_ns) -> Result<Gathered> {
			auto window = session->collect(interval_ns, g_exiting, child->pidfd());
			if (!window)
				return window.error();
			exited = child->exits_within(std::chrono::milliseconds(0));
			const bool last = exited || g_exiting;
			// The calls first, then their clone records (committed
			// before the calls returned).
			follower.update(join.user(), last);
			auto rest = session->collect(0, g_exiting);
			if (!rest)
				return rest.error();
			window->kernel.append(rest->kernel);
			SiteInterval sites = join.next(window->kernel, last);
			Gathered g{{}, last};
			g.iv.all = sites.all;
			g.iv.by_site = std::move(sites.rows);
			g.iv.lost = sites.lost;
			return g;
		},
		show);
	if (rc != 0 || !exited)
		return rc; // the command, if still running, is killed with its HeldChild
	auto status = child->wait();
	if (!status)
		return fail(status.error());
	return *status;
}

} // namespace

int run_stat(const LiveOptions &opts)
{
	auto out = make_output(opts.format, std::cout);
	return live_loop(
		opts,
		[&out](Window &w) {
			out->interval(IntervalView{w.clock, w.seconds, w.iv.all, w.iv.lost, w.partial});
		},
		false);
}

Status check_top_options(const LiveOptions &opts)
{
	if (opts.top_by != TopGrouping::site) {
		if (!opts.command.empty())
			return Error{"a command (after --) is only for --by site"};
		return Ok{};
	}
	if (opts.command.empty())
		return Error{"--by site needs a command to run under the user-side shim: "
			     "clonescope top --by site [INTERVAL [COUNT]] -- COMMAND [ARGS...] "
			     "(call sites of running processes: record -p, then report)"};
	if (opts.filter.tree_of_pid)
		return Error{"--by site traces the command's tree: -p does not go with it"};
	return Ok{};
}

int run_top(const LiveOptions &opts)
{
	if (auto st = check_top_options(opts); !st)
		return fail(st.error());
	auto out = make_output(opts.format, std::cout, {.redraw = isatty(STDOUT_FILENO) != 0});
	auto show = [&opts, &out](Window &w) {
		auto &rows = opts.top_by == TopGrouping::kind   ? w.iv.by_kind
			     : opts.top_by == TopGrouping::site ? w.iv.by_site
								: w.iv.by_comm;
		TopView view{w.clock, w.seconds, w.iv.all.clones, w.iv.lost, w.partial, std::move(rows),
			     opts.top_by};
		std::stable_sort(view.rows.begin(), view.rows.end(), [](const auto &a, const auto &b) {
			return a.second.clones > b.second.clones;
		});
		if (view.rows.size() > opts.rows)
			view.rows.resize(opts.rows);
		out->top(view);
	};
	return opts.top_by == TopGrouping::site ? site_loop(opts, show)
						: live_loop(opts, show, opts.top_by == TopGrouping::comm);
}

} // namespace clonescope
