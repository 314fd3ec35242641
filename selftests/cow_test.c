// SPDX-License-Identifier: GPL-2.0
/*
 * clonescope selftests of the copy-on-write records (issue 6): each fork
 * without CLONE_VM gets one CLONESCOPE_RECORD_COW when the child's memory
 * image goes away, counting the 4K pages the child and the parent copied
 * (or reused) meanwhile, zero-page copies apart, THP faults and hugetlb
 * copies.
 *
 * The tests write known numbers of distinct, already-populated pages of a
 * private anonymous region and compare the record against them.  The C
 * runtime and the stack add a few copies of their own (*_SLACK,
 * measured below); a count off by more than that fails.  Parent and child
 * always write disjoint pages: a page copied by one side is the other's
 * own afterwards, and its write would be a reuse.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#include "clonescope_harness.h"

extern char **environ;

/* The parent's big region: 16384 4K pages, populated before each fork. */
#define REGION_SIZE		(64UL << 20)
#define CHILD_PAGES		100
#define PARENT_PAGES		50
#define REUSE_PAGES		64

/*
 * Shared pages written besides those a test writes on purpose.  Each one
 * is copied, or reused when the other side copied it first, so the tests
 * bound copied + reused as well as copied.  Measured with runtime_slack (a
 * child that writes nothing and exits, the parent waiting) and the logged
 * counts of every test: 6 runs of this program (about 150 records) in TCG
 * guests on Debian 12's 6.1.0-56-amd64, glibc 2.36.
 *   fork_raw() child:    2 in every record: its stack page and its TCB
 *                        (the kernel's rseq update on its first return to
 *                        user space).  3 when its frames straddle a stack
 *                        page boundary (the stack top is randomized).
 *   glibc fork() child:  7 to 9: the same, plus glibc's child-side fork
 *                        work (lock resets, TCB tid) in libc's data, and
 *                        the GOT and ld.so data written by lazy binding of
 *                        _exit(), first called in the child.  (The pages
 *                        were told apart in the child's /proc/self/smaps.)
 *   parent:              0 to 6: its stack, the harness's metadata (each
 *                        ASSERT counts a step), TCB, libc's data (glibc
 *                        fork's parent side), the GOT and ld.so data (first
 *                        waitpid()), whichever it writes before the child
 *                        is gone.
 * Each bound is the worst seen plus that one stack page.  A count off by
 * more fails.
 */
#define CLONE_CHILD_SLACK	3
#define FORK_CHILD_SLACK	10
#define PARENT_SLACK		7

/*
 * The kernel's RSS counters are approximate: 6.1 caches up to 64 events
 * per thread before adding them to the mm (TASK_RSS_EVENTS_THRESH), later
 * kernels use per-CPU counters with a batch of 32 or more.  So two
 * readings of the same RSS may differ by this much.
 */
#define RSS_FUZZ_PAGES		128

#define THP_ENABLED		"/sys/kernel/mm/transparent_hugepage/enabled"
#define NR_HUGEPAGES		"/proc/sys/vm/nr_hugepages"

/*
 * Set once by the fixture, before any fork: a child calling sysconf()
 * itself could be its first call, and lazy binding would write pages.
 */
static size_t ps;

static size_t page_size(void)
{
	return ps;
}

FIXTURE(cow) {
	int fd;
	void *buf;
	ssize_t len;
	__u64 features;
	char *region;		/* munmap()ed at teardown */
	size_t region_size;
	long saved_nr_hugepages; /* restored at teardown when >= 0 */
};

FIXTURE_SETUP(cow)
{
	struct clonescope_version v;

	self->saved_nr_hugepages = -1;
	ps = sysconf(_SC_PAGESIZE);
	cs_setup(_metadata, &self->fd, &self->buf);
	ASSERT_EQ(0, cs_get_version(self->fd, &v));
	self->features = v.features;
}

FIXTURE_TEARDOWN(cow)
{
	if (self->region)
		munmap(self->region, self->region_size);
	if (self->saved_nr_hugepages >= 0)
		EXPECT_EQ(0, ct_write_long(NR_HUGEPAGES, self->saved_nr_hugepages));
	if (self->fd >= 0)
		close(self->fd);
	free(self->buf);
}

/* SKIPs the test when the module cannot count what it is about. */
#define REQUIRE_FEATURE(feat) do { \
	if (!(self->features & (feat))) \
		SKIP(return, "module without " #feat " on this kernel"); \
} while (0)

/*
 * Whether the module sees a write fault reuse its page: wp_page_reuse is
 * probed, or do_wp_page stands in for whichever part of it is inlined.
 * Where both are inlined into __handle_mm_fault (the tinyconfig debug
 * kernel of make check-debug) a reuse looks like any other write fault.
 */
static bool reuses_counted(int fd)
{
	return ct_probe_registered(fd, "wp_page_reuse") || ct_probe_registered(fd, "do_wp_page");
}

/* Whether the kernel has THP at all: PREEMPT_RT kernels do not. */
static bool thp_configured(void)
{
	return !access(THP_ENABLED, F_OK);
}

/*
 * Maps @size bytes of private anonymous memory in 4K pages (no THP, so no
 * huge zero page either) as self->region; @populate writes every page.
 */
static char *map_region(struct __test_metadata *_metadata,
			FIXTURE_DATA(cow) *self, size_t size, bool populate)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	self->region = p;
	self->region_size = size;
	/* A kernel without THP (PREEMPT_RT) has only 4K pages anyway. */
	if (thp_configured())
		ASSERT_EQ(0, madvise(p, size, MADV_NOHUGEPAGE));
	if (populate)
		memset(p, 0x5a, size);
	return p;
}

/* Most tests' start: a populated REGION_SIZE region, this process traced. */
static char *traced_region(struct __test_metadata *_metadata, FIXTURE_DATA(cow) *self)
{
	char *region = map_region(_metadata, self, REGION_SIZE, true);

	ASSERT_EQ(0, cs_trace_self(self->fd));
	return region;
}

/* Writes one byte in each of @n pages from page @first. */
static void write_pages(char *region, size_t first, size_t n)
{
	volatile char *p = region;
	size_t i;

	for (i = first; i < first + n; i++)
		p[i * ps] = (char)i;
}

/* Reads one byte of each of @n pages from page @first. */
static unsigned long read_pages(const char *region, size_t first, size_t n)
{
	const volatile char *p = region;
	unsigned long sum = 0;
	size_t i;

	for (i = first; i < first + n; i++)
		sum += p[i * ps];
	return sum;
}

/*
 * What children made by fork_raw() call: syscall() only, which their
 * parent has called already, so no lazy binding writes the GOT and ld.so's
 * data in the child; glibc's _exit() would be its first call.
 */
static void __attribute__((noreturn)) child_exit(int status)
{
	for (;;)
		syscall(SYS_exit_group, status);
}

/*
 * A child that stays alive until told to go: it writes its pages, says
 * so on @ready, then waits on @go; EOF (the parent gone) also releases it.
 */
struct gate {
	int ready[2];
	int go[2];
};

static void gate_open(struct __test_metadata *_metadata, struct gate *g)
{
	ASSERT_EQ(0, pipe2(g->ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(g->go, O_CLOEXEC));
}

/* Child side: never returns. */
static void gate_child(struct gate *g, char *region, size_t first, size_t n)
{
	char c = 0;

	syscall(SYS_close, g->ready[0]);
	syscall(SYS_close, g->go[1]);
	write_pages(region, first, n);
	if (syscall(SYS_write, g->ready[1], &c, 1) != 1)
		child_exit(1);
	if (syscall(SYS_read, g->go[0], &c, 1) < 0)
		child_exit(1);
	child_exit(0);
}

/* Parent side, after fork(): waits until the child wrote its pages. */
static void gate_wait_ready(struct __test_metadata *_metadata, struct gate *g)
{
	char c;

	close(g->ready[1]);
	close(g->go[0]);
	ASSERT_EQ(1, read(g->ready[0], &c, 1));
	close(g->ready[0]);
}

/* Lets the child exit and reaps it. */
static void gate_release(struct __test_metadata *_metadata, struct gate *g,
			 pid_t child)
{
	close(g->go[1]);
	cs_wait_exited(_metadata, child);
}

/*
 * fork() without glibc's child-side bookkeeping (locks reset, fork
 * handlers, TCB update), which writes several shared pages of its own: a
 * bare clone(SIGCHLD) whose child only touches its stack.  The child must
 * stick to plain memory writes and syscall(): see child_exit().
 */
static pid_t fork_raw(struct __test_metadata *_metadata)
{
	pid_t pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);

	/* Not in the child: an ASSERT writes the harness's metadata. */
	if (pid)
		ASSERT_LT(0, pid);
	return pid;
}

/* A child that writes @n pages from page @first and exits. */
static pid_t fork_writer(struct __test_metadata *_metadata, char *region,
			 size_t first, size_t n)
{
	pid_t pid = fork_raw(_metadata);

	if (!pid) {
		write_pages(region, first, n);
		child_exit(0);
	}
	return pid;
}

/*
 * Opens @g and forks a gate_child() writing @n pages from page @first;
 * returns once it wrote them.  With @held, the gate of a child still
 * waiting, which the new child must not hold open.
 */
static pid_t fork_gated_beside(struct __test_metadata *_metadata,
			       const struct gate *held, struct gate *g,
			       char *region, size_t first, size_t n)
{
	pid_t pid;

	gate_open(_metadata, g);
	pid = fork_raw(_metadata);
	if (!pid) {
		if (held)
			syscall(SYS_close, held->go[1]);
		gate_child(g, region, first, n);
	}
	gate_wait_ready(_metadata, g);
	return pid;
}

static pid_t fork_gated(struct __test_metadata *_metadata, struct gate *g,
			char *region, size_t first, size_t n)
{
	return fork_gated_beside(_metadata, NULL, g, region, first, n);
}

/* traced_region(), and a gated child that wrote its first CHILD_PAGES. */
static pid_t traced_gated_child(struct __test_metadata *_metadata, FIXTURE_DATA(cow) *self,
				struct gate *g, char **region)
{
	*region = traced_region(_metadata, self);
	return fork_gated(_metadata, g, *region, 0, CHILD_PAGES);
}

/*
 * Counts the COW records of @child (all of them for 0) in the drained
 * stream and points *@found at the first.  -EINVAL: malformed stream.
 */
static int find_cow(const void *buf, size_t len, pid_t child,
		    const struct clonescope_cow_event **found)
{
	const void *first;
	int ret = cs_find_pid(buf, len, CLONESCOPE_RECORD_COW, sizeof(**found),
			      offsetof(struct clonescope_cow_event, child_pid),
			      child ? child : CS_ANY_PID, &first);

	*found = first;
	return ret;
}

static void log_counts(struct __test_metadata *_metadata, const char *who,
		       const struct clonescope_cow_counts *c)
{
	TH_LOG("%s: copied %llu reused %llu zero_copied %llu copy_ns %llu thp %llu/%llu hugetlb %llu/%llu/%llu",
	       who, (unsigned long long)c->copied, (unsigned long long)c->reused,
	       (unsigned long long)c->zero_copied, (unsigned long long)c->copy_ns,
	       (unsigned long long)c->thp_faults, (unsigned long long)c->thp_fallback,
	       (unsigned long long)c->hugetlb_faults, (unsigned long long)c->hugetlb_copied,
	       (unsigned long long)c->hugetlb_bytes);
}

/*
 * The one COW record of @child in the drained stream, checked to belong to
 * the fork that made it: ids, @reason, and a clone record of the same
 * child (no CLONE_VM) whose clone call contains the record's fork_ns.
 */
static const struct clonescope_cow_event *
child_cow(struct __test_metadata *_metadata, FIXTURE_DATA(cow) *self,
	  pid_t child, __u32 reason)
{
	const struct clonescope_clone_event *clone;
	const struct clonescope_cow_event *cow;

	ASSERT_EQ(1, find_cow(self->buf, self->len, child, &cow));
	ASSERT_EQ(reason, cow->end_reason);
	ASSERT_EQ(child, cow->child_pid);
	ASSERT_EQ(child, cow->child_tgid);
	ASSERT_EQ(getpid(), cow->parent_pid);
	ASSERT_EQ(getpid(), cow->parent_tgid);

	ASSERT_EQ(1, cs_find_clone(self->buf, self->len, child, &clone));
	ASSERT_EQ(0, clone->clone_flags & CLONE_VM);
	ASSERT_LE(clone->start_ns, cow->fork_ns);
	ASSERT_GE(clone->end_ns, cow->fork_ns);
	ASSERT_LE(cow->fork_ns, cow->hdr.timestamp_ns);
	log_counts(_metadata, "child", &cow->child);
	log_counts(_metadata, "parent", &cow->parent);
	return cow;
}

/*
 * Traces a fork_raw() child that writes the one byte at @byte (of a
 * populated region) and exits; returns its COW record.
 */
static const struct clonescope_cow_event *
traced_byte_write(struct __test_metadata *_metadata, FIXTURE_DATA(cow) *self, char *byte)
{
	pid_t pid;

	ASSERT_EQ(0, cs_trace_self(self->fd));
	pid = fork_raw(_metadata);
	if (!pid) {
		*byte = 1;
		child_exit(0);
	}
	cs_wait_exited(_metadata, pid);
	cs_drain_all(_metadata, self);
	return child_cow(_metadata, self, pid, CLONESCOPE_COW_END_EXIT);
}

/*
 * /proc/self as text, read into a static buffer: no allocation, so no
 * new mapping between the reading and a fork.  Returns the length or -1.
 */
static char proc_buf[256 * 1024];

static ssize_t read_proc_self(const char *name)
{
	char path[64];
	ssize_t n, len = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((n = read(fd, proc_buf + len, sizeof(proc_buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	proc_buf[len] = '\0';
	return n < 0 ? -1 : len;
}

/* The mappings of mm->map_count: /proc/self/maps but the gate VMA. */
static long count_vmas(void)
{
	long lines = 0;
	char *p;

	if (read_proc_self("maps") < 0)
		return -1;
	for (p = proc_buf; (p = strchr(p, '\n')); p++)
		lines++;
	return lines - !!strstr(proc_buf, "[vsyscall]");
}

/* RssAnon of /proc/self/status, in pages. */
static long rss_anon_pages(void)
{
	const char *p;
	long kb;

	if (read_proc_self("status") < 0)
		return -1;
	p = strstr(proc_buf, "RssAnon:");
	if (!p || sscanf(p, "RssAnon: %ld kB", &kb) != 1)
		return -1;
	return kb * 1024 / page_size();
}

static bool in_range(unsigned long long val, unsigned long long lo,
		     unsigned long long hi)
{
	return lo <= val && val <= hi;
}

/* Asserts @lo <= @val <= @hi, naming @what. */
#define ASSERT_IN_RANGE(lo, hi, val, what) \
	ASSERT_TRUE(in_range((val), (lo), (hi))) \
		TH_LOG("%s = %llu, expected %llu..%llu", what, \
		       (unsigned long long)(val), (unsigned long long)(lo), \
		       (unsigned long long)(hi))

/*
 * One side wrote @n distinct pages it shared with the other: @n copies,
 * and at most @slack more pages written by the runtime, copied or reused.
 */
static void assert_copied(struct __test_metadata *_metadata,
			  const struct clonescope_cow_counts *c, const char *who,
			  size_t n, unsigned int slack)
{
	ASSERT_IN_RANGE(n, n + slack, c->copied, who);
	ASSERT_IN_RANGE(n, n + slack, c->copied + c->reused, who);
	/* Time is only counted with copies. */
	ASSERT_EQ(!!c->copied, !!c->copy_ns) TH_LOG("%s: copy_ns %llu",
						   who, (unsigned long long)c->copy_ns);
}

/*
 * The one COW record of @child, ended by @reason (see child_cow()): the
 * child copied @child_pages (@child_slack more at most), the parent
 * @parent_pages.  @who prefixes "child" and "parent" in the messages.
 */
static const struct clonescope_cow_event *
assert_cow(struct __test_metadata *_metadata, FIXTURE_DATA(cow) *self, pid_t child,
	   __u32 reason, const char *who, size_t child_pages,
	   unsigned int child_slack, size_t parent_pages)
{
	const struct clonescope_cow_event *cow;
	char child_who[32], parent_who[32];

	snprintf(child_who, sizeof(child_who), "%schild", who);
	snprintf(parent_who, sizeof(parent_who), "%sparent", who);
	cow = child_cow(_metadata, self, child, reason);
	assert_copied(_metadata, &cow->child, child_who, child_pages, child_slack);
	assert_copied(_metadata, &cow->parent, parent_who, parent_pages, PARENT_SLACK);
	return cow;
}

/* The parent wrote @n pages it shared with @child, which exited. */
static void assert_parent_copied(struct __test_metadata *_metadata,
				 FIXTURE_DATA(cow) *self, pid_t child,
				 const char *who, size_t n)
{
	const struct clonescope_cow_event *cow;

	cow = child_cow(_metadata, self, child, CLONESCOPE_COW_END_EXIT);
	assert_copied(_metadata, &cow->parent, who, n, PARENT_SLACK);
}

/*
 * Forks (vforks, with @use_vfork) a child that execs /bin/true (with
 * @exec) or exits at once, and reaps it: returns its pid.  The child
 * never returns from here, so vfork is safe.
 */
static pid_t spawn_reaped(struct __test_metadata *_metadata, bool use_vfork, bool exec)
{
	pid_t pid = use_vfork ? vfork() : fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		if (exec)
			execl("/bin/true", "true", (char *)NULL);
		_exit(exec ? 127 : 0);
	}
	cs_wait_exited(_metadata, pid);
	return pid;
}

/*
 * The slack itself: a child that writes nothing and exits, made with
 * fork_raw() and with glibc's fork().  Whatever is counted is the C
 * runtime's own doing; the logged counts are where the *_SLACK come from.
 */
TEST_F(cow, runtime_slack)
{
	const struct clonescope_cow_event *cow;
	long rss, vmas;
	pid_t raw, libc;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	traced_region(_metadata, self);
	rss = rss_anon_pages();
	ASSERT_LT(0, rss);
	vmas = count_vmas();
	ASSERT_LT(0, vmas);
	raw = fork_raw(_metadata);
	if (!raw)
		child_exit(0);
	cs_wait_exited(_metadata, raw);
	libc = spawn_reaped(_metadata, false, false);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(2, find_cow(self->buf, self->len, 0, &cow));
	cow = assert_cow(_metadata, self, raw, CLONESCOPE_COW_END_EXIT, "raw ", 0,
			 CLONE_CHILD_SLACK, 0);
	ASSERT_EQ(0, cow->child.zero_copied);
	ASSERT_EQ(0, cow->child.thp_faults);
	ASSERT_EQ(0, cow->child.hugetlb_faults);
	/* The parent's memory at the fork, as /proc/self saw it just before. */
	ASSERT_EQ(vmas, cow->map_count);
	ASSERT_IN_RANGE(rss - RSS_FUZZ_PAGES, rss + RSS_FUZZ_PAGES,
			cow->rss_anon_pages, "rss_anon_pages");
	ASSERT_LE(REGION_SIZE / page_size() - RSS_FUZZ_PAGES, cow->rss_anon_pages);

	assert_cow(_metadata, self, libc, CLONESCOPE_COW_END_EXIT, "fork ", 0,
		   FORK_CHILD_SLACK, 0);
}

/*
 * A child writes exactly N distinct shared pages and exits: N copies, for
 * several N so that neither a constant nor a factor goes unnoticed.
 */
TEST_F(cow, child_copies)
{
	static const size_t counts[] = { 1, CHILD_PAGES, 2000 };
	const size_t nr = sizeof(counts) / sizeof(counts[0]);
	const struct clonescope_cow_event *cow;
	size_t i, first = 0;
	char *region;
	pid_t pids[3];

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	region = traced_region(_metadata, self);
	for (i = 0; i < nr; i++) {
		/* Fresh pages each time: all still shared with the parent. */
		pids[i] = fork_writer(_metadata, region, first, counts[i]);
		cs_wait_exited(_metadata, pids[i]);
		first += counts[i];
	}
	cs_drain_all(_metadata, self);

	ASSERT_EQ(nr, find_cow(self->buf, self->len, 0, &cow));
	for (i = 0; i < nr; i++) {
		cow = assert_cow(_metadata, self, pids[i], CLONESCOPE_COW_END_EXIT, "", counts[i],
				 CLONE_CHILD_SLACK, 0);
		ASSERT_EQ(0, cow->child.zero_copied);
	}
}

/* The parent writes M pages while the child (which wrote N) is alive. */
TEST_F(cow, parent_copies)
{
	struct gate g;
	char *region;
	pid_t pid;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	pid = traced_gated_child(_metadata, self, &g, &region);
	write_pages(region, CHILD_PAGES, PARENT_PAGES);
	gate_release(_metadata, &g, pid);
	cs_drain_all(_metadata, self);

	assert_cow(_metadata, self, pid, CLONESCOPE_COW_END_EXIT, "", CHILD_PAGES,
		   CLONE_CHILD_SLACK, PARENT_PAGES);
}

/*
 * Two children alive at once: each has its own tally, and the parent's
 * writes go to its latest fork only.
 */
TEST_F(cow, two_children)
{
	const struct clonescope_cow_event *cow;
	struct gate ga, gb;
	char *region;
	pid_t a, b;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	region = traced_region(_metadata, self);
	a = fork_gated(_metadata, &ga, region, 0, 30);
	b = fork_gated_beside(_metadata, &ga, &gb, region, 30, 70);
	write_pages(region, 100, PARENT_PAGES);
	gate_release(_metadata, &gb, b);
	gate_release(_metadata, &ga, a);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(2, find_cow(self->buf, self->len, 0, &cow));
	assert_cow(_metadata, self, a, CLONESCOPE_COW_END_EXIT, "a: ", 30,
		   CLONE_CHILD_SLACK, 0);
	assert_cow(_metadata, self, b, CLONESCOPE_COW_END_EXIT, "b: ", 70,
		   CLONE_CHILD_SLACK, PARENT_PAGES);
}

/*
 * "The parent's faults are counted for its most recent live fork" (uapi):
 * once the later child B is gone, the parent's copies of pages it still
 * shares with A are A's cost and go to A's record.
 */
TEST_F(cow, parent_counted_after_later_child_exits)
{
	const struct clonescope_cow_event *cow;
	struct gate ga;
	char *region;
	pid_t a, b;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	region = traced_region(_metadata, self);
	a = fork_gated(_metadata, &ga, region, 0, 0);
	b = fork_writer(_metadata, region, 0, 0);
	cs_wait_exited(_metadata, b);
	/* Shared with A (and no longer with B): real copies. */
	write_pages(region, 0, PARENT_PAGES);
	gate_release(_metadata, &ga, a);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(2, find_cow(self->buf, self->len, 0, &cow));
	assert_parent_copied(_metadata, self, b, "b: parent", 0);
	assert_parent_copied(_metadata, self, a, "a: parent", PARENT_PAGES);
}

/*
 * The other order: the earlier child A exits first, and the parent's
 * copies of pages it still shares with the later B are B's.  Once B is
 * gone too, the parent is watched for nobody: its writes then are no one's
 * cost, and a fork C after that watches it afresh, for C alone.
 */
TEST_F(cow, parent_moves_on_then_released)
{
	const struct clonescope_cow_event *cow;
	struct gate ga, gb, gc;
	char *region;
	pid_t a, b, c;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	region = traced_region(_metadata, self);
	a = fork_gated(_metadata, &ga, region, 0, 0);
	b = fork_gated_beside(_metadata, &ga, &gb, region, 0, 0);
	gate_release(_metadata, &ga, a);
	/* Shared with B only: B's copies. */
	write_pages(region, 0, PARENT_PAGES);
	gate_release(_metadata, &gb, b);
	/* Shared with nobody: reused, and counted for no fork. */
	write_pages(region, PARENT_PAGES, PARENT_PAGES);
	c = fork_gated(_metadata, &gc, region, 0, 0);
	write_pages(region, 2 * PARENT_PAGES, PARENT_PAGES);
	gate_release(_metadata, &gc, c);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(3, find_cow(self->buf, self->len, 0, &cow));
	assert_parent_copied(_metadata, self, a, "a: parent", 0);
	assert_parent_copied(_metadata, self, b, "b: parent", PARENT_PAGES);
	assert_parent_copied(_metadata, self, c, "c: parent", PARENT_PAGES);
}

/*
 * glibc fork() + exec at once: only the runtime's pages are copied, and
 * the window ends at exec with one record (the new image is not watched).
 */
TEST_F(cow, fork_exec)
{
	const struct clonescope_cow_event *cow;
	pid_t pid;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	if (access("/bin/true", X_OK))
		SKIP(return, "no /bin/true to exec");
	traced_region(_metadata, self);
	pid = spawn_reaped(_metadata, false, true);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(1, find_cow(self->buf, self->len, 0, &cow));
	assert_cow(_metadata, self, pid, CLONESCOPE_COW_END_EXEC, "", 0,
		   FORK_CHILD_SLACK, 0);
}

/* vfork (CLONE_VM): the memory is not copied, so no COW record at all. */
TEST_F(cow, vfork_no_cow)
{
	const struct clonescope_clone_event *clone;
	const struct clonescope_cow_event *cow;
	pid_t exits, execs;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	traced_region(_metadata, self);
	exits = spawn_reaped(_metadata, true, false);
	execs = spawn_reaped(_metadata, true, true);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(1, cs_find_clone(self->buf, self->len, exits, &clone));
	ASSERT_EQ(CLONE_VM, clone->clone_flags & CLONE_VM);
	ASSERT_EQ(1, cs_find_clone(self->buf, self->len, execs, &clone));
	ASSERT_EQ(CLONE_VM, clone->clone_flags & CLONE_VM);
	ASSERT_EQ(0, find_cow(self->buf, self->len, 0, &cow));
}

/* posix_spawn: glibc clones with CLONE_VM | CLONE_VFORK, so no COW record. */
TEST_F(cow, posix_spawn_no_cow)
{
	char *const argv[] = { "true", NULL };
	const struct clonescope_clone_event *clone;
	const struct clonescope_cow_event *cow;
	pid_t pid;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	if (access("/bin/true", X_OK))
		SKIP(return, "no /bin/true to spawn");
	traced_region(_metadata, self);
	ASSERT_EQ(0, posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ));
	cs_wait_exited(_metadata, pid);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(1, cs_find_clone(self->buf, self->len, pid, &clone));
	ASSERT_EQ(CLONE_VM, clone->clone_flags & CLONE_VM);
	ASSERT_EQ(0, find_cow(self->buf, self->len, 0, &cow));
}

/*
 * Once the child is gone the parent owns its pages again: writing them
 * copies nothing.  Child A shares the region and exits; the parent then
 * writes K of those pages (unwatched: A's window is closed), marks the
 * region MADV_DONTFORK and forks B, which stays alive without sharing it.
 * Writing K more of A's pages now happens while the parent is watched (for
 * B): they must be counted as reuses, not copies.
 */
TEST_F(cow, parent_reuse_after_exit)
{
	const struct clonescope_cow_event *cow;
	struct gate g;
	char *region;
	pid_t a, b;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	if (!reuses_counted(self->fd))
		SKIP(return, "wp_page_reuse and do_wp_page inlined in this kernel: reuses not seen");
	region = traced_region(_metadata, self);
	a = fork_writer(_metadata, region, 0, 0);
	cs_wait_exited(_metadata, a);
	write_pages(region, 0, REUSE_PAGES);

	ASSERT_EQ(0, madvise(region, REGION_SIZE, MADV_DONTFORK));
	b = fork_gated(_metadata, &g, NULL, 0, 0);
	write_pages(region, REUSE_PAGES, REUSE_PAGES);
	gate_release(_metadata, &g, b);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(2, find_cow(self->buf, self->len, 0, &cow));
	assert_parent_copied(_metadata, self, a, "a: parent", 0);
	cow = child_cow(_metadata, self, b, CLONESCOPE_COW_END_EXIT);
	ASSERT_IN_RANGE(0, PARENT_SLACK, cow->parent.copied, "b: parent.copied");
	ASSERT_IN_RANGE(REUSE_PAGES, REUSE_PAGES + PARENT_SLACK,
			cow->parent.copied + cow->parent.reused, "b: parent.copied + reused");
	ASSERT_IN_RANGE(REUSE_PAGES, REUSE_PAGES + PARENT_SLACK,
			cow->parent.reused, "b: parent.reused");
}

/*
 * The zero page: pages the parent only read map the shared zero page, and
 * the child's first write to one allocates a fresh page -- zero_copied,
 * not a fork cost.  Pages nobody touched are neither: the child's write
 * is an ordinary anonymous fault.
 */
TEST_F(cow, zero_page)
{
	const struct clonescope_cow_event *cow;
	char *region;
	pid_t pid;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	region = map_region(_metadata, self, 2 * CHILD_PAGES * page_size(), false);
	ASSERT_EQ(0, read_pages(region, 0, CHILD_PAGES));
	ASSERT_EQ(0, cs_trace_self(self->fd));
	pid = fork_writer(_metadata, region, 0, 2 * CHILD_PAGES);
	cs_wait_exited(_metadata, pid);
	cs_drain_all(_metadata, self);

	cow = child_cow(_metadata, self, pid, CLONESCOPE_COW_END_EXIT);
	ASSERT_EQ(CHILD_PAGES, cow->child.zero_copied);
	assert_copied(_metadata, &cow->child, "child", 0, CLONE_CHILD_SLACK);
	ASSERT_EQ(0, cow->parent.zero_copied);
}

/* Is THP enabled for MADV_HUGEPAGE regions ("always" or "madvise")? */
static bool thp_usable(void)
{
	char line[128] = "";
	FILE *f = fopen(THP_ENABLED, "re");

	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	return strstr(line, "[always]") || strstr(line, "[madvise]");
}

/* AnonHugePages (kB) of the mapping containing @addr, or -errno. */
static long anon_huge_kb(const void *addr)
{
	unsigned long start, end, a = (unsigned long)addr;
	char line[512];
	bool in = false;
	long kb = -ENOENT;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* A mapping's first line: "start-end perms ..." */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = a >= start && a < end;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * A transparent huge page shared by the fork.  On 6.1 (and still on 6.12)
 * do_huge_pmd_wp_page() does not copy a shared anonymous THP: it splits
 * the PMD and returns VM_FAULT_FALLBACK, and the write is retried as a 4K
 * fault that copies one 4K page (wp_page_copy).  So one byte written
 * gives one THP fault, one fallback and one 4K copy.  A kernel that copied
 * the whole THP would show no fallback and must be documented here.
 */
TEST_F(cow, thp)
{
	const struct clonescope_cow_event *cow;
	size_t huge = 2UL << 20;
	char *map, *thp;
	long kb;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	if (!thp_configured())
		SKIP(return, "kernel without transparent huge pages (no %s)", THP_ENABLED);
	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW_THP);
	if (!thp_usable())
		SKIP(return, "transparent huge pages disabled (%s)", THP_ENABLED);
	map = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	self->region = map;
	self->region_size = 2 * huge;
	thp = (char *)(((unsigned long)map + huge - 1) & ~(huge - 1));
	ASSERT_EQ(0, madvise(thp, huge, MADV_HUGEPAGE));
	memset(thp, 0x5a, huge);
	kb = anon_huge_kb(thp);
	if (kb < (long)(huge >> 10))
		SKIP(return, "region got no huge page (AnonHugePages %ld kB)", kb);

	cow = traced_byte_write(_metadata, self, &thp[12345]);
	ASSERT_EQ(1, cow->child.thp_faults);
	ASSERT_EQ(1, cow->child.thp_fallback);
	assert_copied(_metadata, &cow->child, "child", 1, CLONE_CHILD_SLACK);
	ASSERT_EQ(0, cow->parent.thp_faults);
}

/* Default huge page size in bytes from /proc/meminfo, or 0. */
static size_t hugepage_size(void)
{
	char line[128];
	size_t kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb << 10;
}

static long free_hugepages(size_t size)
{
	char path[128];

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages", size >> 10);
	return ct_read_long(path);
}

/*
 * A private hugetlb page written by the parent, then by the child: the
 * child (not the reservation owner) gets a copy of the whole huge page.
 * Needs two free huge pages, the parent's and the child's copy; the pool
 * is grown for the test and restored at teardown.
 */
TEST_F(cow, hugetlb)
{
	const struct clonescope_cow_event *cow;
	size_t size = hugepage_size();
	long nr, avail;
	char *map;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW_HUGETLB);
	if (!size)
		SKIP(return, "no hugetlb support (no Hugepagesize in /proc/meminfo)");
	nr = ct_read_long(NR_HUGEPAGES);
	avail = free_hugepages(size);
	if (nr < 0 || avail < 0)
		SKIP(return, "cannot read the hugetlb pool: %ld %ld", nr, avail);
	if (avail < 2) {
		self->saved_nr_hugepages = nr;
		if (ct_write_long(NR_HUGEPAGES, nr + 2 - avail))
			SKIP(return, "cannot grow %s", NR_HUGEPAGES);
		avail = free_hugepages(size);
		if (avail < 2)
			SKIP(return, "only %ld free huge pages", avail);
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (map == MAP_FAILED)
		SKIP(return, "MAP_HUGETLB: %s", strerror(errno));
	self->region = map;
	self->region_size = size;
	memset(map, 0x5a, size);

	cow = traced_byte_write(_metadata, self, &map[4321]);
	ASSERT_EQ(1, cow->child.hugetlb_faults);
	ASSERT_EQ(1, cow->child.hugetlb_copied);
	ASSERT_EQ(size, cow->child.hugetlb_bytes);
	ASSERT_EQ(0, cow->parent.hugetlb_faults);
	ASSERT_EQ(0, cow->parent.hugetlb_copied);
	/* The huge copy is not a 4K one. */
	assert_copied(_metadata, &cow->child, "child", 0, CLONE_CHILD_SLACK);
}

/*
 * A child forks a grandchild that writes CHILD_PAGES pages and exits;
 * returns the child's pid and the grandchild's in *@grandchild.
 */
static pid_t fork_grandchild_writer(struct __test_metadata *_metadata,
				    char *region, pid_t *grandchild)
{
	int pipefd[2];
	pid_t child, pid;

	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	child = fork_raw(_metadata);
	if (!child) {
		pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
		if (!pid) {
			write_pages(region, 0, CHILD_PAGES);
			child_exit(0);
		}
		if (pid < 0 ||
		    syscall(SYS_write, pipefd[1], &pid, sizeof(pid)) != sizeof(pid) ||
		    syscall(SYS_wait4, pid, NULL, 0, NULL) != pid)
			child_exit(1);
		child_exit(0);
	}
	*grandchild = cs_reap_reporter(_metadata, pipefd, child);
	return child;
}

/*
 * Runs fork_grandchild_writer() and drains: @nr COW records in all, the
 * child's showing only its own runtime's copies.  Returns the child's pid
 * and the grandchild's in *@grandchild.
 */
static pid_t grandchild_cows(struct __test_metadata *_metadata, FIXTURE_DATA(cow) *self,
			     char *region, int nr, pid_t *grandchild)
{
	const struct clonescope_cow_event *cow;
	pid_t child = fork_grandchild_writer(_metadata, region, grandchild);

	cs_drain_all(_metadata, self);
	ASSERT_EQ(nr, find_cow(self->buf, self->len, 0, &cow));
	cow = child_cow(_metadata, self, child, CLONESCOPE_COW_END_EXIT);
	/* The child's own runtime, as a child and as the grandchild's parent. */
	assert_copied(_metadata, &cow->child, "child", 0,
		      CLONE_CHILD_SLACK + PARENT_SLACK);
	return child;
}

/*
 * Only traced forks are watched: with FILTER_TGID the grandchild's fork is
 * not traced, so its copies are nobody's -- not the child's either.
 */
TEST_F(cow, untraced_fork_not_counted)
{
	pid_t grandchild;
	char *region;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	region = traced_region(_metadata, self);
	grandchild_cows(_metadata, self, region, 1, &grandchild);
}

/* FILTER_TREE traces the grandchild's fork too: it gets its own record. */
TEST_F(cow, tree_filter_grandchild)
{
	const struct clonescope_cow_event *cow;
	pid_t child, grandchild;
	char *region;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	region = map_region(_metadata, self, REGION_SIZE, true);
	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TREE, getpid()));
	child = grandchild_cows(_metadata, self, region, 2, &grandchild);
	ASSERT_EQ(1, find_cow(self->buf, self->len, grandchild, &cow));
	ASSERT_EQ(CLONESCOPE_COW_END_EXIT, cow->end_reason);
	ASSERT_EQ(child, cow->parent_tgid);
	ASSERT_EQ(grandchild, cow->child_tgid);
	log_counts(_metadata, "grandchild", &cow->child);
	assert_copied(_metadata, &cow->child, "grandchild", CHILD_PAGES, CLONE_CHILD_SLACK);
}

/*
 * DISABLE while a child is alive closes its window: its record arrives
 * with end_reason STOP and what it had copied so far.  A new session does
 * not pick the child up again.
 */
TEST_F(cow, disable_stops_window)
{
	const struct clonescope_cow_event *cow;
	struct gate g;
	char *region;
	pid_t pid;

	REQUIRE_FEATURE(CLONESCOPE_FEAT_COW);
	pid = traced_gated_child(_metadata, self, &g, &region);
	cs_drain_all(_metadata, self);

	cow = child_cow(_metadata, self, pid, CLONESCOPE_COW_END_STOP);
	assert_copied(_metadata, &cow->child, "child", CHILD_PAGES, CLONE_CHILD_SLACK);

	ASSERT_EQ(0, cs_enable(self->fd));
	write_pages(region, CHILD_PAGES, PARENT_PAGES);
	gate_release(_metadata, &g, pid);
	cs_drain_all(_metadata, self);
	ASSERT_EQ(0, find_cow(self->buf, self->len, 0, &cow));
}

CS_HARNESS_MAIN
