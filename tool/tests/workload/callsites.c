/*
 * A workload with known call sites for the end-to-end tests: each kind of
 * task creation is called from its own function, a known number of times.
 *
 * usage: clonescope_callsites [FORKS SPAWNS THREADS SYSTEMS VFORKS POPENS CLONE3S]
 * (defaults 100 50 10 5 20 3 4).  Every child exits at once; exit status 0
 * when every call succeeded.
 */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int failures;

static void reap(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		failures++;
}

__attribute__((noinline)) static void site_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	reap(pid);
}

__attribute__((noinline)) static void site_spawn(void)
{
	char *argv[] = {"true", NULL};
	pid_t pid;

	if (posix_spawnp(&pid, "true", NULL, NULL, argv, environ) != 0)
		failures++;
	else
		reap(pid);
}

static void *thread_main(void *arg)
{
	return arg;
}

__attribute__((noinline)) static void site_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, thread_main, NULL) != 0)
		failures++;
	else
		pthread_join(t, NULL);
}

__attribute__((noinline)) static void site_system(void)
{
	if (system("true") != 0)
		failures++;
}

__attribute__((noinline)) static void site_vfork(void)
{
	pid_t pid = vfork();

	if (pid == 0)
		_exit(0);
	reap(pid);
}

__attribute__((noinline)) static void site_popen(void)
{
	FILE *f = popen("true", "r");

	if (!f || pclose(f) != 0)
		failures++;
}

/* clone3 has no glibc wrapper: a fork-like clone3 through syscall(2). */
__attribute__((noinline)) static void site_clone3(void)
{
	struct clone_args args = {.exit_signal = SIGCHLD};
	long pid = syscall(SYS_clone3, &args, sizeof(args));

	if (pid == 0)
		_exit(0);
	reap((pid_t)pid);
}

int main(int argc, char **argv)
{
	static void (*const sites[])(void) = {site_fork,  site_spawn, site_thread, site_system,
					      site_vfork, site_popen, site_clone3};
	const long defaults[] = {100, 50, 10, 5, 20, 3, 4};
	int i;

	for (i = 0; i < 7; i++) {
		long n = argc > i + 1 ? strtol(argv[i + 1], NULL, 10) : defaults[i];

		while (n-- > 0)
			sites[i]();
	}
	if (failures)
		fprintf(stderr, "callsites: %d calls failed\n", failures);
	return failures ? 1 : 0;
}
