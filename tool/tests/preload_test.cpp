// Runs the known-call-site workload under the preload shim (no module
// needed) and checks what the shim wrote and what the symbolizer makes
// of it.

#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <algorithm>
#include <map>
#include <set>

#include "correlate/correlate.hpp"
#include "report/report.hpp"
#include "symbol/symbolizer.hpp"
#include "trace/trace_file.hpp"
#include "user_trace.h"

extern char **environ;

namespace clonescope {
namespace {

namespace fs = std::filesystem;

// Runs @program (by default the call-site workload) with @counts and
// environment @env; returns its shell-style exit status, -1 if it could
// not run.
int spawn_workload(const std::vector<std::string> &counts, std::vector<std::string> env,
		   const std::string &program = CLONESCOPE_CALLSITES)
{
	std::vector<std::string> args = {program};
	args.insert(args.end(), counts.begin(), counts.end());
	env.push_back("PATH=/usr/bin:/bin");
	std::vector<char *> argv, envp;
	for (auto &a : args)
		argv.push_back(a.data());
	argv.push_back(nullptr);
	for (auto &e : env)
		envp.push_back(e.data());
	envp.push_back(nullptr);
	pid_t pid;
	int status;
	if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0 ||
	    waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs the workload with @preload as LD_PRELOAD; returns its exit status
// and fills @trace from the files it left in a fresh directory.
int run_workload(const std::vector<std::string> &counts, Trace &trace, size_t &files,
		 const std::string &preload = CLONESCOPE_PRELOAD,
		 const std::string &program = CLONESCOPE_CALLSITES)
{
	fs::path dir = fs::temp_directory_path() / ("clonescope-preload-" + std::to_string(getpid()));
	fs::remove_all(dir);
	fs::create_directories(dir);
	const int status = spawn_workload(
		counts, {"LD_PRELOAD=" + preload, "CLONESCOPE_USER_TRACE=" + dir.string()},
		program);

	files = 0;
	for (const auto &e : fs::directory_iterator(dir)) {
		std::ifstream in(e.path(), std::ios::binary);
		std::vector<char> c((std::istreambuf_iterator<char>(in)), {});
		auto bytes = std::as_bytes(std::span(c));
		auto st = parse_user_stream(bytes, 0, trace);
		EXPECT_TRUE(st.ok()) << e.path() << ": " << st.error().message;
		files++;
	}
	fs::remove_all(dir);
	return status;
}

TEST(Preload, RecordsEveryCallWithItsSite)
{
	Trace trace;
	size_t files = 0;
	ASSERT_EQ(0, run_workload({"7", "5", "3", "2", "4", "2", "3"}, trace, files));
	// Every image leaves a file, but only the workload's has calls: its
	// children exec'd tools that call nothing the shim interposes.
	ASSERT_EQ(files, trace.images.size());
	std::set<uint32_t> images_with_calls;
	for (const auto &c : trace.calls)
		images_with_calls.insert(c.image);
	ASSERT_EQ(1u, images_with_calls.size());
	const UserImage &image = trace.images[*images_with_calls.begin()];
	EXPECT_EQ(fs::canonical(CLONESCOPE_CALLSITES).string(), image.exe);
	EXPECT_FALSE(image.maps.empty());
	// The kernel's name for the task: 15 characters of the program's.
	EXPECT_EQ("clonescope_call", image.comm);
	// The children that exec'd: popen and system run sh, spawn runs true.
	EXPECT_GE(files, 1u + 5 + 2 + 2);

	std::map<uint32_t, int> per_kind;
	std::map<uint32_t, std::set<uint64_t>> sites;
	for (const auto &c : trace.calls) {
		per_kind[c.kind]++;
		sites[c.kind].insert(c.call_site);
		EXPECT_LE(c.entry_ns, c.return_ns);
		EXPECT_EQ(0, c.err);
		if (c.kind == CS_KIND_FORK || c.kind == CS_KIND_VFORK ||
		    c.kind == CS_KIND_POSIX_SPAWNP || c.kind == CS_KIND_CLONE3) {
			EXPECT_GT(c.child, 0) << "kind " << c.kind;
		}
	}
	EXPECT_EQ(7, per_kind[CS_KIND_FORK]);
	EXPECT_EQ(5, per_kind[CS_KIND_POSIX_SPAWNP]);
	EXPECT_EQ(3, per_kind[CS_KIND_PTHREAD_CREATE]);
	EXPECT_EQ(2, per_kind[CS_KIND_SYSTEM]);
	EXPECT_EQ(4, per_kind[CS_KIND_VFORK]);
	EXPECT_EQ(2, per_kind[CS_KIND_POPEN]);
	EXPECT_EQ(3, per_kind[CS_KIND_CLONE3]);
	for (const auto &[kind, s] : sites)
		EXPECT_EQ(1u, s.size()) << "kind " << kind << " has one call site";

	// Each site resolves to the workload function that made the call.
	const std::map<uint32_t, std::string> expected = {
		{CS_KIND_FORK, "site_fork"},	    {CS_KIND_POSIX_SPAWNP, "site_spawn"},
		{CS_KIND_PTHREAD_CREATE, "site_thread"}, {CS_KIND_SYSTEM, "site_system"},
		{CS_KIND_VFORK, "site_vfork"},	    {CS_KIND_POPEN, "site_popen"},
		{CS_KIND_CLONE3, "site_clone3"}};
	auto symbols = symbolize_call_sites(trace);
	for (const auto &[kind, name] : expected) {
		const uint64_t site = *sites[kind].begin();
		auto it = std::find_if(symbols.begin(), symbols.end(),
				       [&](const SymbolInfo &s) { return s.address == site; });
		ASSERT_NE(symbols.end(), it);
		EXPECT_EQ(name, it->symbol);
		EXPECT_NE(std::string::npos, it->file.find("callsites.c")) << it->file;
		EXPECT_GT(it->line, 0);
	}
}

TEST(Preload, InactiveWithoutDirectory)
{
	// Without CLONESCOPE_USER_TRACE the shim only forwards.
	EXPECT_EQ(0, spawn_workload({"2", "1", "1", "1", "1", "1", "1"},
				    {"LD_PRELOAD=" CLONESCOPE_PRELOAD}));
}

const std::vector<std::string> no_calls = {"0", "0", "0", "0", "0", "0", "0"};

// The early caller's constructor runs before the shim's (listed after it)
// and calls syscall, pthread_create and fork: redis-server's jemalloc did
// that and the shim jumped through a NULL pointer.  The calls must work
// and, the trace directory being set, be recorded.
TEST(Preload, CallsBeforeTheShimsConstructor)
{
	Trace trace;
	size_t files = 0;
	ASSERT_EQ(0, run_workload(no_calls, trace, files,
				  CLONESCOPE_PRELOAD " " CLONESCOPE_EARLY_CALLER));
	std::map<uint32_t, int> per_kind;
	for (const auto &c : trace.calls)
		per_kind[c.kind]++;
	EXPECT_EQ(1, per_kind[CS_KIND_FORK]);
	EXPECT_EQ(1, per_kind[CS_KIND_PTHREAD_CREATE]);
	// The failed clone3 reached the kernel untouched: nothing to record.
	EXPECT_EQ(0, per_kind[CS_KIND_CLONE3]);
	EXPECT_EQ(2u, trace.calls.size());
}

// The same calls from a constructor that runs after the shim's, and with
// the shim inactive.
TEST(Preload, CallsFromOtherConstructors)
{
	Trace trace;
	size_t files = 0;
	ASSERT_EQ(0, run_workload(no_calls, trace, files,
				  CLONESCOPE_EARLY_CALLER " " CLONESCOPE_PRELOAD));
	EXPECT_EQ(2u, trace.calls.size());
	EXPECT_EQ(0, spawn_workload(no_calls, {"LD_PRELOAD=" CLONESCOPE_PRELOAD
					       " " CLONESCOPE_EARLY_CALLER}));
}

// The site groups of the unrolled workload's report under @grouping:
// key -> (count, number of return addresses).
using CountAndAddresses = std::pair<size_t, size_t>;

std::map<std::string, CountAndAddresses> unrolled_sites(Trace &trace,
								 SiteGrouping grouping)
{
	const Report report = build_report(trace, correlate(trace), grouping);
	std::map<std::string, CountAndAddresses> out;
	for (const auto &g : report.by_site)
		out[g.key] = {g.count, g.addresses.size()};
	return out;
}

// A loop of five system() calls unrolled into five call instructions, and
// a fork helper inlined twice: one site per source line by default, one
// per function, one per instruction with --sites address.
TEST(Preload, SitesGroupedBySourceLine)
{
	Trace trace;
	size_t files = 0;
	ASSERT_EQ(0, run_workload({}, trace, files, CLONESCOPE_PRELOAD, CLONESCOPE_UNROLLED));
	trace.symbols = symbolize_call_sites(trace);
	std::set<uint64_t> addresses;
	for (const auto &c : trace.calls)
		addresses.insert(c.call_site);
	ASSERT_EQ(7u, trace.calls.size());
	ASSERT_EQ(7u, addresses.size()) << "the compiler did not unroll and inline as expected";

	auto by_line = unrolled_sites(trace, SiteGrouping::line);
	ASSERT_EQ(2u, by_line.size());
	const std::string module = " [clonescope_unrolled]";
	const auto systems = by_line.find("unrolled_systems (unrolled.c:32)" + module);
	ASSERT_NE(by_line.end(), systems) << by_line.begin()->first;
	EXPECT_EQ(CountAndAddresses(5, 5), systems->second);
	const auto forks = by_line.find("inlined_forks (unrolled.c:18)" + module);
	ASSERT_NE(by_line.end(), forks);
	EXPECT_EQ(CountAndAddresses(2, 2), forks->second);

	auto by_function = unrolled_sites(trace, SiteGrouping::function);
	EXPECT_EQ(2u, by_function.size());
	EXPECT_EQ(5u, by_function["unrolled_systems" + module].first);
	EXPECT_EQ(2u, by_function["inlined_forks" + module].first);

	auto by_address = unrolled_sites(trace, SiteGrouping::address);
	EXPECT_EQ(7u, by_address.size());
	for (const auto &[key, counts] : by_address)
		EXPECT_EQ(CountAndAddresses(1, 1), counts) << key;
}

} // namespace
} // namespace clonescope
