/*
 * libclonescope_early_caller.so: calls what the shim interposes from a
 * constructor that runs before the shim's, as jemalloc and tcmalloc do
 * when their initialisation is set off by another library's constructor
 * (redis-server crashed that way).  Preload it after the shim
 * (LD_PRELOAD="shim this"): the loader runs the constructors of later
 * entries first.
 *
 * It checks that syscall(2) keeps glibc's semantics (result, -1 and
 * errno), that a clone3 with a bad argument pointer fails with EFAULT
 * instead of crashing, and that pthread_create and fork work.  On any
 * failure it says what and _exits 3, before the program's main runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "early_caller: %s failed (errno %d)\n", what, errno);
		_exit(3);
	}
}

static void *thread_main(void *arg)
{
	return arg;
}

__attribute__((constructor)) static void early_caller(void)
{
	int marker = 42, status;
	void *result = NULL;
	pthread_t t;
	pid_t pid;

	check(syscall(SYS_getpid) == getpid(), "syscall(SYS_getpid)");
	errno = 0;
	check(syscall(SYS_close, -1) == -1 && errno == EBADF, "syscall(SYS_close, -1) -> EBADF");
	errno = 0;
	check(syscall(SYS_clone3, (void *)8, 88) == -1 && errno == EFAULT,
	      "syscall(SYS_clone3, bad pointer) -> EFAULT");
	check(pthread_create(&t, NULL, thread_main, &marker) == 0, "pthread_create");
	check(pthread_join(t, &result) == 0 && result == &marker, "pthread_join");
	pid = fork();
	if (pid == 0)
		_exit(0);
	check(pid > 0, "fork");
	check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "the fork child's exit");
}
