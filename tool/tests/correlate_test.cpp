#include <gtest/gtest.h>
#include <linux/sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "correlate/correlate.hpp"
#include "fixture_data.hpp"
#include "test_util.hpp"
#include "user_trace.h"

namespace clonescope {
namespace {

using namespace fixtures;
using testing::fixture_trace;

const Sample *find_user(const Correlation &c, uint32_t kind, int64_t child)
{
	for (const auto &s : c.samples)
		if (s.user && s.user->kind == kind && s.user->child == child)
			return &s;
	return nullptr;
}

TEST(Correlate, CountsBothWays)
{
	const Trace t = fixture_trace();
	const Correlation c = correlate(t);
	EXPECT_EQ(5u, c.user_calls);
	EXPECT_EQ(4u, c.user_matched); // the fork of pid 5009 has no kernel record
	EXPECT_EQ(5u, c.kernel_clones);
	EXPECT_EQ(4u, c.kernel_matched); // the raw clone has no libc call
	EXPECT_EQ(3u, c.child_starts);
	EXPECT_EQ(7u, c.lost);
	EXPECT_EQ(6u, c.samples.size());
}

TEST(Correlate, MatchesByTidWindowAndChild)
{
	const Trace t = fixture_trace();
	const Correlation c = correlate(t);

	const Sample *fork = find_user(c, CS_KIND_FORK, 5000);
	ASSERT_NE(nullptr, fork);
	ASSERT_EQ(1u, fork->kernel.size());
	EXPECT_EQ(5000u, fork->primary()->child_pid);
	EXPECT_EQ("fork", fork->kind);
	EXPECT_EQ("run_forks+0x20 (fixture.c:42) [fixture]", fork->site);
	// user - kernel, from the fixture's windows.
	const uint64_t user = fork->user->return_ns - fork->user->entry_ns;
	const uint64_t kernel = fork->primary()->end_ns - fork->primary()->start_ns;
	EXPECT_EQ(user, *fork->user_ns());
	EXPECT_EQ(user - kernel, *fork->overhead_ns());
	// Wake-up latency: first run - wake_up_new_task start.
	ASSERT_TRUE(fork->wakeup_ns);
	EXPECT_EQ(*fork->child_start_ns -
			  fork->primary()->phases[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK].start_ns,
		  *fork->wakeup_ns);

	// The second thread's pthread_create matches the clone made by that thread.
	auto thread = std::find_if(c.samples.begin(), c.samples.end(), [](const Sample &s) {
		return s.user && s.user->tid == kTid2;
	});
	ASSERT_NE(c.samples.end(), thread);
	ASSERT_EQ(1u, thread->kernel.size());
	EXPECT_EQ(kTid2, thread->primary()->parent_pid);
	EXPECT_EQ("thread", thread->kind);

	// The failed pthread_create owns the failed clone3 record.
	auto failed = std::find_if(c.samples.begin(), c.samples.end(),
				   [](const Sample &s) { return s.user && s.user->err; });
	ASSERT_NE(c.samples.end(), failed);
	ASSERT_EQ(1u, failed->kernel.size());
	EXPECT_EQ(-EINVAL, failed->primary()->result);
	EXPECT_EQ(EINVAL, failed->error());

	const Sample *lost = find_user(c, CS_KIND_FORK, 5009);
	ASSERT_NE(nullptr, lost);
	EXPECT_TRUE(lost->kernel.empty());
	EXPECT_FALSE(lost->kernel_ns());
	EXPECT_FALSE(lost->overhead_ns());

	const Sample &raw = c.samples.back();
	EXPECT_EQ(nullptr, raw.user);
	EXPECT_EQ("fork", raw.kind);
	// The shim ran in the process (its image is there, named as the
	// kernel names the task): the clone bypassed the shim.
	EXPECT_EQ("[no user call: shim bypassed (raw syscall or dlsym'd libc function)] fixture",
		  raw.site);
}

// A clone from a process where the shim never ran in the current image:
// no image file at all (static, setuid), or one of another program (the
// process exec'd one the shim could not load into).
TEST(Correlate, NoUserCallSaysWhetherTheShimRan)
{
	const std::string no_shim =
		"[no user call: no shim in the process (static, setuid or LD_PRELOAD removed)] fixture";
	Trace exec_d = fixture_trace();
	for (auto &im : exec_d.images)
		im.exe = "/usr/bin/sh";
	EXPECT_EQ(no_shim, correlate(exec_d).samples.back().site);
	// The comm at start-up decides when the shim wrote it: a program run
	// through a symlink has another name than its file.
	for (auto &im : exec_d.images)
		im.comm = "fixture";
	EXPECT_NE(no_shim, correlate(exec_d).samples.back().site);
	for (auto &im : exec_d.images)
		im.comm = "sh";
	EXPECT_EQ(no_shim, correlate(exec_d).samples.back().site);

	Trace none = fixture_trace();
	for (auto &im : none.images)
		im.pid += 100000;
	EXPECT_EQ(no_shim, correlate(none).samples.back().site);
}

// A thread that renamed itself (jemalloc's "jemalloc_bg_thd") lives in
// the image it was created in: its clones take the verdict of the record
// that created it, not the comm rule the leader needs.
TEST(Correlate, RenamedThreadInheritsTheShimVerdict)
{
	const uint64_t threads = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND;
	auto with_comm = [](clonescope_clone_event ev, const char *comm) {
		std::memcpy(ev.comm, comm, std::min(std::strlen(comm), sizeof(ev.comm) - 1));
		return ev;
	};
	Trace t;
	t.images.push_back({.pid = 100, .ppid = 1, .start_ns = 10, .exe = "/usr/bin/redis-check-rdb",
			    .maps = {}, .comm = "redis-server"});
	// The leader starts a thread bypassing the shim, which starts another
	// and forks under its new name.
	t.kernel.push_back(with_comm(
		clone_event(100, 100, threads, CLONESCOPE_SYSCALL_CLONE3, 100, 200, 101), "redis-server"));
	t.kernel.push_back(with_comm(
		clone_event(101, 100, threads, CLONESCOPE_SYSCALL_CLONE3, 300, 400, 102), "jemalloc_bg_thd"));
	t.kernel.push_back(with_comm(
		clone_event(102, 100, 0, CLONESCOPE_SYSCALL_CLONE, 500, 600, 200), "jemalloc_bg_thd"));
	const std::string bypassed = "[no user call: shim bypassed (raw syscall or dlsym'd libc function)] ";
	Correlation c = correlate(t);
	ASSERT_EQ(3u, c.samples.size());
	EXPECT_EQ(bypassed + "redis-server", c.samples[0].site);
	EXPECT_EQ(bypassed + "jemalloc_bg_thd", c.samples[1].site);
	EXPECT_EQ(bypassed + "jemalloc_bg_thd", c.samples[2].site);

	// The same without the leader's image: no shim, all the way down.
	t.images[0].comm = "sh";
	c = correlate(t);
	for (const auto &s : c.samples)
		EXPECT_EQ(0u, s.site.find("[no user call: no shim in the process")) << s.site;
}

TEST(Correlate, InnermostCallWinsAndChildPidBreaksTies)
{
	Trace t;
	t.images.push_back({});
	// An outer system() around an inner fork(), both on tid 10.
	t.calls.push_back({0, 10, 10, CS_KIND_SYSTEM, 0, 0, 1000, 9000, 0x1, 0});
	t.calls.push_back({0, 10, 10, CS_KIND_FORK, 0, 77, 2000, 5000, 0x2, 77});
	// Another thread's call over the same window must not match.
	t.calls.push_back({0, 10, 11, CS_KIND_FORK, 0, 78, 1500, 6000, 0x3, 78});
	auto ev = clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 3000, 4000, 77);
	t.kernel.push_back(ev);
	// Outside every window of tid 10: unmatched.
	t.kernel.push_back(clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 9500, 9600, 79));
	const Correlation c = correlate(t);
	EXPECT_TRUE(c.samples[0].kernel.empty());
	ASSERT_EQ(1u, c.samples[1].kernel.size());
	EXPECT_TRUE(c.samples[2].kernel.empty());
	EXPECT_EQ(1u, c.kernel_matched);
	EXPECT_EQ(1u, c.user_matched);

	// Two overlapping calls of one tid: the one naming the child wins
	// even though it is the longer one.
	Trace t2;
	t2.images.push_back({});
	t2.calls.push_back({0, 10, 10, CS_KIND_POSIX_SPAWN, 0, 0, 1000, 9000, 0x1, 77});
	t2.calls.push_back({0, 10, 10, CS_KIND_FORK, 0, 55, 2000, 5000, 0x2, 55});
	t2.kernel.push_back(ev);
	const Correlation c2 = correlate(t2);
	EXPECT_EQ(1u, c2.samples[0].kernel.size());
	EXPECT_TRUE(c2.samples[1].kernel.empty());
}

TEST(Correlate, ManySequentialCallsStayLinear)
{
	// 100k forks of one thread: each record must find its call without
	// scanning all the others (quadratic would take tens of seconds).
	constexpr size_t n = 100'000;
	Trace t;
	t.images.push_back({});
	for (size_t i = 0; i < n; i++) {
		const uint64_t base = 1'000'000 + i * 10'000;
		const auto child = static_cast<int64_t>(10'000 + i);
		t.calls.push_back({0, 10, 10, CS_KIND_FORK, 0, child, base, base + 5000, 0x1, child});
		t.kernel.push_back(
			clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, base + 1000, base + 4000, child));
	}
	const auto start = std::chrono::steady_clock::now();
	const Correlation c = correlate(t);
	const auto took = std::chrono::steady_clock::now() - start;
	EXPECT_EQ(n, c.user_matched);
	EXPECT_EQ(n, c.kernel_matched);
	for (size_t i = 0; i < n; i += 9973)
		EXPECT_EQ(static_cast<uint64_t>(c.samples[i].user->child),
			  c.samples[i].primary()->child_pid);
	EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(Correlate, KernelOnlyKinds)
{
	EXPECT_STREQ("thread", kernel_kind_name(clone_event(1, 1, CLONE_VM | CLONE_THREAD,
							    CLONESCOPE_SYSCALL_CLONE3, 0, 1, 2)));
	EXPECT_STREQ("vfork", kernel_kind_name(clone_event(1, 1, CLONE_VM | CLONE_VFORK,
							   CLONESCOPE_SYSCALL_VFORK, 0, 1, 2)));
	EXPECT_STREQ("clone3", kernel_kind_name(clone_event(1, 1, 0, CLONESCOPE_SYSCALL_CLONE3, 0,
							    1, 2)));
	EXPECT_STREQ("fork", kernel_kind_name(clone_event(1, 1, 0, CLONESCOPE_SYSCALL_FORK, 0, 1, 2)));
	EXPECT_STREQ("kernel", kernel_kind_name(clone_event(1, 1, 0, CLONESCOPE_SYSCALL_UNKNOWN, 0,
							    1, 2)));
}

TEST(Correlate, SiteNameWithoutSymbols)
{
	Trace t;
	t.images.push_back({1, 0, 0, "/bin/x", {{0x1000, 0x2000, 0x800, "/usr/lib/libfoo.so"}}});
	EXPECT_EQ("libfoo.so+0x900", site_name(t, 0, 0x1100));
	EXPECT_EQ("0x3000", site_name(t, 0, 0x3000));
}

} // namespace
} // namespace clonescope

namespace clonescope {
namespace {

clonescope_lifecycle_event lifecycle_of(const clonescope_clone_event &k, uint64_t fork_ns)
{
	clonescope_lifecycle_event l{};
	l.hdr.type = CLONESCOPE_RECORD_LIFECYCLE;
	l.hdr.size = sizeof(l);
	l.pid = k.child_pid;
	l.tgid = k.child_tgid;
	l.parent_tgid = k.parent_tgid;
	l.fork_ns = fork_ns;
	return l;
}

TEST(Correlate, LifecycleJoinsItsCloneOnly)
{
	Trace t = fixture_trace();
	const Correlation before = correlate(t);
	const Sample *fork = find_user(before, CS_KIND_FORK, 5000);
	ASSERT_NE(nullptr, fork);
	// A copy: the records below move the trace's.
	const clonescope_clone_event k = *fork->primary();
	// A recycled pid's record (forked after this clone) and another
	// parent's must not join; the one forked inside the clone does.
	auto later = lifecycle_of(k, k.end_ns + 1);
	later.exec_ns = later.fork_ns + 5;
	auto other = lifecycle_of(k, k.end_ns - 1);
	other.parent_tgid = k.parent_tgid + 1;
	auto mine = lifecycle_of(k, k.end_ns - 1);
	mine.exec_ns = mine.fork_ns + 200'000'000;
	mine.exit_ns = mine.exec_ns + 30'000'000;
	mine.reap_ns = mine.exit_ns + 500'000'000;
	const KernelRecords fixture = t.kernel;
	for (const auto &l : {later, other, mine})
		t.kernel.push_back(l);

	const Correlation c = correlate(t);
	EXPECT_EQ(1u, c.lifecycle_records);
	const Sample *s = find_user(c, CS_KIND_FORK, 5000);
	ASSERT_NE(nullptr, s);
	ASSERT_NE(nullptr, s->life);
	EXPECT_EQ(200'000'000u, *s->fork_to_exec_ns());
	EXPECT_EQ(230'000'000u, *s->lifetime_ns());
	EXPECT_EQ(500'000'000u, *s->zombie_ns());
	// A child that never exec'd nor was reaped: unavailable, never 0.
	t.kernel = fixture;
	mine.exec_ns = mine.reap_ns = 0;
	for (const auto &l : {later, other, mine})
		t.kernel.push_back(l);
	const Correlation c2 = correlate(t);
	const Sample *s2 = find_user(c2, CS_KIND_FORK, 5000);
	ASSERT_NE(nullptr, s2);
	EXPECT_FALSE(s2->fork_to_exec_ns());
	EXPECT_FALSE(s2->zombie_ns());
	EXPECT_EQ(230'000'000u, *s2->lifetime_ns());
}

} // namespace
} // namespace clonescope
