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
 * where ns_per_iter is elapsed / iters (storm: elapsed / all its forks,
 * i.e. the inverse of the aggregate clone rate).  Exit status 0 when every
 * task was created and exited cleanly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static void do_fork(long iters)
{
	for (long i = 0; i < iters; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		reap(pid);
	}
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

static void do_vfork_exec(long iters)
{
	for (long i = 0; i < iters; i++)
		vfork_exec_once();
}

static void do_spawn(long iters)
{
	char *argv[] = { "true", NULL };

	for (long i = 0; i < iters; i++) {
		pid_t pid;

		if (posix_spawn(&pid, exec_path, NULL, NULL, argv, environ))
			failures++;
		else
			reap(pid);
	}
}

static void *thread_fn(void *arg)
{
	return arg;
}

static void do_thread(long iters)
{
	for (long i = 0; i < iters; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_fn, NULL)) {
			failures++;
			continue;
		}
		pthread_join(t, NULL);
	}
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

static void do_cow(long iters)
{
	for (long i = 0; i < iters; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			for (size_t off = 0; off < cow_bytes; off += 10 * PAGE_SZ)
				cow_area[off]++;
			_exit(0);
		}
		reap(pid);
	}
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

int main(int argc, char **argv)
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
		t0 = now_ns();
		storm_release_and_wait(go[1], pids, workers);
		t1 = now_ns();
		clones = iters * workers;
		free(pids);
	} else {
		void (*fn)(long);

		if (!strcmp(kind, "fork")) {
			fn = do_fork;
		} else if (!strcmp(kind, "vfork-exec")) {
			fn = do_vfork_exec;
		} else if (!strcmp(kind, "spawn")) {
			fn = do_spawn;
		} else if (!strcmp(kind, "thread")) {
			fn = do_thread;
		} else if (!strcmp(kind, "cow")) {
			cow_setup(arg > 0 ? arg : 256);
			fn = do_cow;
		} else {
			fprintf(stderr, "cs-workload: unknown kind '%s'\n", kind);
			return 2;
		}
		settle();
		t0 = now_ns();
		fn(iters);
		t1 = now_ns();
	}

	printf("kind=%s iters=%ld clones=%ld elapsed_ns=%llu ns_per_iter=%llu clones_per_s=%.1f failures=%d\n",
	       kind, iters, clones, (unsigned long long)(t1 - t0),
	       (unsigned long long)((t1 - t0) / clones),
	       clones * 1e9 / (double)(t1 - t0), failures);
	return failures ? 1 : 0;
}
