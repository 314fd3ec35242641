// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark workloads: each creates tasks one way, ITERS times, and prints
 * one line of key=value pairs with its own timing, so the start-up of
 * whatever wraps it (a tracer, `clonescope record`) is not measured.
 *
 * usage: cs-workload KIND ITERS [ARG]
 *   fork        fork(); the child _exit()s; waitpid()
 *   vfork-exec  vfork(); the child execs ARG (default /bin/true); waitpid()
 *   spawn       posix_spawn(ARG) (default /bin/true); waitpid()
 *   thread      pthread_create() of an empty thread; pthread_join()
 *   cow         a parent of ARG MiB (default 256), every page written
 *               before the clock starts; each child writes one byte in
 *               every tenth page (10% of the pages: copy-on-write), exits
 *   storm       one worker per online CPU (ARG workers if given), each
 *               doing ITERS fork+exit+wait at the same time
 *
 * Output: kind= iters= clones= elapsed_ns= ns_per_iter= clones_per_s=
 * failures= layout= pid= where ns_per_iter is elapsed / iters (storm:
 * elapsed / all its forks, i.e. the inverse of the aggregate clone rate),
 * layout is fixed or random (see fix_layout()), pid is the batch's own
 * (where the PID allocator stood), and with CS_WORKLOAD_PROFILE set
 * others_ns= first (see profile_start()).  Exit status 0 when every task
 * was created and exited cleanly.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <alloca.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PAGE_SZ	4096UL

static int failures;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void reap(pid_t pid)
{
	int status;

	if (pid < 0) {
		failures++;
		return;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			failures++;
			return;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failures++;
}

static void fork_once(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	reap(pid);
}

static void do_fork(long iters)
{
	for (long i = 0; i < iters; i++)
		fork_once();
}

/* What vfork-exec and spawn run. */
static const char *exec_path = "/bin/true";

/* One call per function: nothing of the caller's frame lives across vfork(). */
static __attribute__((noinline)) void vfork_exec_once(void)
{
	char *argv[] = { "true", NULL };
	pid_t pid = vfork();

	if (pid == 0) {
		execve(exec_path, argv, environ);
		_exit(127);
	}
	reap(pid);
}

static void spawn_once(void)
{
	char *argv[] = { "true", NULL };
	pid_t pid;

	if (posix_spawn(&pid, exec_path, NULL, NULL, argv, environ))
		failures++;
	else
		reap(pid);
}

static void *thread_fn(void *arg)
{
	return arg;
}

static void thread_once(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_fn, NULL)) {
		failures++;
		return;
	}
	pthread_join(t, NULL);
}

static char *cow_area;
static size_t cow_bytes;

/* Not timed: map and populate the parent's memory. */
static void cow_setup(long mib)
{
	cow_bytes = (size_t)mib << 20;
	cow_area = mmap(NULL, cow_bytes, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cow_area == MAP_FAILED) {
		perror("cs-workload: mmap");
		exit(1);
	}
	/* 4K pages: a THP would be split and copied differently on each kernel. */
	madvise(cow_area, cow_bytes, MADV_NOHUGEPAGE);
	memset(cow_area, 1, cow_bytes);
}

static void cow_once(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (size_t off = 0; off < cow_bytes; off += 10 * PAGE_SZ)
			cow_area[off]++;
		_exit(0);
	}
	reap(pid);
}

/* Storm workers wait on a pipe: closing its write end releases them. */
static void storm_release_and_wait(int go_w, pid_t *pids, long workers)
{
	close(go_w);
	for (long w = 0; w < workers; w++)
		reap(pids[w]);
}

/*
 * Before the clock starts: what ran just before the batch (the bench's
 * stats and readiness commands, a tracer arming its probes, the COW
 * parent's 256 MiB being faulted in) leaves deferred work behind (RCU
 * callbacks, kworkers, the kprobe optimizer), which on one vCPU would land
 * in the first iterations of whichever variant ran something before it.
 */
static void settle(void)
{
	usleep(200 * 1000);
}

/*
 * CS_WORKLOAD_PROFILE=FILE: where a batch's time went, appended to FILE
 * (one "batch" line, then one line per other task and per slow iteration).
 * Under icount an idle CPU costs no time, so a batch's elapsed time is its
 * own tasks' run time plus every other task's (a tracer's reader, kworkers,
 * RCU) plus interrupts: the other tasks' schedstat run time between the
 * clock's start and stop says who else ran, and the iterations that took
 * more than twice the median say when.
 */
struct task_time {
	int tid;
	char comm[16];
	unsigned long long ns;
};

#define MAX_TASKS	4096

static const char *profile_path;
static uint64_t *iter_ns;

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return 0;
	ok = fgets(buf, len, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return ok;
}

/* Every task's run time in @t, but our own kind's (the forker, its children). */
static int task_times(struct task_time *t)
{
	DIR *procs = opendir("/proc");
	struct dirent *p, *task;
	char path[PATH_MAX], line[128];
	int n = 0;

	if (!procs)
		return 0;
	while ((p = readdir(procs)) && n < MAX_TASKS) {
		DIR *tasks;

		if (p->d_name[0] < '0' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		tasks = opendir(path);
		if (!tasks)
			continue;
		while ((task = readdir(tasks)) && n < MAX_TASKS) {
			if (task->d_name[0] < '0' || task->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/comm", p->d_name, task->d_name);
			if (!read_line(path, t[n].comm, sizeof(t[n].comm)) ||
			    !strcmp(t[n].comm, "cs-workload"))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/schedstat", p->d_name,
				 task->d_name);
			if (!read_line(path, line, sizeof(line)))
				continue;
			t[n].tid = atoi(task->d_name);
			t[n].ns = strtoull(line, NULL, 10);
			n++;
		}
		closedir(tasks);
	}
	closedir(procs);
	return n;
}

static struct task_time *before;
static int nr_before;

static void profile_start(long iters)
{
	profile_path = getenv("CS_WORKLOAD_PROFILE");
	if (!profile_path || !*profile_path) {
		profile_path = NULL;
		return;
	}
	iter_ns = calloc(iters, sizeof(*iter_ns));
	before = calloc(MAX_TASKS, sizeof(*before));
	if (!iter_ns || !before) {
		perror("cs-workload: profile");
		exit(1);
	}
	nr_before = task_times(before);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Prints others_ns= (for the key=value line) and appends the details to the file. */
static void profile_end(const char *kind, long iters, uint64_t t0, uint64_t t1)
{
	struct task_time *after;
	unsigned long long others = 0;
	uint64_t *sorted, median = 0, offset = 0;
	int n;
	FILE *f;

	if (!profile_path)
		return;
	after = calloc(MAX_TASKS, sizeof(*after));
	sorted = calloc(iters, sizeof(*sorted));
	f = fopen(profile_path, "ae");
	if (!after || !sorted || !f) {
		perror("cs-workload: profile");
		exit(1);
	}
	n = task_times(after);
	if (iter_ns[0]) {
		memcpy(sorted, iter_ns, iters * sizeof(*sorted));
		qsort(sorted, iters, sizeof(*sorted), cmp_u64);
		median = sorted[iters / 2];
	}
	fprintf(f, "batch kind=%s t0_ns=%llu elapsed_ns=%llu iters=%ld median_iter_ns=%llu",
		kind, (unsigned long long)t0, (unsigned long long)(t1 - t0), iters,
		(unsigned long long)median);
	/* Each quarter's median: a level that moves inside the batch, or not. */
	for (int q = 0; median && iters >= 8 && q < 4; q++) {
		long from = q * iters / 4, len = (q + 1) * iters / 4 - from;

		memcpy(sorted, iter_ns + from, len * sizeof(*sorted));
		qsort(sorted, len, sizeof(*sorted), cmp_u64);
		fprintf(f, " q%d_median_ns=%llu", q + 1, (unsigned long long)sorted[len / 2]);
	}
	fputc('\n', f);
	for (int i = 0; i < n; i++) {
		unsigned long long ran = after[i].ns;

		for (int j = 0; j < nr_before; j++) {
			if (before[j].tid == after[i].tid) {
				ran -= before[j].ns;
				break;
			}
		}
		if (!ran)
			continue;
		others += ran;
		fprintf(f, "  task tid=%d comm=%s ran_ns=%llu\n", after[i].tid, after[i].comm, ran);
	}
	for (long i = 0; median && i < iters; i++) {
		if (iter_ns[i] > 2 * median)
			fprintf(f, "  slow iter=%ld at_ns=%llu took_ns=%llu\n", i,
				(unsigned long long)offset, (unsigned long long)iter_ns[i]);
		offset += iter_ns[i];
	}
	fclose(f);
	printf("others_ns=%llu ", others);
	free(after);
	free(sorted);
}

/* ITERS calls of @once, each timed when profiling. */
static void repeat(void (*once)(void), long iters)
{
	for (long i = 0; i < iters; i++) {
		uint64_t t = iter_ns ? now_ns() : 0;

		once();
		if (iter_ns)
			iter_ns[i] = now_ns() - t;
	}
}

/*
 * The address-space layout.  A fork's cost depends on it: which pages the
 * parent's and the child's first writes after fork() copy (whether the
 * loop's stack frames straddle a page), how many page tables fork copies
 * and exit frees.  With ASLR each new process draws another layout, and
 * under icount a batch of 600 forks came out anywhere in a 3% band (every
 * iteration of the batch alike) while the same layout repeated within
 * 0.3%: noise as large as the tracers' overheads, and nothing to do with
 * them.  So cs-workload re-executes itself once without address-space
 * randomization (the personality is inherited: its children, cs-true
 * included, have a fixed layout too), and then runs the batch at the same
 * stack address whatever the size of the environment above it (bash's "_",
 * a tracer's additions).  CS_WORKLOAD_LAYOUT=random keeps ASLR, to see the
 * difference.
 */
static const char *layout = "random";

static void fix_layout(char **argv)
{
	const char *want = getenv("CS_WORKLOAD_LAYOUT");
	int pers = personality(0xffffffff);

	if (want && !strcmp(want, "random"))
		return;
	if (pers != -1 && (pers & ADDR_NO_RANDOMIZE)) {
		layout = "fixed";
		return;
	}
	if (pers == -1 || personality(pers | ADDR_NO_RANDOMIZE) == -1) {
		perror("cs-workload: personality");
		return;
	}
	execv("/proc/self/exe", argv);
	perror("cs-workload: re-exec without ASLR");
}

/* The top of the [stack] mapping (fixed without ASLR), 0 when unknown. */
static uintptr_t stack_top(void)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	char line[256];
	uintptr_t top = 0;

	if (!maps)
		return 0;
	while (fgets(line, sizeof(line), maps)) {
		if (strstr(line, "[stack]")) {
			sscanf(line, "%*x-%lx", &top);
			break;
		}
	}
	fclose(maps);
	return top;
}

/* Where the batch's frames start: below the arguments, environment and auxv. */
#define STACK_BELOW_TOP	(256UL << 10)

/* Not inlined: its frames, and those it calls, go below the pad. */
static __attribute__((noinline)) int run(int argc, char **argv);

int main(int argc, char **argv)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0), top;
	volatile char *pad = NULL;

	fix_layout(argv);
	top = stack_top();
	if (!strcmp(layout, "fixed") && top && sp > top - STACK_BELOW_TOP) {
		pad = alloca(sp - (top - STACK_BELOW_TOP));
		__asm__ volatile("" : : "r"(pad) : "memory");
	}
	return run(argc, argv);
}

static int run(int argc, char **argv)
{
	const char *kind;
	long iters, arg = -1, clones;
	uint64_t t0, t1;

	if (argc < 3) {
		fprintf(stderr, "usage: cs-workload fork|vfork-exec|spawn|thread|cow|storm ITERS [ARG]\n");
		return 2;
	}
	kind = argv[1];
	iters = strtol(argv[2], NULL, 10);
	if (argc > 3) {
		arg = strtol(argv[3], NULL, 10);
		exec_path = argv[3];
	}
	if (iters <= 0) {
		fprintf(stderr, "cs-workload: ITERS must be > 0\n");
		return 2;
	}
	clones = iters;

	if (!strcmp(kind, "storm")) {
		long workers = arg > 0 ? arg : sysconf(_SC_NPROCESSORS_ONLN);
		int go[2];
		pid_t *pids = calloc(workers, sizeof(*pids));

		if (!pids || pipe(go)) {
			perror("cs-workload");
			return 1;
		}
		for (long w = 0; w < workers; w++) {
			pids[w] = fork();
			if (pids[w] == 0) {
				char c;

				close(go[1]);
				if (read(go[0], &c, 1) < 0)
					_exit(1);
				do_fork(iters);
				_exit(failures ? 1 : 0);
			}
			if (pids[w] < 0) {
				perror("cs-workload: fork");
				return 1;
			}
		}
		close(go[0]);
		settle();
		profile_start(1);
		t0 = now_ns();
		storm_release_and_wait(go[1], pids, workers);
		t1 = now_ns();
		profile_end(kind, 1, t0, t1);
		clones = iters * workers;
		free(pids);
	} else {
		void (*once)(void);

		if (!strcmp(kind, "fork")) {
			once = fork_once;
		} else if (!strcmp(kind, "vfork-exec")) {
			once = vfork_exec_once;
		} else if (!strcmp(kind, "spawn")) {
			once = spawn_once;
		} else if (!strcmp(kind, "thread")) {
			once = thread_once;
		} else if (!strcmp(kind, "cow")) {
			cow_setup(arg > 0 ? arg : 256);
			once = cow_once;
		} else {
			fprintf(stderr, "cs-workload: unknown kind '%s'\n", kind);
			return 2;
		}
		settle();
		profile_start(iters);
		t0 = now_ns();
		repeat(once, iters);
		t1 = now_ns();
		profile_end(kind, iters, t0, t1);
	}

	printf("kind=%s iters=%ld clones=%ld elapsed_ns=%llu ns_per_iter=%llu clones_per_s=%.1f failures=%d layout=%s pid=%d\n",
	       kind, iters, clones, (unsigned long long)(t1 - t0),
	       (unsigned long long)((t1 - t0) / clones),
	       clones * 1e9 / (double)(t1 - t0), failures, layout, (int)getpid());
	return failures ? 1 : 0;
}
