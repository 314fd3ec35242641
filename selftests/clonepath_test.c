// SPDX-License-Identifier: GPL-2.0
/*
 * clonescope selftests of the whole clone path (issue 5): for fork, vfork,
 * pthread_create, clone3(CLONE_INTO_CGROUP) and posix_spawn, every phase
 * the probes can measure is present, the phases are ordered and nested as
 * the ABI says, and each child's first run is recorded; a clone refused by
 * RLIMIT_NPROC is attributed to the right phase; a storm into a small
 * buffer with no reader accounts for every drop; the filters let through
 * exactly what they name and reject malformed requests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clonescope_harness.h"

extern char **environ;

/* Clones per process in the filter tests. */
#define NR_FILTER_FORKS		4

FIXTURE(clonepath) {
	int fd;
	void *buf;
	ssize_t len;
	__u32 saved_pages;
	__u64 avail;		/* phases the registered probes can measure */
};

FIXTURE_SETUP(clonepath)
{
	cs_setup(_metadata, &self->fd, &self->buf);
	/* Every probe group armed: what these tests check needs them all. */
	ASSERT_EQ(0, ct_all_probes(self->fd));
	self->avail = ct_phases_available(self->fd);
	/* copy_process and kernel_clone are required: the load fails without. */
	ASSERT_TRUE(self->avail & CT_BIT(CLONESCOPE_PHASE_COPY_PROCESS));
	ASSERT_TRUE(self->avail & CT_BIT(CLONESCOPE_PHASE_KERNEL_CLONE));
}

FIXTURE_TEARDOWN(clonepath)
{
	if (self->fd >= 0) {
		/* The filter and buffer are module-wide: leave them as found. */
		ct_restore(_metadata, self->fd, self->saved_pages);
		close(self->fd);
	}
	free(self->buf);
}

static void set_buffer(struct __test_metadata *_metadata,
		       FIXTURE_DATA(clonepath) *self, __u32 pages)
{
	struct clonescope_stats st;

	cs_resize(_metadata, self->fd, &self->saved_pages, pages);
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	ASSERT_EQ(pages, st.pages_per_cpu);
}

static void wait_ok(struct __test_metadata *_metadata, pid_t pid)
{
	ASSERT_EQ(0, ct_reap(pid, 20 * CT_SEC));
}

/* The clone records of parent process @tgid in the drained stream. */
static int find_clones(struct __test_metadata *_metadata,
		       FIXTURE_DATA(clonepath) *self, pid_t tgid,
		       const struct clonescope_clone_event **evs, int max)
{
	const struct clonescope_record_header *hdr;
	size_t off = 0;
	int nr = 0, err;

	while ((hdr = cs_next_record(self->buf, self->len, &off, &err))) {
		const struct clonescope_clone_event *ev = (const void *)hdr;

		if (hdr->type != CLONESCOPE_RECORD_CLONE)
			continue;
		ASSERT_LE(sizeof(*ev), hdr->size);
		if (ev->parent_tgid != (__u32)tgid)
			continue;
		if (nr < max)
			evs[nr] = ev;
		nr++;
	}
	ASSERT_EQ(0, err);
	return nr;
}

/* The one clone record whose child is @child. */
static const struct clonescope_clone_event *
clone_of(struct __test_metadata *_metadata, FIXTURE_DATA(clonepath) *self, pid_t child)
{
	const struct clonescope_clone_event *ev;

	ASSERT_EQ(1, cs_find_clone(self->buf, self->len, child, &ev))
		TH_LOG("clone records for child %d", child);
	return ev;
}

/* Phase @inner lies within phase @outer, when both were measured. */
static void check_within(struct __test_metadata *_metadata,
			 const struct clonescope_clone_event *ev,
			 unsigned int outer, unsigned int inner)
{
	if (!ct_has_phase(ev, outer) || !ct_has_phase(ev, inner))
		return;
	ASSERT_LE(ev->phases[outer].start_ns, ev->phases[inner].start_ns);
	ASSERT_LE(ct_phase_end(ev, inner), ct_phase_end(ev, outer));
}

/*
 * The tiled phases follow each other inside COPY_PROCESS; DUP_MMAP lies in
 * FILES_TO_MM and COPY_PAGE_RANGE in DUP_MMAP; COPY_PROCESS and then
 * WAKE_UP_NEW_TASK lie in KERNEL_CLONE, which lies in [start_ns, end_ns].
 * Since ABI 1.7 the landmarks are shared: KERNEL_CLONE's entry starts
 * COPY_PROCESS and DUP_TASK, and COPY_PROCESS's end starts
 * WAKE_UP_NEW_TASK; each of the three takes time.
 */
static void check_nesting(struct __test_metadata *_metadata,
			  const struct clonescope_clone_event *ev)
{
	const unsigned int cp = CLONESCOPE_PHASE_COPY_PROCESS;
	const unsigned int kc = CLONESCOPE_PHASE_KERNEL_CLONE;
	__u64 prev_end, sum = 0;
	unsigned int i;

	ASSERT_TRUE(ct_has_phase(ev, cp));
	ASSERT_TRUE(ct_has_phase(ev, kc));
	ASSERT_LE(ev->start_ns, ev->phases[kc].start_ns);
	ASSERT_LE(ct_phase_end(ev, kc), ev->end_ns);
	ASSERT_EQ(ev->phases[kc].start_ns, ev->phases[cp].start_ns);
	ASSERT_LE(ct_phase_end(ev, cp), ct_phase_end(ev, kc));
	ASSERT_LT(0, ev->phases[cp].duration_ns);
	if (ct_has_phase(ev, CLONESCOPE_PHASE_DUP_TASK)) {
		ASSERT_EQ(ev->phases[cp].start_ns,
			  ev->phases[CLONESCOPE_PHASE_DUP_TASK].start_ns);
		ASSERT_LT(0, ev->phases[CLONESCOPE_PHASE_DUP_TASK].duration_ns);
	}

	prev_end = ev->phases[cp].start_ns;
	for (i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (!(CLONESCOPE_TILED_PHASES & CT_BIT(i)) || !ct_has_phase(ev, i))
			continue;
		ASSERT_LE(prev_end, ev->phases[i].start_ns) TH_LOG("phase %u", i);
		prev_end = ct_phase_end(ev, i);
		sum += ev->phases[i].duration_ns;
	}
	ASSERT_LE(prev_end, ct_phase_end(ev, cp));
	ASSERT_LE(sum, ev->phases[cp].duration_ns);

	check_within(_metadata, ev, CLONESCOPE_PHASE_FILES_TO_MM, CLONESCOPE_PHASE_DUP_MMAP);
	/* start: the first call; duration: the sum over all calls. */
	check_within(_metadata, ev, CLONESCOPE_PHASE_DUP_MMAP, CLONESCOPE_PHASE_COPY_PAGE_RANGE);
	if (ct_has_phase(ev, CLONESCOPE_PHASE_WAKE_UP_NEW_TASK)) {
		ASSERT_EQ(ct_phase_end(ev, cp),
			  ev->phases[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK].start_ns);
		ASSERT_LT(0, ev->phases[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK].duration_ns);
		ASSERT_LE(ct_phase_end(ev, CLONESCOPE_PHASE_WAKE_UP_NEW_TASK),
			  ct_phase_end(ev, kc));
	}
}

/* The child's first run is recorded, after it was woken up. */
static void check_child_start(struct __test_metadata *_metadata,
			      FIXTURE_DATA(clonepath) *self,
			      const struct clonescope_clone_event *ev)
{
	const struct clonescope_record_header *hdr;
	const struct clonescope_child_start_event *cs = NULL;
	size_t off = 0;
	int nr = 0, err;
	__s64 latency;

	while ((hdr = cs_next_record(self->buf, self->len, &off, &err))) {
		const struct clonescope_child_start_event *c = (const void *)hdr;

		if (hdr->type != CLONESCOPE_RECORD_CHILD_START)
			continue;
		ASSERT_LE(sizeof(*c), hdr->size);
		if (c->pid == ev->child_pid) {
			cs = c;
			nr++;
		}
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(1, nr) TH_LOG("child-start records for child %u", ev->child_pid);
	ASSERT_EQ(ev->child_tgid, cs->tgid);
	ASSERT_TRUE(ct_has_phase(ev, CLONESCOPE_PHASE_WAKE_UP_NEW_TASK));
	latency = (__s64)(cs->hdr.timestamp_ns -
			  ev->phases[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK].start_ns);
	ASSERT_LE(0, latency);
}

/*
 * A successful clone: every measurable phase is there (but the mm ones for
 * CLONE_VM), nested and ordered, and the child's start is recorded.
 */
static void check_success(struct __test_metadata *_metadata,
			  FIXTURE_DATA(clonepath) *self,
			  const struct clonescope_clone_event *ev, bool clone_vm)
{
	__u64 expected = self->avail;

	ASSERT_EQ(0, ev->flags & CLONESCOPE_CLONE_FAILED);
	ASSERT_EQ(CLONESCOPE_PHASE_NONE, ev->failed_phase);
	ASSERT_LT(0, ev->result);
	ASSERT_EQ(clone_vm ? CLONE_VM : 0, ev->clone_flags & CLONE_VM);
	if (clone_vm) {
		expected &= ~CT_MM_PHASES;
		ASSERT_EQ(0, ev->phase_mask & CT_MM_PHASES);
		ASSERT_EQ(0, ev->copy_page_range_calls);
	} else if (self->avail & CT_BIT(CLONESCOPE_PHASE_COPY_PAGE_RANGE)) {
		/* A C program has written anonymous memory to copy. */
		ASSERT_LT(0, ev->copy_page_range_calls);
	}
	ASSERT_EQ(expected, ev->phase_mask & expected)
		TH_LOG("phase_mask %#llx, missing %#llx", (unsigned long long)ev->phase_mask,
		       (unsigned long long)(expected & ~ev->phase_mask));
	check_nesting(_metadata, ev);
	check_child_start(_metadata, self, ev);
}

/*
 * Every landmark probe is registered exactly when its symbol is a function
 * of this kernel: nothing that could be measured is left out, and nothing
 * absent is claimed.
 */
TEST_F(clonepath, probes_match_kallsyms)
{
	static const char *const landmarks[] = {
		"copy_creds", "sched_fork", "copy_semundo",
		"copy_namespaces", "copy_thread", "alloc_pid", "cgroup_can_fork",
		"dup_mmap", "copy_page_range", "kernel_clone", "schedule_tail",
	};
	bool in_kallsyms[sizeof(landmarks) / sizeof(landmarks[0])] = {};
	struct clonescope_probe_info info;
	char line[512], sym[256], type;
	unsigned long long addr;
	unsigned int i;
	FILE *f;

	f = fopen("/proc/kallsyms", "re");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3 ||
		    (type != 't' && type != 'T') || strchr(line, '['))
			continue;
		for (i = 0; i < sizeof(landmarks) / sizeof(landmarks[0]); i++)
			if (!strcmp(sym, landmarks[i]))
				in_kallsyms[i] = true;
	}
	fclose(f);

	for (i = 0; i < sizeof(landmarks) / sizeof(landmarks[0]); i++) {
		ASSERT_LE(0, ct_find_probe(self->fd, landmarks[i], &info))
			TH_LOG("no probe on %s", landmarks[i]);
		if (in_kallsyms[i] && !strcmp(landmarks[i], "sched_fork") &&
		    ct_probe_registered(self->fd, "perf_event_init_task")) {
			/* Its return is stamped where perf_event_init_task() begins. */
			ASSERT_EQ(CLONESCOPE_PROBE_STANDBY, info.state);
		} else if (in_kallsyms[i]) {
			ASSERT_EQ(CLONESCOPE_PROBE_REGISTERED, info.state)
				TH_LOG("%s: state %u error %d", landmarks[i], info.state, info.error);
		} else {
			ASSERT_EQ(CLONESCOPE_PROBE_UNAVAILABLE, info.state)
				TH_LOG("%s is not in /proc/kallsyms", landmarks[i]);
		}
	}
}

/*
 * The clone path's tracepoints, which the kernel always has, are attached
 * as tracepoints (not kprobes), and no syscall wrapper is probed: the
 * syscall comes from the saved registers.
 */
TEST_F(clonepath, tracepoints_not_kprobes)
{
	static const char *const tracepoints[] = {
		"task_newtask", "sched_wakeup_new",
	};
	struct clonescope_probe_info info;
	struct clonescope_stats st;
	unsigned int i;

	for (i = 0; i < sizeof(tracepoints) / sizeof(tracepoints[0]); i++) {
		ASSERT_LE(0, ct_find_probe(self->fd, tracepoints[i], &info))
			TH_LOG("no probe on %s", tracepoints[i]);
		ASSERT_EQ(CLONESCOPE_PROBE_REGISTERED, info.state);
		ASSERT_EQ(CLONESCOPE_PROBE_F_TRACEPOINT,
			  info.flags & (CLONESCOPE_PROBE_F_TRACEPOINT | CLONESCOPE_PROBE_F_RETURN));
	}
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	for (i = 0; i < st.nr_probes; i++) {
		ASSERT_EQ(0, cs_get_probe(self->fd, i, &info));
		ASSERT_EQ(NULL, strstr(info.symbol, "sys_"))
			TH_LOG("probe %u on a syscall wrapper: %s", i, info.symbol);
	}
}

/* Whether @sym is a function ftrace can attach to (a kprobe can use it). */
static bool ftrace_site(const char *sym)
{
	static const char *const lists[] = {
		"/sys/kernel/tracing/available_filter_functions",
		"/sys/kernel/debug/tracing/available_filter_functions",
	};
	char line[256];
	size_t len = strlen(sym);
	unsigned int i;
	bool found = false;

	for (i = 0; i < 2 && !found; i++) {
		FILE *f = fopen(lists[i], "re");

		if (!f)
			continue;
		while (!found && fgets(line, sizeof(line), f))
			found = !strncmp(line, sym, len) &&
				(line[len] == '\n' || line[len] == ' ');
		fclose(f);
	}
	return found;
}

/*
 * A kprobe at a function's entry that ftrace can reach is an ftrace-based
 * kprobe: no breakpoint trap, the cheap kind.  None falls back to int3.
 */
TEST_F(clonepath, kprobes_use_ftrace)
{
	struct clonescope_probe_info info;
	struct clonescope_stats st;
	unsigned int i, checked = 0;

	if (access("/sys/kernel/tracing/available_filter_functions", R_OK) &&
	    access("/sys/kernel/debug/tracing/available_filter_functions", R_OK))
		SKIP(return, "no tracefs: cannot tell ftrace sites");
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	for (i = 0; i < st.nr_probes; i++) {
		ASSERT_EQ(0, cs_get_probe(self->fd, i, &info));
		ASSERT_EQ(sizeof(info), info.size);
		if (info.state != CLONESCOPE_PROBE_REGISTERED ||
		    (info.flags & CLONESCOPE_PROBE_F_TRACEPOINT) || !ftrace_site(info.symbol))
			continue;
		ASSERT_EQ(CLONESCOPE_PROBE_F_FTRACE, info.flags & CLONESCOPE_PROBE_F_FTRACE)
			TH_LOG("%s: a breakpoint kprobe on an ftrace site", info.symbol);
		checked++;
	}
	ASSERT_LE(4, checked);
}

TEST_F(clonepath, fork)
{
	const struct clonescope_clone_event *evs[4];
	pid_t pids[3];
	int i;

	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	for (i = 0; i < 3; i++) {
		pids[i] = cs_fork_exit(_metadata);
		wait_ok(_metadata, pids[i]);
	}
	cs_drain_all(_metadata, self);
	ASSERT_EQ(3, find_clones(_metadata, self, getpid(), evs, 4));
	for (i = 0; i < 3; i++) {
		const struct clonescope_clone_event *ev = clone_of(_metadata, self, pids[i]);

		ASSERT_EQ(pids[i], ev->result);
		ASSERT_EQ(0, ev->clone_flags & (CLONE_VM | CLONE_THREAD | CLONE_VFORK));
		check_success(_metadata, self, ev, false);
	}
}

TEST_F(clonepath, vfork)
{
	const struct clonescope_clone_event *ev;
	pid_t pid;

	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	pid = vfork();
	if (!pid)
		_exit(0);
	ASSERT_LE(0, pid);
	wait_ok(_metadata, pid);
	cs_drain_all(_metadata, self);
	ev = clone_of(_metadata, self, pid);
	ASSERT_EQ(CLONE_VM | CLONE_VFORK, ev->clone_flags & (CLONE_VM | CLONE_VFORK));
	check_success(_metadata, self, ev, true);
}

static void *report_tid(void *tid)
{
	*(pid_t *)tid = gettid();
	return NULL;
}

TEST_F(clonepath, pthread_create)
{
	const struct clonescope_clone_event *ev;
	pthread_t thread;
	pid_t tid = 0;

	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	ASSERT_EQ(0, pthread_create(&thread, NULL, report_tid, &tid));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	cs_drain_all(_metadata, self);
	ev = clone_of(_metadata, self, tid);
	ASSERT_EQ(getpid(), ev->child_tgid);
	ASSERT_EQ(CLONE_THREAD, ev->clone_flags & CLONE_THREAD);
	check_success(_metadata, self, ev, true);
}

/* glibc's posix_spawn() is a CLONE_VM | CLONE_VFORK clone, then exec. */
TEST_F(clonepath, posix_spawn)
{
	char *const argv[] = { "true", NULL };
	const struct clonescope_clone_event *ev;
	pid_t pid;

	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	ASSERT_EQ(0, posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ));
	wait_ok(_metadata, pid);
	cs_drain_all(_metadata, self);
	ev = clone_of(_metadata, self, pid);
	ASSERT_EQ(CLONE_VM | CLONE_VFORK, ev->clone_flags & (CLONE_VM | CLONE_VFORK));
	check_success(_metadata, self, ev, true);
}

#define CGROUP_ROOT	"/sys/fs/cgroup"

/*
 * Makes a fresh cgroup v2 directory in @path (mounting cgroup2 on
 * CGROUP_ROOT if nothing is there).  Returns its fd, or -errno.
 */
static int make_cgroup(char *path, size_t size)
{
	struct statfs sfs;
	int fd;

	if (statfs(CGROUP_ROOT, &sfs))
		return -errno;
	if (sfs.f_type != CGROUP2_SUPER_MAGIC &&
	    mount("cgroup2", CGROUP_ROOT, "cgroup2", 0, NULL))
		return -errno;
	snprintf(path, size, CGROUP_ROOT "/clonepath-%d", getpid());
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Whether /proc/self/cgroup puts the caller in @path. */
static bool in_cgroup(const char *path)
{
	char want[300], *text = ct_read_file("/proc/self/cgroup", NULL);
	bool ret;

	snprintf(want, sizeof(want), "0::%s\n", path + strlen(CGROUP_ROOT));
	ret = text && !strcmp(text, want);
	free(text);
	return ret;
}

/* Forks @n children from the calling process; 0 when all ran and exited 0. */
static int fork_n(int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (ct_clone_once(CT_LOAD_FORK))
			return -1;
	return 0;
}

/*
 * clone3(CLONE_INTO_CGROUP) is a full fork into another cgroup; the cgroup
 * filter then lets through only the clones of tasks in that cgroup.
 */
TEST_F(clonepath, clone3_into_cgroup)
{
	const struct clonescope_clone_event *evs[NR_FILTER_FORKS + 1];
	struct clonescope_filter filter = {
		.size = sizeof(filter),
		.flags = CLONESCOPE_FILTER_CGROUP,
	};
	struct clone_args args = {
		.flags = CLONE_INTO_CGROUP,
		.exit_signal = SIGCHLD,
	};
	const struct clonescope_clone_event *ev;
	char path[256], procs[300], pidstr[32];
	int cgfd, procsfd, go[2];
	struct stat st;
	pid_t pid, member;

	cgfd = make_cgroup(path, sizeof(path));
	if (cgfd < 0)
		SKIP(return, "no cgroup v2 at %s: %s", CGROUP_ROOT, strerror(-cgfd));
	args.cgroup = cgfd;

	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (!pid)
		_exit(in_cgroup(path) ? 0 : 1);
	ASSERT_LT(0, pid) TH_LOG("clone3: %s", strerror(errno));
	wait_ok(_metadata, pid);
	cs_drain_all(_metadata, self);
	ev = clone_of(_metadata, self, pid);
	ASSERT_EQ(CLONESCOPE_SYSCALL_CLONE3, ev->syscall);
	ASSERT_EQ(sizeof(args), ev->clone3_size);
	ASSERT_EQ(CLONE_INTO_CGROUP, ev->clone_flags & CLONE_INTO_CGROUP);
	ASSERT_EQ(SIGCHLD, ev->exit_signal);
	check_success(_metadata, self, ev, false);

	/* A member of the cgroup forks, and so do we (outside it). */
	ASSERT_EQ(0, fstat(cgfd, &st));
	filter.cgroup_id = st.st_ino;
	ASSERT_EQ(0, pipe(go));
	member = fork();
	ASSERT_LE(0, member);
	if (!member) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1 || !in_cgroup(path))
			_exit(2);
		_exit(fork_n(NR_FILTER_FORKS) ? 1 : 0);
	}
	close(go[0]);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	snprintf(pidstr, sizeof(pidstr), "%d", member);
	procsfd = open(procs, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, procsfd);
	ASSERT_LT(0, write(procsfd, pidstr, strlen(pidstr)));
	close(procsfd);

	ASSERT_EQ(0, cs_set_filter(self->fd, &filter));
	ASSERT_EQ(0, cs_enable(self->fd));
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	ASSERT_EQ(0, fork_n(NR_FILTER_FORKS));
	wait_ok(_metadata, member);
	cs_drain_all(_metadata, self);
	ASSERT_EQ(0, find_clones(_metadata, self, getpid(), evs, NR_FILTER_FORKS + 1));
	ASSERT_EQ(NR_FILTER_FORKS, find_clones(_metadata, self, member, evs,
					       NR_FILTER_FORKS + 1));
	close(cgfd);
	EXPECT_EQ(0, rmdir(path));
}

/* What a child of refused_clone() runs: 0 when its clone failed as expected. */
typedef int (*ct_refused_fn)(void);

/* A child of refused_clone() whose set-up failed: the test is skipped. */
#define CT_REFUSED_NO_SETUP	20

/*
 * Runs @refuse in a child process, traced alone, and returns the record of
 * the one clone it made, which the kernel must have refused with -@err.
 */
static const struct clonescope_clone_event *
refused_clone(struct __test_metadata *_metadata, FIXTURE_DATA(clonepath) *self,
	      ct_refused_fn refuse, int err)
{
	const struct clonescope_clone_event *evs[2];
	int go[2], status;
	pid_t child;

	ASSERT_EQ(0, pipe(go));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(10);
		_exit(refuse());
	}
	close(go[0]);
	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, child));
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == CT_REFUSED_NO_SETUP)
		return NULL;
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("the clone did not fail as expected");
	cs_drain_all(_metadata, self);

	ASSERT_EQ(1, find_clones(_metadata, self, child, evs, 2));
	ASSERT_EQ(-err, evs[0]->result);
	ASSERT_EQ(CLONESCOPE_CLONE_FAILED, evs[0]->flags & CLONESCOPE_CLONE_FAILED);
	ASSERT_EQ(0, evs[0]->child_pid);
	return evs[0];
}

/* @ev failed in phase @failed: what ran before it completed, nothing after. */
static void check_failed_in(struct __test_metadata *_metadata,
			    const struct clonescope_clone_event *ev, unsigned int failed)
{
	int i;

	ASSERT_EQ(failed, ev->failed_phase)
		TH_LOG("failed_phase %u, phase_mask %#llx", ev->failed_phase,
		       (unsigned long long)ev->phase_mask);
	for (i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (!(CLONESCOPE_TILED_PHASES & CT_BIT(i)))
			continue;
		if (i <= (int)failed) {
			ASSERT_TRUE(ct_has_phase(ev, i)) TH_LOG("phase %d before the failure", i);
		} else {
			ASSERT_FALSE(ct_has_phase(ev, i)) TH_LOG("phase %d after the failure", i);
		}
	}
	ASSERT_FALSE(ct_has_phase(ev, CLONESCOPE_PHASE_WAKE_UP_NEW_TASK));
	/* The failed phase runs to copy_process()'s return. */
	ASSERT_EQ(ct_phase_end(ev, CLONESCOPE_PHASE_COPY_PROCESS), ct_phase_end(ev, failed));
	check_nesting(_metadata, ev);
}

/*
 * What a child of refused_clone() returns for its clone, which returned
 * @ret: 0 when it failed with @err (a child made anyway exits at once).
 */
static int refused_as(long ret, int err)
{
	if (!ret)
		_exit(0);
	if (ret > 0) {
		waitpid(ret, NULL, 0);
		return 12;
	}
	return errno == err ? 0 : 13;
}

/* The only process of its uid, allowed one, forks. */
static int fork_at_nproc_limit(void)
{
	struct rlimit one = { 1, 1 };

	if (setrlimit(RLIMIT_NPROC, &one) || ct_become(CT_UID_RLIMIT))
		return 11;
	return refused_as(fork(), EAGAIN);
}

/* RLIMIT_NPROC: a uid at its limit cannot fork. */
TEST_F(clonepath, rlimit_nproc_failure)
{
	const struct clonescope_clone_event *ev;

	ASSERT_TRUE(ct_probe_registered(self->fd, "copy_creds"));
	ev = refused_clone(_metadata, self, fork_at_nproc_limit, EAGAIN);
	ASSERT_NE(NULL, ev);
	ASSERT_EQ(0, ev->phase_mask & CT_MM_PHASES);
	check_failed_in(_metadata, ev, ct_rlimit_nproc_phase());
}

/*
 * sched_setattr(2)'s struct sched_attr as first defined (48 bytes,
 * SCHED_ATTR_SIZE_VER0): <linux/sched/types.h> clashes with glibc's <sched.h>.
 */
struct ct_sched_attr {
	__u32 size;
	__u32 sched_policy;
	__u64 sched_flags;
	__s32 sched_nice;
	__u32 sched_priority;
	__u64 sched_runtime;
	__u64 sched_deadline;
	__u64 sched_period;
};
_Static_assert(sizeof(struct ct_sched_attr) == 48, "SCHED_ATTR_SIZE_VER0");

/* A SCHED_DEADLINE task that does not reset on fork forks. */
static int fork_as_deadline_task(void)
{
	struct ct_sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = SCHED_DEADLINE,
		.sched_runtime = 10 * 1000 * 1000,
		.sched_deadline = 100 * 1000 * 1000,
		.sched_period = 100 * 1000 * 1000,
	};

	if (syscall(SYS_sched_setattr, 0, &attr, 0))
		return CT_REFUSED_NO_SETUP;
	return refused_as(fork(), EAGAIN);
}

/*
 * sched_fork() refuses to copy a deadline task (-EAGAIN): the failure is
 * SCHED_FORK's, not TASK_INIT's, whichever probe ends SCHED_FORK (the
 * entry of perf_event_init_task(), which a failed sched_fork() never
 * reaches, or sched_fork()'s return).
 */
TEST_F(clonepath, sched_fork_failure)
{
	const struct clonescope_clone_event *ev;

	if (!(self->avail & CT_BIT(CLONESCOPE_PHASE_SCHED_FORK)))
		SKIP(return, "SCHED_FORK cannot be measured on this kernel");
	ev = refused_clone(_metadata, self, fork_as_deadline_task, EAGAIN);
	if (!ev)
		SKIP(return, "cannot make a SCHED_DEADLINE task here");
	check_failed_in(_metadata, ev, CLONESCOPE_PHASE_SCHED_FORK);
}

/*
 * @refuse's clone, refused with -@err, failed in @phase (the test is
 * skipped where @phase cannot be measured).
 */
static void check_refused_in(struct __test_metadata *_metadata,
			     FIXTURE_DATA(clonepath) *self, ct_refused_fn refuse,
			     int err, unsigned int phase)
{
	const struct clonescope_clone_event *ev;

	if (!(self->avail & CT_BIT(phase)))
		SKIP(return, "phase %u cannot be measured on this kernel", phase);
	ev = refused_clone(_metadata, self, refuse, err);
	ASSERT_NE(NULL, ev);
	check_failed_in(_metadata, ev, phase);
}

/* CLONE_SIGHAND without CLONE_VM: the first check copy_process() makes. */
static int clone_sighand_without_vm(void)
{
	return refused_as(syscall(SYS_clone, CLONE_SIGHAND | SIGCHLD, 0, 0, 0, 0), EINVAL);
}

/*
 * copy_process()'s flag checks come first in DUP_TASK, which since ABI
 * 1.7 starts at kernel_clone()'s entry: an invalid flag combination
 * fails there, and COPY_PROCESS runs to the failure.
 */
TEST_F(clonepath, copy_process_flag_failure)
{
	check_refused_in(_metadata, self, clone_sighand_without_vm, EINVAL,
			 CLONESCOPE_PHASE_DUP_TASK);
}

/*
 * clone() with CLONE_PIDFD and CLONE_PARENT_SETTID: the pidfd and the tid
 * would go to the same address, which kernel_clone() refuses before it
 * calls copy_process().
 */
static int clone_pidfd_parent_settid(void)
{
	int where;

	return refused_as(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD,
				  0, &where, 0, 0), EINVAL);
}

/*
 * A clone that kernel_clone() refuses before copy_process() failed in no
 * phase: no phase of copy_process() or after it is measured, although
 * copy_process()'s phases start at kernel_clone()'s entry.
 */
TEST_F(clonepath, kernel_clone_refusal)
{
	const struct clonescope_clone_event *ev;
	int i;

	ev = refused_clone(_metadata, self, clone_pidfd_parent_settid, EINVAL);
	ASSERT_NE(NULL, ev);
	ASSERT_EQ(CLONESCOPE_PHASE_NONE, ev->failed_phase);
	ASSERT_EQ(CT_BIT(CLONESCOPE_PHASE_KERNEL_CLONE), ev->phase_mask);
	for (i = 0; i < CLONESCOPE_NR_PHASES; i++)
		if (i != CLONESCOPE_PHASE_KERNEL_CLONE)
			ASSERT_EQ(0, ev->phases[i].duration_ns) TH_LOG("phase %d", i);
}

/*
 * clone() with an exit signal that is no signal (CSIGNAL allows up to 255):
 * kernels with upstream 09e7827e7857 (7.2, 7.3, stable kernels that took
 * it) refuse it in kernel_clone() before copy_process(); older ones make
 * the child, whose clone has every phase.
 */
TEST_F(clonepath, invalid_exit_signal)
{
	const struct clonescope_clone_event *ev;
	pid_t child;

	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	child = syscall(SYS_clone, 100, 0, 0, 0, 0);
	if (!child)
		_exit(0);
	if (child < 0) {
		ASSERT_EQ(EINVAL, errno);
		TH_LOG("refused by kernel_clone()");
		cs_drain_all(_metadata, self);
		ASSERT_EQ(1, find_clones(_metadata, self, getpid(), &ev, 1));
		ASSERT_EQ(-EINVAL, ev->result);
		ASSERT_EQ(CLONESCOPE_PHASE_NONE, ev->failed_phase);
		ASSERT_EQ(CT_BIT(CLONESCOPE_PHASE_KERNEL_CLONE), ev->phase_mask);
		return;
	}
	TH_LOG("made");
	/* No SIGCHLD, nor signal 100, comes: __WALL waits for it anyway. */
	ASSERT_EQ(child, waitpid(child, NULL, __WALL));
	cs_drain_all(_metadata, self);
	check_success(_metadata, self, clone_of(_metadata, self, child), false);
}

/* An unprivileged fork into a new UTS namespace. */
static int clone_newuts_unprivileged(void)
{
	if (ct_become(CT_UID_RLIMIT))
		return 11;
	return refused_as(syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0), EPERM);
}

/*
 * copy_namespaces() refuses a new namespace without CAP_SYS_ADMIN: a
 * clone asking for one is followed to that function's return (its entry
 * stamps the return only for a clone that asks for none), which blames it.
 */
TEST_F(clonepath, copy_namespaces_failure)
{
	check_refused_in(_metadata, self, clone_newuts_unprivileged, EPERM,
			 CLONESCOPE_PHASE_COPY_NAMESPACES);
}

/*
 * A clone that asks for no new namespace takes copy_namespaces()' fast
 * path, a reference count, which its entry stamps as a COPY_NAMESPACES of
 * 0; one into a new UTS namespace is timed to the function's return.
 */
TEST_F(clonepath, copy_namespaces_fast_path)
{
	const struct clonescope_clone_event *ev;
	pid_t plain, newuts;

	if (!(self->avail & CT_BIT(CLONESCOPE_PHASE_COPY_NAMESPACES)))
		SKIP(return, "COPY_NAMESPACES cannot be measured on this kernel");
	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	plain = cs_fork_exit(_metadata);
	wait_ok(_metadata, plain);
	newuts = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
	if (!newuts)
		_exit(0);
	ASSERT_LT(0, newuts) TH_LOG("clone(CLONE_NEWUTS): %s", strerror(errno));
	wait_ok(_metadata, newuts);
	cs_drain_all(_metadata, self);

	ev = clone_of(_metadata, self, plain);
	check_success(_metadata, self, ev, false);
	ASSERT_EQ(0, ev->phases[CLONESCOPE_PHASE_COPY_NAMESPACES].duration_ns);
	ev = clone_of(_metadata, self, newuts);
	check_success(_metadata, self, ev, false);
	ASSERT_LT(0, ev->phases[CLONESCOPE_PHASE_COPY_NAMESPACES].duration_ns);
}

/* Clones of the stale_bytes test: each leaves a fork's and a failure's record. */
#define NR_STALE_ROUNDS		40

/*
 * What @ev does not measure reads as zero: the phases outside its
 * phase_mask, the reserved field and, when it failed, everything of the
 * child it did not make.
 */
static void check_unset_zero(struct __test_metadata *_metadata,
			     const struct clonescope_clone_event *ev)
{
	int i;

	for (i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (ct_has_phase(ev, i))
			continue;
		ASSERT_EQ(0, ev->phases[i].start_ns) TH_LOG("phase %d not measured", i);
		ASSERT_EQ(0, ev->phases[i].duration_ns) TH_LOG("phase %d not measured", i);
	}
	ASSERT_EQ(0, ev->__reserved);
	if (!(ev->flags & CLONESCOPE_CLONE_FAILED))
		return;
	ASSERT_EQ(0, ev->child_pid);
	ASSERT_EQ(0, ev->child_tgid);
	ASSERT_EQ(0, ev->ns_child_pid);
	ASSERT_EQ(0, ev->ns_child_tgid);
	ASSERT_EQ(0, ev->child_pidns);
	ASSERT_EQ(0, ev->copy_page_range_calls);
}

/*
 * Records are written in place in the buffer, over the bytes of older
 * ones: a one-page buffer wraps every few clones, so the record of a clone
 * that copy_process() refuses at once lands where forks' records, with
 * every phase and a child, were before.  None of their bytes shows.
 */
TEST_F(clonepath, no_stale_bytes)
{
	const struct clonescope_record_header *hdr;
	struct clonescope_stats st;
	int i, err, forks = 0, failed = 0;
	size_t off = 0, len = 0;
	ssize_t n;
	pid_t pid;

	set_buffer(_metadata, self, 1);
	ASSERT_EQ(0, cs_trace_self(self->fd));
	for (i = 0; i < NR_STALE_ROUNDS; i++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			_exit(0);
		wait_ok(_metadata, pid);
		/* CLONE_SIGHAND needs CLONE_VM: the first check copy_process() makes. */
		ASSERT_EQ(-1, syscall(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0));
		ASSERT_EQ(EINVAL, errno);
		/* Read as it goes: the records of a round fit in the buffer. */
		ASSERT_LE(CLONESCOPE_READ_MIN, CS_DRAIN_BUF_SIZE - len);
		n = read(self->fd, (char *)self->buf + len, CS_DRAIN_BUF_SIZE - len);
		ASSERT_LT(0, n) TH_LOG("read: %s", strerror(errno));
		len += n;
	}
	n = cs_drain(self->fd, (char *)self->buf + len, CS_DRAIN_BUF_SIZE - len);
	ASSERT_LE(0, n) TH_LOG("drain: %s", strerror(-n));
	self->len = len + n;

	while ((hdr = cs_next_record(self->buf, self->len, &off, &err))) {
		const struct clonescope_clone_event *ev = (const void *)hdr;

		if (hdr->type != CLONESCOPE_RECORD_CLONE || ev->parent_tgid != (__u32)getpid())
			continue;
		ASSERT_EQ(sizeof(*ev), hdr->size);
		check_unset_zero(_metadata, ev);
		if (ev->flags & CLONESCOPE_CLONE_FAILED) {
			ASSERT_EQ(-EINVAL, ev->result);
			failed++;
		} else {
			forks++;
		}
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(NR_STALE_ROUNDS, forks);
	ASSERT_EQ(NR_STALE_ROUNDS, failed);
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	ASSERT_EQ(0, st.dropped);
}

static void check_accounting(struct __test_metadata *_metadata, int fd,
			     const struct ct_tally *t, struct clonescope_stats *st)
{
	ASSERT_EQ(0, cs_get_stats(fd, st));
	ASSERT_EQ(0, st->enabled);
	ASSERT_EQ(st->produced, st->delivered + st->dropped)
		TH_LOG("produced %llu delivered %llu dropped %llu",
		       (unsigned long long)st->produced, (unsigned long long)st->delivered,
		       (unsigned long long)st->dropped);
	ASSERT_EQ(st->delivered, t->records);
	ASSERT_EQ(st->dropped, t->lost);
	ASSERT_EQ(0, t->zero_lost);
}

/*
 * Two processes fork as fast as they can into a 4-page buffer nobody reads:
 * records are dropped, every drop is counted, and the drops reach the
 * reader as LOST records once it reads.
 */
TEST_F_TIMEOUT(clonepath, storm_small_buffer_no_reader, 120)
{
	struct ct_shared *sh = ct_shared_new();
	struct clonescope_stats st;
	struct ct_tally t = {};
	pid_t loaders[2];
	unsigned long clones = 0;
	__u64 deadline;
	int i;

	ASSERT_NE(NULL, sh);
	set_buffer(_metadata, self, 4);
	for (i = 0; i < 2; i++) {
		loaders[i] = ct_start_loader(sh, i, CT_LOAD_FORK, 60 * CT_SEC);
		ASSERT_LT(0, loaders[i]);
	}
	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TREE, getpid()));
	sh->go = 1;
	/* Bounded: enough forks to overflow 4 pages several times. */
	deadline = cs_now_ns() + 20 * CT_SEC;
	while (sh->done[0] + sh->done[1] < 400 && cs_now_ns() < deadline)
		usleep(10000);
	ct_stop_loaders(sh, loaders, 2);
	for (i = 0; i < 2; i++)
		clones += sh->done[i] + sh->failed[i];
	ASSERT_LE(400, clones);

	ASSERT_EQ(0, ct_drain_tally(self->fd, &t, NULL, NULL));
	check_accounting(_metadata, self->fd, &t, &st);
	ASSERT_EQ(clones, st.clones);
	ASSERT_LT(0, st.dropped);
	ASSERT_LT(0, t.lost_records);
	ASSERT_EQ(0, st.inflight_overflow);
	TH_LOG("%lu clones: produced %llu delivered %llu dropped %llu in %llu LOST records",
	       clones, (unsigned long long)st.produced, (unsigned long long)st.delivered,
	       (unsigned long long)st.dropped, (unsigned long long)t.lost_records);
	ct_shared_free(sh);
}

/*
 * A helper process that waits for @sh->go, optionally renames itself, and
 * forks NR_FILTER_FORKS children.  Returns its pid.
 */
static pid_t start_forker(struct __test_metadata *_metadata, struct ct_shared *sh,
			  const char *comm)
{
	pid_t pid = fork();
	__u64 deadline;

	ASSERT_LE(0, pid);
	if (pid)
		return pid;
	if (comm && prctl(PR_SET_NAME, comm))
		_exit(3);
	deadline = cs_now_ns() + 20 * CT_SEC;
	while (!sh->go && cs_now_ns() < deadline)
		usleep(1000);
	_exit(sh->go && !fork_n(NR_FILTER_FORKS) ? 0 : 1);
}

/*
 * TGID: with no filter a concurrently forking process shows up; with the
 * filter on our tgid, only our clones do.
 */
TEST_F_TIMEOUT(clonepath, filter_tgid, 60)
{
	const struct clonescope_clone_event *evs[64];
	struct ct_shared *sh = ct_shared_new();
	unsigned long before;
	__u64 deadline;
	pid_t noise;
	int session;

	ASSERT_NE(NULL, sh);
	noise = ct_start_loader(sh, 0, CT_LOAD_FORK, 30 * CT_SEC);
	ASSERT_LT(0, noise);
	sh->go = 1;
	for (session = 0; session < 2; session++) {
		if (session) {
			ASSERT_EQ(0, cs_filter_tgid(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
		} else {
			ASSERT_EQ(0, cs_filter_none(self->fd));
		}
		ASSERT_EQ(0, cs_enable(self->fd));
		before = sh->done[0];
		ASSERT_EQ(0, fork_n(NR_FILTER_FORKS));
		deadline = cs_now_ns() + 10 * CT_SEC;
		while (sh->done[0] < before + 3 && cs_now_ns() < deadline)
			usleep(1000);
		ASSERT_LE(before + 3, sh->done[0]) TH_LOG("the noise process does not fork");
		cs_drain_all(_metadata, self);
		ASSERT_EQ(NR_FILTER_FORKS, find_clones(_metadata, self, getpid(), evs, 64));
		if (session) {
			ASSERT_EQ(0, find_clones(_metadata, self, noise, evs, 64));
		} else {
			ASSERT_LE(1, find_clones(_metadata, self, noise, evs, 64));
		}
	}
	ct_stop_loaders(sh, &noise, 1);
	ct_shared_free(sh);
}

/* Only clones by a task of the named comm. */
TEST_F(clonepath, filter_comm)
{
	const struct clonescope_record_header *hdr;
	struct clonescope_filter filter = {
		.size = sizeof(filter),
		.flags = CLONESCOPE_FILTER_COMM,
		.comm = "ct_comm_yes",
	};
	struct ct_shared *sh = ct_shared_new();
	pid_t yes, no;
	size_t off = 0;
	int nr = 0, err;

	ASSERT_NE(NULL, sh);
	yes = start_forker(_metadata, sh, "ct_comm_yes");
	no = start_forker(_metadata, sh, "ct_comm_no");
	ASSERT_EQ(0, cs_set_filter(self->fd, &filter));
	ASSERT_EQ(0, cs_enable(self->fd));
	sh->go = 1;
	ASSERT_EQ(0, fork_n(NR_FILTER_FORKS));
	wait_ok(_metadata, yes);
	wait_ok(_metadata, no);
	cs_drain_all(_metadata, self);

	while ((hdr = cs_next_record(self->buf, self->len, &off, &err))) {
		const struct clonescope_clone_event *ev = (const void *)hdr;

		if (hdr->type != CLONESCOPE_RECORD_CLONE)
			continue;
		ASSERT_STREQ("ct_comm_yes", ev->comm);
		ASSERT_EQ(yes, ev->parent_tgid);
		nr++;
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(NR_FILTER_FORKS, nr);
	ct_shared_free(sh);
}

struct thread_forker {
	struct ct_shared *sh;
	pid_t tid;
	volatile int ready;
	int ret;
};

static void *thread_fork(void *arg)
{
	struct thread_forker *tf = arg;
	__u64 deadline = cs_now_ns() + 20 * CT_SEC;

	tf->tid = gettid();
	tf->ready = 1;
	while (!tf->sh->go && cs_now_ns() < deadline)
		usleep(1000);
	tf->ret = tf->sh->go ? fork_n(NR_FILTER_FORKS) : -1;
	return NULL;
}

/* PID: one thread's clones, not those of the other threads of its process. */
TEST_F(clonepath, filter_pid)
{
	const struct clonescope_record_header *hdr;
	struct clonescope_filter filter = {
		.size = sizeof(filter),
		.flags = CLONESCOPE_FILTER_PID,
	};
	struct thread_forker tf = { .sh = ct_shared_new() };
	pthread_t thread;
	size_t off = 0;
	int nr = 0, err;

	ASSERT_NE(NULL, tf.sh);
	ASSERT_EQ(0, pthread_create(&thread, NULL, thread_fork, &tf));
	while (!tf.ready)
		usleep(1000);
	filter.pid = tf.tid;
	ASSERT_EQ(0, cs_set_filter(self->fd, &filter));
	ASSERT_EQ(0, cs_enable(self->fd));
	tf.sh->go = 1;
	ASSERT_EQ(0, fork_n(NR_FILTER_FORKS));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_EQ(0, tf.ret);
	cs_drain_all(_metadata, self);

	while ((hdr = cs_next_record(self->buf, self->len, &off, &err))) {
		const struct clonescope_clone_event *ev = (const void *)hdr;

		if (hdr->type != CLONESCOPE_RECORD_CLONE)
			continue;
		ASSERT_EQ(tf.tid, ev->parent_pid);
		ASSERT_EQ(getpid(), ev->parent_tgid);
		nr++;
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(NR_FILTER_FORKS, nr);
	ct_shared_free(tf.sh);
}

/*
 * TREE: a process A forks B, B forks C, C forks D.  With the filter on A,
 * all three clones are traced, the great-grandparent's (ours) are not.
 */
TEST_F(clonepath, filter_tree_grandchild)
{
	const struct clonescope_clone_event *evs[8];
	struct ct_shared *sh = ct_shared_new();
	pid_t a;
	int level;

	ASSERT_NE(NULL, sh);
	a = fork();
	ASSERT_LE(0, a);
	if (!a) {
		__u64 deadline = cs_now_ns() + 20 * CT_SEC;
		pid_t pid;

		while (!sh->go && cs_now_ns() < deadline)
			usleep(1000);
		/* Each level forks the next and waits for it. */
		for (level = 0; level < 3; level++) {
			pid = fork();
			if (pid < 0)
				_exit(1);
			if (pid) {
				int status;

				sh->done[level] = pid;
				if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
					_exit(1);
				_exit(WEXITSTATUS(status));
			}
		}
		_exit(sh->go ? 0 : 1);
	}
	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TREE, a));
	sh->go = 1;
	ASSERT_EQ(0, fork_n(NR_FILTER_FORKS));
	wait_ok(_metadata, a);
	cs_drain_all(_metadata, self);

	ASSERT_EQ(0, find_clones(_metadata, self, getpid(), evs, 8));
	ASSERT_EQ(1, find_clones(_metadata, self, a, evs, 8));
	ASSERT_EQ(sh->done[0], evs[0]->child_pid);
	/* B's clone of C, and the grandchild C's clone of D. */
	for (level = 1; level < 3; level++) {
		ASSERT_EQ(1, find_clones(_metadata, self, sh->done[level - 1], evs, 8))
			TH_LOG("level %d", level);
		ASSERT_EQ(sh->done[level], evs[0]->child_pid);
	}
	ct_shared_free(sh);
}

/* Malformed filters are refused, and do not replace the filter in force. */
TEST_F(clonepath, filter_invalid)
{
	const struct clonescope_clone_event *evs[4];
	struct {
		struct clonescope_filter f;
		__u64 tail;
	} big;
	struct clonescope_filter f;
	unsigned int i;
	pid_t pid;

#define BAD_FILTER(err, ...) do {						\
		f = (struct clonescope_filter){ .size = sizeof(f), __VA_ARGS__ };	\
		ASSERT_EQ(err, cs_set_filter(self->fd, &f)) TH_LOG("%s", #__VA_ARGS__);	\
	} while (0)

	BAD_FILTER(-EINVAL, .flags = CLONESCOPE_FILTER_ALL + 1);
	BAD_FILTER(-EINVAL, .flags = 1U << 31);
	for (i = 0; i < 32; i++)
		if (!(CLONESCOPE_FILTER_ALL & (1U << i)))
			BAD_FILTER(-EINVAL, .flags = 1U << i);
	/* tgids[] past nr_tgids is reserved. */
	BAD_FILTER(-EINVAL, .flags = CLONESCOPE_FILTER_TGID, .nr_tgids = 1,
		   .tgids = { getpid(), 1 });
	BAD_FILTER(-EINVAL, .tgids = { [CLONESCOPE_FILTER_MAX_TGIDS - 1] = 1 });
	BAD_FILTER(-EINVAL, .flags = CLONESCOPE_FILTER_TGID,
		   .nr_tgids = CLONESCOPE_FILTER_MAX_TGIDS + 1);
	BAD_FILTER(-EINVAL, .flags = CLONESCOPE_FILTER_TGID);
	BAD_FILTER(-EINVAL, .flags = CLONESCOPE_FILTER_TREE);
	/* comm must be NUL-terminated. */
	BAD_FILTER(-EINVAL, .flags = CLONESCOPE_FILTER_COMM,
		   .comm = { 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
			     'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a' });
	f = (struct clonescope_filter){ .size = CLONESCOPE_FILTER_SIZE_VER0 - 1 };
	ASSERT_EQ(-EINVAL, cs_set_filter(self->fd, &f));
	f.size = 0;
	ASSERT_EQ(-EINVAL, cs_set_filter(self->fd, &f));
	ASSERT_EQ(-EFAULT, cs_set_filter(self->fd, NULL));

	big = (typeof(big)){ .f.size = sizeof(big), .tail = 1 };
	ASSERT_EQ(-E2BIG, cs_set_filter(self->fd, &big.f));
	big.tail = 0;
	ASSERT_EQ(0, cs_set_filter(self->fd, &big.f));

	/* Our tgid in force; a refused filter naming init does not replace it. */
	ASSERT_EQ(0, cs_filter_tgid(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	BAD_FILTER(-EINVAL, .flags = CLONESCOPE_FILTER_TGID | (1U << 31), .nr_tgids = 1,
		   .tgids = { 1 });
	ASSERT_EQ(0, cs_enable(self->fd));
	pid = cs_fork_exit(_metadata);
	wait_ok(_metadata, pid);
	cs_drain_all(_metadata, self);
	ASSERT_EQ(1, find_clones(_metadata, self, getpid(), evs, 4));
	ASSERT_EQ(pid, evs[0]->child_pid);
#undef BAD_FILTER
}

/* Filter and buffer change only while disabled; the old ones stay. */
TEST_F(clonepath, filter_while_enabled)
{
	const struct clonescope_clone_event *evs[4];
	struct clonescope_stats st;
	__u32 pages;
	pid_t pid;

	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	pages = st.pages_per_cpu;
	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, getpid()));
	ASSERT_EQ(-EBUSY, cs_filter_none(self->fd));
	ASSERT_EQ(-EBUSY, cs_filter_tgid(self->fd, CLONESCOPE_FILTER_TGID, 1));
	ASSERT_EQ(-EBUSY, cs_set_pages(self->fd, pages == 1 ? 2 : 1));
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	ASSERT_EQ(1, st.enabled);
	ASSERT_EQ(pages, st.pages_per_cpu);

	pid = cs_fork_exit(_metadata);
	wait_ok(_metadata, pid);
	cs_drain_all(_metadata, self);
	ASSERT_EQ(1, find_clones(_metadata, self, getpid(), evs, 4));
}

CS_HARNESS_MAIN
