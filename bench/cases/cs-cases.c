// SPDX-License-Identifier: GPL-2.0
/*
 * Workloads of the case studies (Documentation/case-studies.rst).  Each
 * creates tasks one way under `clonescope record` and writes what it saw
 * from user space (its own clocks, /proc/PID/smaps) as key=value lines to
 * RESULTS, so the generator can set them beside clonescope's records.
 *
 * usage: cs-cases RESULTS STUDY ARGS...
 *   size MIB REPS THP COWSTRIDE
 *	A parent of MIB MiB of anonymous memory, every page written first
 *	(THP=0: MADV_NOHUGEPAGE, 1: MADV_HUGEPAGE).  REPS times: fork, the
 *	child _exit()s at once, waitpid, then the parent writes every page
 *	again so each fork starts from the same state.  COWSTRIDE > 0: one
 *	more fork whose child waits while the parent writes one byte in every
 *	COWSTRIDE-th 4K page (the later COW bill), then lets it exit.
 *   spawn MODE MIB REPS WRITES
 *	A parent of MIB MiB (4K pages) starts /bin/true REPS times with MODE
 *	fork (fork+execve), vfork (vfork+execve), spawn (posix_spawn) or
 *	clonevm (clone(CLONE_VM|CLONE_VFORK) + execve); right after each
 *	start it writes WRITES pages (a server that keeps working), then
 *	reaps the child.
 *   cowbill MIB PCT STEPS
 *	Snapshot style (Redis BGSAVE): fork; the child reads the whole region
 *	once and waits; the parent writes PCT% as many random pages as the
 *	region has (with repeats, like random keys), in STEPS steps, reading
 *	its own and the child's smaps of the region after each step; then the
 *	child exits.
 *   threads N MIB
 *	A parent of MIB MiB: N times pthread_create+join and fork+_exit+wait,
 *	interleaved.
 *   nproc MIB LIMIT
 *	As root, with MIB MiB of memory: RLIMIT_NPROC = LIMIT, become
 *	uid/gid 65534, fork children that wait until a fork fails.
 *   pidmax MIB SLOTS
 *	As root, with MIB MiB of memory: lower /proc/sys/kernel/pid_max to
 *	300 + SLOTS, fork children that wait until a fork fails, restore
 *	pid_max.
 *   signals MIB REPS SOURCE INTERVAL_US MAXSIG
 *	A parent of MIB MiB forks REPS times while signals come in from
 *	SOURCE: real (ITIMER_REAL/SIGALRM every INTERVAL_US), prof
 *	(ITIMER_PROF/SIGPROF) or thread (a second thread sending SIGUSR1 to
 *	the forking one as fast as it can).  The handler counts and stops the
 *	source after MAXSIG signals, so each fork eventually completes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PAGE_SZ		4096UL
#define HPAGE_SZ	(2UL << 20)
#define MAX_CHILDREN	4096

static FILE *results;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("cs-cases: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(results, fmt, ap);
	va_end(ap);
	fputc('\n', results);
	fflush(results);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static unsigned long parse_ul(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end)
		die("bad %s: '%s'", what, s);
	return v;
}

/* ---- the big parent's memory --------------------------------------- */

struct region {
	char *base;
	size_t len;
	size_t pages;
};

/* MIB MiB of anonymous memory, 2 MiB aligned so THP can back it. */
static void region_alloc(struct region *r, unsigned long mib, int thp)
{
	size_t len = mib << 20;
	char *p;
	uintptr_t a;

	p = mmap(NULL, len + HPAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %lu MiB: %s", mib, strerror(errno));
	a = ((uintptr_t)p + HPAGE_SZ - 1) & ~(HPAGE_SZ - 1);
	if (a != (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((char *)a + len, (uintptr_t)p + HPAGE_SZ - a);
	if (madvise((void *)a, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise: %s", strerror(errno));
	r->base = (char *)a;
	r->len = len;
	r->pages = len / PAGE_SZ;
}

/* One byte per 4K page, so every page is present and the parent's own. */
static void region_touch(struct region *r, unsigned char v)
{
	size_t i;

	for (i = 0; i < r->pages; i++)
		r->base[i * PAGE_SZ] = (char)v;
}

/* Sizes (kB) of the smaps entry of the VMA starting at @base in @pid. */
struct smaps {
	long rss, shared_dirty, private_dirty, anon_huge;
};

static int region_smaps(pid_t pid, const char *base, struct smaps *s)
{
	char path[64], line[256];
	unsigned long start = (unsigned long)base, lo, hi;
	int in = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			if (in)
				break;
			in = lo <= start && start < hi;
			continue;
		}
		if (!in)
			continue;
		sscanf(line, "Rss: %ld", &s->rss);
		sscanf(line, "Shared_Dirty: %ld", &s->shared_dirty);
		sscanf(line, "Private_Dirty: %ld", &s->private_dirty);
		sscanf(line, "AnonHugePages: %ld", &s->anon_huge);
	}
	fclose(f);
	return in ? 0 : -1;
}

static void emit_smaps(const char *who, pid_t pid, const struct region *r)
{
	struct smaps s;

	if (region_smaps(pid, r->base, &s))
		return;
	emit("smaps who=%s rss_kb=%ld shared_dirty_kb=%ld private_dirty_kb=%ld anon_huge_kb=%ld",
	     who, s.rss, s.shared_dirty, s.private_dirty, s.anon_huge);
}

static void reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid %d: %s", pid, strerror(errno));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("child %d did not exit cleanly (status %#x)", pid, status);
}

/* ---- size: fork latency vs parent size, THP, later COW -------------- */

static int study_size(int argc, char **argv)
{
	unsigned long mib, reps, thp, stride, i, n;
	int pfd[2];
	struct region r;
	uint64_t t0, t1;
	char c;
	pid_t pid;

	if (argc != 4)
		die("usage: size MIB REPS THP COWSTRIDE");
	mib = parse_ul(argv[0], "MIB");
	reps = parse_ul(argv[1], "REPS");
	thp = parse_ul(argv[2], "THP");
	stride = parse_ul(argv[3], "COWSTRIDE");

	region_alloc(&r, mib, thp);
	t0 = now_ns();
	region_touch(&r, 1);
	emit("touch mib=%lu thp=%lu touch_ns=%llu", mib, thp, (unsigned long long)(now_ns() - t0));
	emit_smaps("parent", getpid(), &r);

	for (i = 0; i < reps; i++) {
		t0 = now_ns();
		pid = fork();
		if (pid == 0)
			_exit(0);
		t1 = now_ns();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		reap(pid);
		emit("fork mib=%lu thp=%lu rep=%lu pid=%d user_ns=%llu", mib, thp, i, pid,
		     (unsigned long long)(t1 - t0));
		/* Write every page again: the pages are the parent's own and
		 * writable, as before the first fork. */
		region_touch(&r, (unsigned char)(i + 2));
	}
	if (!stride)
		return 0;

	/* The COW bill: the child holds the pages while the parent writes. */
	if (pipe(pfd))
		die("pipe: %s", strerror(errno));
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	t1 = now_ns();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	close(pfd[0]);
	emit_smaps("parent-after-fork", getpid(), &r);
	for (i = 0, n = 0; i < r.pages; i += stride, n++)
		r.base[i * PAGE_SZ] = 'w';
	emit("cow mib=%lu thp=%lu pid=%d stride=%lu writes=%lu fork_user_ns=%llu write_ns=%llu",
	     mib, thp, pid, stride, n, (unsigned long long)(t1 - t0),
	     (unsigned long long)(now_ns() - t1));
	emit_smaps("parent-after-writes", getpid(), &r);
	emit_smaps("child-after-writes", pid, &r);
	close(pfd[1]);
	reap(pid);
	return 0;
}

/* ---- spawn: four ways to start a program from a big parent ---------- */

static char *const true_argv[] = { "/bin/true", NULL };

static int exec_true(void *arg)
{
	(void)arg;
	execve(true_argv[0], true_argv, environ);
	_exit(127);
}

/* vfork in a function of its own: the child never returns from it. */
static pid_t vfork_exec(void) __attribute__((noinline));
static pid_t vfork_exec(void)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execve(true_argv[0], true_argv, environ);
		_exit(127);
	}
	return pid;
}

static int study_spawn(int argc, char **argv)
{
	unsigned long mib, reps, writes, i, w, cursor = 0;
	const char *mode;
	struct region r;
	uint64_t t0, t1, t2;
	char *stack;
	pid_t pid;
	int err;

	if (argc != 4)
		die("usage: spawn MODE MIB REPS WRITES");
	mode = argv[0];
	mib = parse_ul(argv[1], "MIB");
	reps = parse_ul(argv[2], "REPS");
	writes = parse_ul(argv[3], "WRITES");

	region_alloc(&r, mib, 0);
	region_touch(&r, 1);
	stack = malloc(64 << 10);
	if (!stack)
		die("out of memory");

	for (i = 0; i < reps; i++) {
		t0 = now_ns();
		if (!strcmp(mode, "fork")) {
			pid = fork();
			if (pid == 0)
				exec_true(NULL);
		} else if (!strcmp(mode, "vfork")) {
			pid = vfork_exec();
		} else if (!strcmp(mode, "spawn")) {
			err = posix_spawn(&pid, true_argv[0], NULL, NULL, true_argv, environ);
			if (err) {
				errno = err;
				pid = -1;
			}
		} else if (!strcmp(mode, "clonevm")) {
			pid = clone(exec_true, stack + (64 << 10), CLONE_VM | CLONE_VFORK | SIGCHLD,
				    NULL);
		} else {
			die("unknown spawn mode '%s'", mode);
		}
		t1 = now_ns();
		if (pid < 0)
			die("%s: %s", mode, strerror(errno));
		/* The parent goes on working: these writes hit pages still
		 * shared with a fork child that has not exec'd yet. */
		for (w = 0; w < writes; w++) {
			r.base[cursor * PAGE_SZ]++;
			cursor = (cursor + 1) % r.pages;
		}
		t2 = now_ns();
		reap(pid);
		emit("spawn mode=%s mib=%lu rep=%lu pid=%d user_ns=%llu write_ns=%llu writes=%lu",
		     mode, mib, i, pid, (unsigned long long)(t1 - t0),
		     (unsigned long long)(t2 - t1), writes);
	}
	free(stack);
	return 0;
}

/* ---- cowbill: a snapshot child and a parent that keeps writing ------ */

static int study_cowbill(int argc, char **argv)
{
	unsigned long mib, pct, steps, total, per_step, s, k, distinct = 0;
	unsigned long long sum = 0;
	uint64_t seed = 88172645463325252ULL, t0, t_fork;
	unsigned char *seen;
	struct region r;
	int pfd[2], rfd[2];
	size_t i, pg;
	char c;
	pid_t pid;

	if (argc != 3)
		die("usage: cowbill MIB PCT STEPS");
	mib = parse_ul(argv[0], "MIB");
	pct = parse_ul(argv[1], "PCT");
	steps = parse_ul(argv[2], "STEPS");
	if (!steps)
		die("STEPS must be > 0");

	region_alloc(&r, mib, 0);
	region_touch(&r, 1);
	seen = calloc(r.pages, 1);
	if (!seen)
		die("out of memory");
	total = r.pages * pct / 100;
	per_step = (total + steps - 1) / steps;
	if (pipe(pfd) || pipe(rfd))
		die("pipe: %s", strerror(errno));

	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		/* The snapshot: read everything once (it writes nothing), say
		 * so, then wait until the parent is done. */
		close(pfd[1]);
		close(rfd[0]);
		for (i = 0; i < r.pages; i++)
			sum += (unsigned char)r.base[i * PAGE_SZ];
		c = (char)sum;
		if (write(rfd[1], &c, 1) != 1)
			_exit(1);
		while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	t_fork = now_ns();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	close(pfd[0]);
	close(rfd[1]);
	if (read(rfd[0], &c, 1) != 1)
		die("the snapshot child died");
	emit("cowbill mib=%lu pages=%zu pct=%lu writes=%lu steps=%lu pid=%d fork_user_ns=%llu",
	     mib, r.pages, pct, total, steps, pid, (unsigned long long)(t_fork - t0));

	for (s = 0, k = 0; s <= steps; s++) {
		struct smaps ps, cs;

		if (s > 0) {
			for (i = 0; i < per_step && k < total; i++, k++) {
				/* xorshift64: random pages, repeats included */
				seed ^= seed << 13;
				seed ^= seed >> 7;
				seed ^= seed << 17;
				pg = seed % r.pages;
				r.base[pg * PAGE_SZ]++;
				if (!seen[pg]) {
					seen[pg] = 1;
					distinct++;
				}
			}
		}
		region_smaps(getpid(), r.base, &ps);
		region_smaps(pid, r.base, &cs);
		emit("step n=%lu t_ms=%.1f writes=%lu distinct=%lu parent_private_dirty_kb=%ld "
		     "parent_shared_dirty_kb=%ld child_private_dirty_kb=%ld child_shared_dirty_kb=%ld",
		     s, (now_ns() - t_fork) / 1e6, k, distinct, ps.private_dirty, ps.shared_dirty,
		     cs.private_dirty, cs.shared_dirty);
	}
	close(pfd[1]);
	reap(pid);
	free(seen);
	return 0;
}

/* ---- threads: pthread_create vs fork --------------------------------- */

static void *thread_fn(void *arg)
{
	return arg;
}

static int study_threads(int argc, char **argv)
{
	unsigned long n, mib, i;
	struct region r;
	pthread_t t;
	uint64_t t0, t_thread = 0, t_fork = 0;
	pid_t pid;
	int err;

	if (argc != 2)
		die("usage: threads N MIB");
	n = parse_ul(argv[0], "N");
	mib = parse_ul(argv[1], "MIB");
	region_alloc(&r, mib, 0);
	region_touch(&r, 1);

	for (i = 0; i < n; i++) {
		t0 = now_ns();
		err = pthread_create(&t, NULL, thread_fn, NULL);
		t_thread += now_ns() - t0;
		if (err)
			die("pthread_create: %s", strerror(err));
		pthread_join(t, NULL);

		t0 = now_ns();
		pid = fork();
		if (pid == 0)
			_exit(0);
		t_fork += now_ns() - t0;
		if (pid < 0)
			die("fork: %s", strerror(errno));
		reap(pid);
	}
	emit("threads n=%lu mib=%lu thread_user_ns_avg=%llu fork_user_ns_avg=%llu", n, mib,
	     (unsigned long long)(t_thread / n), (unsigned long long)(t_fork / n));
	return 0;
}

/* ---- failures --------------------------------------------------------- */

static pid_t children[MAX_CHILDREN];
static int nr_children;

/* Forks children that sleep until killed, until a fork fails or @cap. */
static int fork_until_failure(int cap, int *err)
{
	pid_t pid;

	*err = 0;
	while (nr_children < cap) {
		pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (pid < 0) {
			*err = errno;
			break;
		}
		children[nr_children++] = pid;
	}
	return nr_children;
}

static void kill_children(void)
{
	int i, status;

	for (i = 0; i < nr_children; i++)
		kill(children[i], SIGKILL);
	for (i = 0; i < nr_children; i++)
		waitpid(children[i], &status, 0);
	nr_children = 0;
}

static int study_nproc(int argc, char **argv)
{
	struct rlimit rl;
	struct region r;
	int n, err;

	if (argc != 2)
		die("usage: nproc MIB LIMIT");
	region_alloc(&r, parse_ul(argv[0], "MIB"), 0);
	region_touch(&r, 1);
	rl.rlim_cur = rl.rlim_max = parse_ul(argv[1], "LIMIT");
	if (setrlimit(RLIMIT_NPROC, &rl))
		die("setrlimit: %s", strerror(errno));
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		die("cannot become uid 65534: %s", strerror(errno));
	n = fork_until_failure(MAX_CHILDREN, &err);
	emit("nproc limit=%lu uid=%d children=%d errno=%d error=%s", (unsigned long)rl.rlim_cur,
	     getuid(), n, err, err ? strerror(err) : "none");
	kill_children();
	return 0;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (!f || fscanf(f, "%ld", &v) != 1)
		die("cannot read %s", path);
	fclose(f);
	return v;
}

static void write_long(const char *path, long v)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%ld\n", v) < 0 || fclose(f))
		die("cannot write %ld to %s", v, path);
}

static int study_pidmax(int argc, char **argv)
{
	const char *knob = "/proc/sys/kernel/pid_max";
	long old, max, last;
	struct region r;
	int n, err;

	if (argc != 2)
		die("usage: pidmax MIB SLOTS");
	region_alloc(&r, parse_ul(argv[0], "MIB"), 0);
	region_touch(&r, 1);
	max = 300 + (long)parse_ul(argv[1], "SLOTS");
	old = read_long(knob);
	last = read_long("/proc/sys/kernel/ns_last_pid");
	write_long(knob, max);
	n = fork_until_failure(MAX_CHILDREN, &err);
	/* Give the system its pids back before anything else. */
	write_long(knob, old);
	emit("pidmax old=%ld set=%ld last_pid_before=%ld children=%d errno=%d error=%s", old, max,
	     last, n, err, err ? strerror(err) : "none");
	kill_children();
	return 0;
}

static volatile sig_atomic_t signals_seen;
static volatile sig_atomic_t signals_max;
static volatile int sender_stop;
static int timer_which = -1;

static void on_signal(int sig)
{
	static const struct itimerval off;

	(void)sig;
	if (++signals_seen < signals_max)
		return;
	if (timer_which >= 0)
		setitimer(timer_which, &off, NULL);
	sender_stop = 1;
}

/* The "thread" source: signals the forking thread as fast as it can. */
static void *sender_fn(void *arg)
{
	pthread_t target = *(pthread_t *)arg;

	while (!__atomic_load_n(&sender_stop, __ATOMIC_RELAXED))
		pthread_kill(target, SIGUSR1);
	return NULL;
}

static int study_signals(int argc, char **argv)
{
	unsigned long mib, reps, interval, i;
	struct itimerval it = { 0 }, off = { 0 };
	struct sigaction sa = { 0 };
	const char *source;
	pthread_t self, sender;
	struct region r;
	uint64_t t0, t1;
	int sig, before, during, err;
	pid_t pid;

	if (argc != 5)
		die("usage: signals MIB REPS real|prof|thread INTERVAL_US MAXSIG");
	mib = parse_ul(argv[0], "MIB");
	reps = parse_ul(argv[1], "REPS");
	source = argv[2];
	if (!strcmp(source, "real")) {
		timer_which = ITIMER_REAL;
		sig = SIGALRM;
	} else if (!strcmp(source, "prof")) {
		timer_which = ITIMER_PROF;
		sig = SIGPROF;
	} else if (!strcmp(source, "thread")) {
		sig = SIGUSR1;
	} else {
		die("the signal source must be real, prof or thread");
	}
	interval = parse_ul(argv[3], "INTERVAL_US");
	signals_max = (sig_atomic_t)parse_ul(argv[4], "MAXSIG");
	region_alloc(&r, mib, 0);
	region_touch(&r, 1);

	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		die("sigaction: %s", strerror(errno));
	it.it_interval.tv_usec = (suseconds_t)interval;
	it.it_value.tv_usec = (suseconds_t)interval;
	self = pthread_self();

	for (i = 0; i < reps; i++) {
		signals_seen = 0;
		sender_stop = 0;
		if (timer_which >= 0) {
			if (setitimer(timer_which, &it, NULL))
				die("setitimer: %s", strerror(errno));
		} else {
			err = pthread_create(&sender, NULL, sender_fn, &self);
			if (err)
				die("pthread_create: %s", strerror(err));
			/* Fork only once the signals are flowing. */
			while (signals_seen < 2)
				;
		}
		before = signals_seen;
		t0 = now_ns();
		pid = fork();
		if (pid == 0)
			_exit(0);
		t1 = now_ns();
		during = signals_seen - before;
		if (timer_which >= 0)
			setitimer(timer_which, &off, NULL);
		sender_stop = 1;
		if (timer_which < 0)
			pthread_join(sender, NULL);
		if (pid < 0)
			die("fork: %s", strerror(errno));
		reap(pid);
		emit("signals mib=%lu source=%s interval_us=%lu rep=%lu pid=%d user_ns=%llu "
		     "signals=%d signals_in_fork=%d", mib, source, interval, i, pid,
		     (unsigned long long)(t1 - t0), (int)signals_seen, during);
		region_touch(&r, (unsigned char)(i + 2));
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} studies[] = {
		{ "size", study_size },		{ "spawn", study_spawn },
		{ "cowbill", study_cowbill },	{ "threads", study_threads },
		{ "nproc", study_nproc },	{ "pidmax", study_pidmax },
		{ "signals", study_signals },
	};
	size_t i;

	if (argc < 3)
		die("usage: cs-cases RESULTS STUDY ARGS... (see the source)");
	results = fopen(argv[1], "ae");
	if (!results)
		die("%s: %s", argv[1], strerror(errno));
	for (i = 0; i < sizeof(studies) / sizeof(studies[0]); i++) {
		if (!strcmp(argv[2], studies[i].name))
			return studies[i].fn(argc - 3, argv + 3);
	}
	die("unknown study '%s'", argv[2]);
	return 1;
}
