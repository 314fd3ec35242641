// SPDX-License-Identifier: GPL-2.0
/*
 * The demo's workload: one of each way a program commonly creates a task
 * (fork, vfork, posix_spawn, pthread_create, system), so `make demo` shows
 * how each appears in clonescope's records.  Not a test: guest-check.sh
 * runs only *_test binaries.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void reap(pid_t pid, const char *what)
{
	int status;

	if (pid < 0)
		err(1, "%s", what);
	if (waitpid(pid, &status, 0) != pid)
		err(1, "waitpid after %s", what);
	printf("%-14s child %d exited %d\n", what, pid, WEXITSTATUS(status));
}

/* For the calls that return an error number instead of setting errno. */
static void check(int ret, const char *what)
{
	errno = ret;
	if (ret)
		err(1, "%s", what);
}

static void *thread_main(void *arg)
{
	(void)arg;
	printf("%-14s thread %d\n", "pthread_create", gettid());
	return NULL;
}

int main(void)
{
	char *const true_argv[] = { "true", NULL };
	pthread_t thread;
	pid_t pid;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);

	pid = fork();
	if (!pid)
		_exit(0);
	reap(pid, "fork");

	pid = vfork();
	if (!pid)
		_exit(0);
	reap(pid, "vfork");

	check(posix_spawnp(&pid, "true", NULL, NULL, true_argv, environ), "posix_spawnp");
	reap(pid, "posix_spawn");

	check(pthread_create(&thread, NULL, thread_main, NULL), "pthread_create");
	check(pthread_join(thread, NULL), "pthread_join");

	ret = system("true");
	printf("%-14s exited %d\n", "system", WEXITSTATUS(ret));
	return 0;
}
