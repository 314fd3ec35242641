#include "cli/record_cmd.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <fmt/format.h>
#include <optional>
#include <thread>

#include "cli/fail.hpp"
#include "device/device.hpp"
#include "record/child.hpp"
#include "record/shim.hpp"
#include "output/output.hpp"
#include "record/target.hpp"
#include "report/event_line.hpp"
#include "symbol/symbolizer.hpp"
#include "trace/process_tree.hpp"
#include "trace/trace_file.hpp"
#include "util/clock.hpp"
#include "util/cpu_time.hpp"

namespace clonescope {

namespace {

constexpr std::chrono::milliseconds kReadBatchDelay{10};
// How long a record may wait in the module's buffers before it wakes us
// (ABI 1.6): a recording is for reading afterwards (its live lines, without
// -q, come a second's worth at a time), so a wakeup a second is enough; a
// buffer filled past half still wakes us at once, and DISABLE hands over
// what is left.  An older module wakes us every 100 ms.
constexpr uint32_t kRecordWakeupMs = 1000;

namespace fs = std::filesystem;
using json = nlohmann::json;

// read()'s buffer: as large as the module's buffers together (from 64 KiB
// to 4 MiB), so that a wakeup (at a half-full buffer, or the timer) is
// drained by one read().
size_t read_buffer_bytes(const Device &dev)
{
	constexpr size_t kMin = size_t{64} << 10, kMax = size_t{4} << 20;
	const auto stats = dev.stats();
	if (!stats)
		return kMin;
	const size_t ring = size_t{stats->pages_per_cpu} * stats->nr_cpus *
			    static_cast<size_t>(sysconf(_SC_PAGESIZE));
	return std::clamp(ring, kMin, kMax);
}

std::atomic<int> g_stop_requests{0};
std::atomic<int> g_stop_signal{0}; // the first SIGINT/SIGTERM
std::atomic<pid_t> g_child{0};

// SIGINT/SIGTERM: the first is passed on to the command (unless the
// terminal already sent it to the whole foreground group) and recording
// goes on until the command exits; the second kills the command.  Without
// a command (attached), the first ends the recording.
void on_signal(int sig, siginfo_t *info, void *)
{
	const int n = ++g_stop_requests;
	int none = 0;
	g_stop_signal.compare_exchange_strong(none, sig);
	const pid_t child = g_child.load();
	if (child <= 0)
		return;
	if (n > 1)
		kill(child, SIGKILL);
	else if (info->si_code != SI_KERNEL)
		kill(child, sig);
}

class SignalGuard {
public:
	SignalGuard()
	{
		struct sigaction sa = {};
		sa.sa_sigaction = on_signal;
		sa.sa_flags = SA_SIGINFO; // no SA_RESTART: poll() returns EINTR
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int_);
		sigaction(SIGTERM, &sa, &old_term_);
	}
	~SignalGuard()
	{
		if (blocked_)
			sigprocmask(SIG_SETMASK, &wait_mask_, nullptr);
		sigaction(SIGINT, &old_int_, nullptr);
		sigaction(SIGTERM, &old_term_, nullptr);
		g_child = 0;
	}
	SignalGuard(const SignalGuard &) = delete;
	SignalGuard &operator=(const SignalGuard &) = delete;

	// Blocks the stop signals (after the command was forked: it must not
	// inherit the mask) and returns the mask for ppoll(), so that a signal
	// that comes between two polls wakes the next one instead of being
	// missed until its timeout.
	const sigset_t *block()
	{
		if (!blocked_) {
			sigset_t stop;
			sigemptyset(&stop);
			sigaddset(&stop, SIGINT);
			sigaddset(&stop, SIGTERM);
			sigprocmask(SIG_BLOCK, &stop, &wait_mask_);
			blocked_ = true;
		}
		return &wait_mask_;
	}

private:
	struct sigaction old_int_ = {}, old_term_ = {};
	sigset_t wait_mask_ = {};
	bool blocked_ = false;
};

struct Session {
	const RecordOptions &opts;
	Device &dev;
	std::optional<TraceWriter> &writer;
	uint64_t stream_bytes = 0;
	uint64_t t0 = 0;
	// Without a trace file nothing keeps the records to count at the end:
	// they are counted as they come.
	RecordTally unwritten = {};
	// A trace file that cannot be read back (a pipe, a device): the records
	// are kept to count at the end.
	std::optional<KernelRecords> kept = {};
	std::unique_ptr<Output> live = make_output(Format::Text, std::cout);
	// What read() fills: see read_buffer_bytes().  Zero-filled when made,
	// before the command runs, so its pages are not faulted in while it
	// does.
	std::vector<std::byte> buf = std::vector<std::byte>(read_buffer_bytes(dev));

	// Reads until the device has nothing more (@until_eof: until EOF,
	// after DISABLE).  While the command runs, each chunk costs only what
	// cannot wait for its end: writing it, printing it (not -q), and
	// counting (or keeping) it when there is no trace file to count it
	// from afterwards.
	Status drain(bool until_eof)
	{
		for (;;) {
			auto n = dev.read(buf);
			if (!n) {
				if (n.error().errnum == EAGAIN)
					return Ok{};
				return n.error();
			}
			if (*n == 0)
				return Ok{};
			std::span<const std::byte> chunk(buf.data(), *n);
			if (auto st = take(chunk); !st)
				return st;
			// A read that left room for the largest record found every
			// CPU's buffer empty: one more would only say EAGAIN.  What
			// was written since makes the next poll return at once.
			if (!until_eof && *n + CLONESCOPE_READ_MIN <= buf.size())
				return Ok{};
		}
	}

	// One chunk that read() returned, in @buf.
	Status take(std::span<const std::byte> chunk)
	{
		const uint64_t offset = stream_bytes;
		stream_bytes += chunk.size();
		if (writer) {
			if (auto st = writer->write_section(SectionType::KernelRecords, chunk); !st)
				return st;
			if (opts.quiet && !kept)
				return Ok{};
		}
		// Read where they lie, unless kept: the buffer is read into again.
		KernelRecords fresh;
		if (auto st = kept ? fresh.append_copy(chunk, offset)
				   : fresh.append(chunk, offset, nullptr);
		    !st)
			return st;
		if (!opts.quiet)
			print(fresh);
		if (kept)
			kept->append(fresh);
		else if (!writer)
			unwritten.add(fresh);
		return Ok{};
	}

	void print(const KernelRecords &fresh) const
	{
		const EventContext ctx{.t0_ns = t0};
		for (const auto r : fresh)
			live->event(Event{0, r}, ctx);
		std::cout.flush();
	}
};

json stats_json(const clonescope_stats &s)
{
	return {{"produced", s.produced},	  {"delivered", s.delivered},
		{"dropped", s.dropped},		  {"inflight_overflow", s.inflight_overflow},
		{"handler_calls", s.handler_calls}, {"handler_ns", s.handler_ns},
		{"clones", s.clones},		  {"nr_cpus", s.nr_cpus},
		{"pages_per_cpu", s.pages_per_cpu}, {"cost_sampled", s.cost_sampled != 0},
		{"timed_calls", s.timed_calls},	  {"timed_clones", s.timed_clones}};
}

void print_summary(const RecordTally &tally, const ReaderCost &cost,
		   const std::optional<clonescope_stats> &stats)
{
	fmt::print(stderr, "clonescope: {}; {}\n", format_tally(tally), format_reader_cost(cost));
	if (stats) {
		fmt::print(stderr, "clonescope: module: produced {}, delivered {}, dropped {}, "
				   "in-flight overflow {}",
			   stats->produced, stats->delivered, stats->dropped,
			   stats->inflight_overflow);
		if (stats->clones)
			fmt::print(stderr, ", handler cost {} ns/clone{}",
				   stats->handler_ns / stats->clones,
				   stats->cost_sampled ? " (estimated from a sample)" : "");
		fmt::print(stderr, "\n");
	}
}

json uname_json()
{
	utsname u;
	if (uname(&u) < 0)
		return nullptr;
	return {{"sysname", u.sysname}, {"release", u.release}, {"machine", u.machine}};
}

struct RecordEnd {
	Status status = Ok{};
	std::string reason; // why an attached recording stopped; empty for a command
};

// Reads until the command exits (@command_pidfd >= 0); else until a stop
// signal, @deadline_ns (0: none), or the exit of every attached process.
// @timed_wakeup: the module wakes readers by a timer, not per record.
RecordEnd record_until_done(Session &session, int command_pidfd,
			    const std::vector<AttachedProcess> &attached,
			    uint64_t deadline_ns, SignalGuard &signals, bool timed_wakeup)
{
	const sigset_t *wait_mask = signals.block();
	std::vector<pollfd> fds = {{session.dev.fd(), POLLIN, 0}, {command_pidfd, POLLIN, 0}};
	for (const auto &p : attached)
		fds.push_back({p.pidfd.get(), POLLIN, 0});
	size_t attached_alive = attached.size();
	for (;;) {
		// No timeout but the deadline: the module wakes us for records,
		// the pidfds for exits, and a stop signal interrupts the wait.
		timespec timeout = {};
		if (deadline_ns) {
			const uint64_t now = monotonic_ns();
			const uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
			timeout = {static_cast<time_t>(left / 1'000'000'000),
				   static_cast<long>(left % 1'000'000'000)};
		}
		const int n = ppoll(fds.data(), fds.size(), deadline_ns ? &timeout : nullptr,
				    wait_mask);
		if (n < 0 && errno != EINTR)
			return {errno_error("poll", errno), {}};
		const bool command_exited = n > 0 && (fds[1].revents & POLLIN);
		// A 1.0 module wakes us at the first record: let more arrive
		// before reading, so a fork-heavy command costs a wakeup per
		// batch, not per clone (the buffer holds hundreds of records per
		// CPU; we read 100 times a second at most).  A newer one wakes us
		// by a timer or at a half-full buffer: read at once.
		if (n > 0 && (fds[0].revents & POLLIN) && !command_exited && !timed_wakeup)
			std::this_thread::sleep_for(kReadBatchDelay);
		if (auto st = session.drain(false); !st)
			return {st, {}};
		if (command_exited)
			return {};
		for (size_t i = 2; n > 0 && i < fds.size(); i++) {
			if (fds[i].revents & POLLIN) {
				fds[i].fd = -1; // poll skips it from now on
				attached_alive--;
			}
		}
		if (command_pidfd >= 0)
			continue;
		if (const int sig = g_stop_signal.load())
			return {Ok{}, sigabbrev_np(sig) ? fmt::format("SIG{}", sigabbrev_np(sig)) : "signal"};
		if (!attached.empty() && attached_alive == 0)
			return {Ok{}, "every attached process has exited"};
		if (deadline_ns && monotonic_ns() >= deadline_ns)
			return {Ok{}, "duration reached"};
	}
}

} // namespace

std::string format_reader_cost(const ReaderCost &cost)
{
	std::string s = fmt::format("reader CPU {} while recording (user {}, sys {})",
				    format_duration(cost.recording.total_ns()),
				    format_duration(cost.recording.user_ns),
				    format_duration(cost.recording.system_ns));
	if (cost.records)
		s += fmt::format(", {} ns/record", cost.recording.total_ns() / cost.records);
	return s + fmt::format("; {} after", format_duration(cost.after.total_ns()));
}

Status check_record_options(const RecordOptions &opts)
{
	const TargetOptions &t = opts.target;
	if (!t.pids.empty() && t.system_wide)
		return Error{"-p and -a exclude each other (-a already traces every process)"};
	if (!t.pids.empty() && !opts.command.empty())
		return Error{"-p attaches to running processes: give -p or a command, not both"};
	if (opts.command.empty() && t.pids.empty() && !t.system_wide)
		return Error{"nothing to record: give a command (after --), -p PID or -a"};
	if (!t.children && t.pids.empty())
		return Error{"--no-children needs -p"};
	if (opts.duration_s > 0 && !opts.command.empty())
		return Error{"--duration is for -p and -a: with a command, recording ends when it "
			     "exits"};
	return Ok{};
}

int run_record(const RecordOptions &opts)
{
	if (auto st = check_record_options(opts); !st) {
		fmt::print(stderr, "clonescope: {}\n", st.error().message);
		return 2;
	}
	const bool has_command = !opts.command.empty();
	auto dev = Device::open_checked(opts.device);
	if (!dev)
		return fail(dev.error());
	const AbiVersion &ver = dev->abi();
	if (opts.buffer_pages)
		if (auto st = dev->set_buffer_pages(opts.buffer_pages); !st)
			return fail(st.error());
	// Always set: another session may have left fewer groups armed.
	if (auto st = dev->set_probe_groups(opts.probe_groups, ver.features, 0, kRecordWakeupMs);
	    !st)
		return fail(st.error());

	std::optional<TraceWriter> writer;
	if (!opts.output.empty()) {
		auto w = TraceWriter::create(opts.output);
		if (!w)
			return fail(w.error());
		writer.emplace(std::move(*w));
	}

	auto shim_or = opts.preload && has_command ? prepare_shim(opts.preload_path, false)
						   : Result<std::optional<Shim>>(std::nullopt);
	if (!shim_or)
		return fail(shim_or.error());
	const std::optional<Shim> &shim = *shim_or;

	SignalGuard signals;
	std::optional<HeldChild> child;
	if (has_command) {
		auto c = HeldChild::spawn(opts.command, shim ? shim->env : std::vector<std::string>{});
		if (!c)
			return fail(c.error());
		child.emplace(std::move(*c));
		g_child = child->pid();
	}
	auto target = resolve_target(opts.target, child ? std::optional(child->pid()) : std::nullopt);
	if (!target)
		return fail(target.error());
	if (!opts.target.pids.empty() || opts.target.system_wide)
		fmt::print(stderr, "clonescope: the user-side shim cannot be injected into running "
				   "processes: recording their kernel side only (reported as \"no user "
				   "call (attached)\")\n");

	if (auto st = dev->set_filter(target->filter); !st)
		return fail(st.error());
	// Before ENABLE: no record can be older than the recording's start.
	const uint64_t start_ns = monotonic_ns();
	if (auto st = dev->enable(); !st)
		return fail(st.error());

	Session session{opts, *dev, writer, 0, start_ns};
	if (writer && !writer->can_read_back())
		session.kept.emplace();
	if (child) {
		if (auto st = child->release(); !st) {
			fmt::print(stderr, "clonescope: {}: {}\n", opts.command[0], st.error().message);
			(void)dev->disable();
			(void)child->wait();
			return st.error().errnum == ENOENT ? 127 : 126;
		}
	}

	// The reader's cost from here: what it set up before (arming the
	// probes, starting the command) does not scale with the records; nor
	// does disarming them.
	const CpuTime cpu_at_start = self_cpu_time();
	// From now: arming the probes in ENABLE can take seconds (TCG).
	const uint64_t deadline_ns =
		opts.duration_s > 0 ? monotonic_ns() + static_cast<uint64_t>(opts.duration_s * 1e9)
				    : 0;
	auto [status, reason] = record_until_done(session, child ? child->pidfd() : -1,
						  target->attached, deadline_ns, signals,
						  ver.features & CLONESCOPE_FEAT_TIMED_WAKEUP);
	// Stop, then drain until read() says EOF so nothing buffered is lost.
	// Disarming the probes (as arming them) is not the reader's cost.
	const CpuTime cpu_at_disable = self_cpu_time();
	if (auto st = dev->disable(); !st && status)
		status = st;
	const CpuTime cpu_disabling = self_cpu_time() - cpu_at_disable;
	if (status)
		status = session.drain(true);
	const CpuTime cpu_recorded = self_cpu_time();
	std::optional<Result<int>> exit_status;
	if (child)
		exit_status = child->wait();
	g_child = 0;
	if (!status)
		fmt::print(stderr, "clonescope: {}\n", status.error().message);
	else if (!reason.empty())
		fmt::print(stderr, "clonescope: stopped: {}\n", reason);

	std::optional<clonescope_stats> stats;
	if (auto s = dev->stats())
		stats = *s;

	// Counted, and the process tree built, from the trace file (its
	// records read in place) now that the command has ended.
	RecordTally tally = session.unwritten;
	std::vector<ProcessInfo> processes;
	if (writer) {
		std::optional<Trace> written;
		if (!session.kept) {
			auto t = writer->read_back();
			if (!t)
				return fail(t.error());
			written = std::move(*t);
		}
		const KernelRecords &records = written ? written->kernel : *session.kept;
		tally = tally_records(records);
		std::vector<ProcessInfo> roots = target->roots(start_ns);
		if (child) {
			const auto root = static_cast<uint32_t>(child->pid());
			roots.push_back({root, root, static_cast<uint32_t>(getpid()),
					 fs::path(opts.command[0]).filename().string(), start_ns});
		}
		processes = build_process_tree(std::move(roots), records);
	}
	const ReaderCost cost{cpu_recorded - cpu_at_start - cpu_disabling, tally.records,
			      self_cpu_time() - cpu_recorded};
	print_summary(tally, cost, stats);

	if (writer) {
		Trace user;
		std::vector<std::vector<std::byte>> streams;
		if (shim)
			streams = collect_user_streams(shim->dir.path(), user);
		for (const auto &s : streams)
			if (auto st = writer->write_section(SectionType::UserRecords, s); !st)
				return fail(st.error());
		json meta = {
			{"tool", "clonescope"},
			{"abi_major", ver.major},
			{"abi_minor", ver.minor},
			{"features", ver.features},
			{"probe_groups", opts.probe_groups},
			{"target", target->to_json(opts.target)},
			{"start_ns", start_ns},
			{"end_ns", monotonic_ns()},
			{"uname", uname_json()},
		};
		if (child) {
			meta["command"] = opts.command;
			meta["root_pid"] = static_cast<uint32_t>(child->pid());
			meta["exit_status"] = *exit_status ? **exit_status : -1;
		}
		if (stats)
			meta["stats"] = stats_json(*stats);
		if (auto st = writer->write_meta(meta); !st)
			return fail(st.error());
		if (auto st = writer->write_processes(processes); !st)
			return fail(st.error());
		if (auto st = writer->write_symbols(symbolize_call_sites(user)); !st)
			return fail(st.error());
		fmt::print(stderr, "clonescope: wrote {}: {} kernel bytes, {} user calls from {} "
				   "process images\n",
			   writer->path(), session.stream_bytes, user.calls.size(),
			   user.images.size());
	}
	if (!child)
		return status ? 0 : 1;
	if (!*exit_status)
		return fail(exit_status->error());
	return status ? **exit_status : 1;
}

} // namespace clonescope
