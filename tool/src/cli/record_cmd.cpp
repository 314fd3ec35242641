#include "cli/record_cmd.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <fmt/format.h>
#include <optional>
#include <thread>

#include "cli/fail.hpp"
#include "device/device.hpp"
#include "record/child.hpp"
#include "output/output.hpp"
#include "report/event_line.hpp"
#include "symbol/symbolizer.hpp"
#include "trace/process_tree.hpp"
#include "trace/trace_file.hpp"
#include "user_trace.h"
#include "util/clock.hpp"

namespace clonescope {

namespace {

constexpr std::chrono::milliseconds kReadBatchDelay{10};

namespace fs = std::filesystem;
using json = nlohmann::json;

std::atomic<int> g_stop_requests{0};
std::atomic<pid_t> g_child{0};

// SIGINT/SIGTERM: the first is passed on to the command (unless the
// terminal already sent it to the whole foreground group) and recording
// goes on until the command exits; the second kills the command.
void on_signal(int sig, siginfo_t *info, void *)
{
	const int n = ++g_stop_requests;
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
		sigaction(SIGINT, &old_int_, nullptr);
		sigaction(SIGTERM, &old_term_, nullptr);
		g_child = 0;
	}
	SignalGuard(const SignalGuard &) = delete;
	SignalGuard &operator=(const SignalGuard &) = delete;

private:
	struct sigaction old_int_ = {}, old_term_ = {};
};

// A private directory for the shim's per-process files, removed at the end.
class TempDir {
public:
	static Result<TempDir> create()
	{
		std::string tmpl = (fs::temp_directory_path() / "clonescope-user.XXXXXX").string();
		if (!mkdtemp(tmpl.data()))
			return errno_error("cannot create a directory for user-side traces", errno);
		// Traced programs may change uid: let anyone add files, as /tmp does.
		chmod(tmpl.c_str(), 01777);
		return TempDir(tmpl);
	}
	TempDir(TempDir &&o) noexcept : path_(std::exchange(o.path_, {})) {}
	TempDir &operator=(TempDir &&) = delete;
	~TempDir()
	{
		if (!path_.empty()) {
			std::error_code ec;
			fs::remove_all(path_, ec);
		}
	}
	const std::string &path() const { return path_; }

private:
	explicit TempDir(std::string p) : path_(std::move(p)) {}
	std::string path_;
};

std::string default_preload_path()
{
	std::error_code ec;
	fs::path exe = fs::read_symlink("/proc/self/exe", ec);
	if (ec)
		return {};
	return (exe.parent_path() / "libclonescope-preload.so").string();
}

struct Session {
	const RecordOptions &opts;
	Device &dev;
	std::optional<TraceWriter> &writer;
	DecodedRecords records;
	uint64_t stream_bytes = 0;
	uint64_t t0 = 0;
	std::unique_ptr<Output> live = make_output(Format::Text, std::cout);

	// Reads until the device has nothing more, writing and printing what
	// it got.
	Status drain()
	{
		alignas(8) static std::byte buf[1 << 16];
		for (;;) {
			auto n = dev.read(buf);
			if (!n) {
				if (n.error().errnum == EAGAIN)
					return Ok{};
				return n.error();
			}
			if (*n == 0)
				return Ok{};
			std::span<const std::byte> chunk(buf, *n);
			if (writer) {
				if (auto st = writer->write_section(SectionType::KernelRecords, chunk); !st)
					return st;
			}
			const size_t first = records.records.size();
			if (auto st = decode_records_into(chunk, stream_bytes, records); !st)
				return st;
			stream_bytes += *n;
			if (!opts.quiet)
				print(first);
		}
	}

	void print(size_t first) const
	{
		const EventContext ctx{.t0_ns = t0};
		for (size_t i = first; i < records.records.size(); i++)
			live->event(Event{0, &records.records[i]}, ctx);
		std::cout.flush();
	}
};

// The shim's files, each parsed (so a broken one is reported and skipped)
// and kept verbatim for the trace file.
std::vector<std::vector<std::byte>> collect_user_streams(const std::string &dir, Trace &user)
{
	std::vector<fs::path> files;
	std::error_code ec;
	for (const auto &e : fs::directory_iterator(dir, ec))
		if (e.path().extension() == CS_USER_FILE_SUFFIX)
			files.push_back(e.path());
	std::sort(files.begin(), files.end());

	std::vector<std::vector<std::byte>> streams;
	for (const auto &f : files) {
		std::FILE *fp = std::fopen(f.c_str(), "rb");
		if (!fp)
			continue;
		std::vector<std::byte> bytes;
		std::byte chunk[8192];
		size_t n;
		while ((n = std::fread(chunk, 1, sizeof(chunk), fp)) > 0)
			bytes.insert(bytes.end(), chunk, chunk + n);
		std::fclose(fp);
		if (auto st = parse_user_stream(bytes, 0, user); !st) {
			fmt::print(stderr, "clonescope: skipping {}: {}\n", f.filename().string(),
				   st.error().message);
			continue;
		}
		streams.push_back(std::move(bytes));
	}
	return streams;
}

json stats_json(const clonescope_stats &s)
{
	return {{"produced", s.produced},	  {"delivered", s.delivered},
		{"dropped", s.dropped},		  {"inflight_overflow", s.inflight_overflow},
		{"handler_calls", s.handler_calls}, {"handler_ns", s.handler_ns},
		{"clones", s.clones},		  {"nr_cpus", s.nr_cpus},
		{"pages_per_cpu", s.pages_per_cpu}};
}

void print_summary(const DecodedRecords &records, const std::optional<clonescope_stats> &stats)
{
	fmt::print(stderr, "clonescope: {}\n", format_tally(tally_records(records)));
	if (stats) {
		fmt::print(stderr, "clonescope: module: produced {}, delivered {}, dropped {}, "
				   "in-flight overflow {}",
			   stats->produced, stats->delivered, stats->dropped,
			   stats->inflight_overflow);
		if (stats->clones)
			fmt::print(stderr, ", handler cost {} ns/clone",
				   stats->handler_ns / stats->clones);
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

} // namespace

int run_record(const RecordOptions &opts)
{
	auto dev = Device::open_checked(opts.device);
	if (!dev)
		return fail(dev.error());
	const AbiVersion &ver = dev->abi();
	if (opts.buffer_pages)
		if (auto st = dev->set_buffer_pages(opts.buffer_pages); !st)
			return fail(st.error());
	// Always set: another session may have left fewer groups armed.
	if (auto st = dev->set_probe_groups(opts.probe_groups, ver.features); !st)
		return fail(st.error());

	std::optional<TraceWriter> writer;
	if (!opts.output.empty()) {
		auto w = TraceWriter::create(opts.output);
		if (!w)
			return fail(w.error());
		writer.emplace(std::move(*w));
	}

	std::vector<std::string> env;
	std::optional<TempDir> user_dir;
	if (opts.preload) {
		std::string lib = opts.preload_path.empty() ? default_preload_path() : opts.preload_path;
		if (::access(lib.c_str(), R_OK) != 0) {
			if (!opts.preload_path.empty())
				return fail(errno_error("preload library " + lib, errno));
			fmt::print(stderr, "clonescope: {} not found: recording kernel events only\n",
				   lib);
		} else {
			auto d = TempDir::create();
			if (!d)
				return fail(d.error());
			user_dir.emplace(std::move(*d));
			const char *old = getenv("LD_PRELOAD");
			env.push_back(fmt::format("LD_PRELOAD={}{}{}", old ? old : "", old && *old ? ":" : "",
						  lib));
			env.push_back("CLONESCOPE_USER_TRACE=" + user_dir->path());
		}
	}

	SignalGuard signals;
	auto child = HeldChild::spawn(opts.command, env);
	if (!child)
		return fail(child.error());
	g_child = child->pid();

	clonescope_filter filter{};
	filter.flags = CLONESCOPE_FILTER_TREE;
	filter.nr_tgids = 1;
	filter.tgids[0] = static_cast<uint32_t>(child->pid());
	if (auto st = dev->set_filter(filter); !st)
		return fail(st.error());
	if (auto st = dev->enable(); !st)
		return fail(st.error());

	Session session{opts, *dev, writer, {}, 0, monotonic_ns()};
	const uint64_t start_ns = session.t0;
	if (auto st = child->release(); !st) {
		fmt::print(stderr, "clonescope: {}: {}\n", opts.command[0], st.error().message);
		(void)dev->disable();
		(void)child->wait();
		return st.error().errnum == ENOENT ? 127 : 126;
	}

	Status status = Ok{};
	for (;;) {
		pollfd fds[2] = {{dev->fd(), POLLIN, 0}, {child->pidfd(), POLLIN, 0}};
		int n = poll(fds, 2, 1000);
		if (n < 0 && errno != EINTR) {
			status = errno_error("poll", errno);
			break;
		}
		// A 1.0 module wakes us at the first record: let more arrive
		// before reading, so a fork-heavy command costs a wakeup per
		// batch, not per clone (the buffer holds hundreds of records per
		// CPU; we read 100 times a second at most).  A newer one wakes us
		// by a timer or at a half-full buffer: read at once.
		if (n > 0 && (fds[0].revents & POLLIN) && !(fds[1].revents & POLLIN) &&
		    !(ver.features & CLONESCOPE_FEAT_TIMED_WAKEUP))
			std::this_thread::sleep_for(kReadBatchDelay);
		if (status = session.drain(); !status)
			break;
		if (n > 0 && (fds[1].revents & POLLIN))
			break;
	}
	// The command has exited (or reading failed): stop, then drain until
	// read() says EOF so nothing buffered is lost.
	if (auto st = dev->disable(); !st && status)
		status = st;
	if (status)
		status = session.drain();
	auto exit_status = child->wait();
	g_child = 0;
	if (!status)
		fmt::print(stderr, "clonescope: {}\n", status.error().message);

	std::optional<clonescope_stats> stats;
	if (auto s = dev->stats())
		stats = *s;
	print_summary(session.records, stats);

	if (writer) {
		Trace user;
		std::vector<std::vector<std::byte>> streams;
		if (user_dir)
			streams = collect_user_streams(user_dir->path(), user);
		for (const auto &s : streams)
			if (auto st = writer->write_section(SectionType::UserRecords, s); !st)
				return fail(st.error());
		const std::string comm = fs::path(opts.command[0]).filename().string();
		json meta = {
			{"tool", "clonescope"},
			{"abi_major", ver.major},
			{"abi_minor", ver.minor},
			{"features", ver.features},
			{"probe_groups", opts.probe_groups},
			{"command", opts.command},
			{"root_pid", child->pid()},
			{"start_ns", start_ns},
			{"end_ns", monotonic_ns()},
			{"exit_status", exit_status ? *exit_status : -1},
			{"uname", uname_json()},
		};
		if (stats)
			meta["stats"] = stats_json(*stats);
		if (auto st = writer->write_meta(meta); !st)
			return fail(st.error());
		const auto tree = build_process_tree(static_cast<uint32_t>(child->pid()),
						     static_cast<uint32_t>(getpid()), comm, start_ns,
						     session.records);
		if (auto st = writer->write_processes(tree); !st)
			return fail(st.error());
		if (auto st = writer->write_symbols(symbolize_call_sites(user)); !st)
			return fail(st.error());
		fmt::print(stderr, "clonescope: wrote {}: {} kernel bytes, {} user calls from {} "
				   "process images\n",
			   writer->path(), session.stream_bytes, user.calls.size(),
			   user.images.size());
	}
	if (!exit_status)
		return fail(exit_status.error());
	return status ? *exit_status : 1;
}

} // namespace clonescope
