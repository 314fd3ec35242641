/*
 * Call sites that share a source line, for the report's grouping by
 * source location (built with -O2): a loop of system() calls the compiler
 * unrolls into one call instruction per iteration, and a fork helper
 * inlined at two places.  Each line is one site by source line, several
 * by return address.  Exit status 0 when every call succeeded.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYSTEM_CALLS 5

static int failures;

static inline __attribute__((always_inline)) void fork_and_reap(void)
{
	pid_t pid = fork(); /* the inlined line */
	int status;

	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		failures++;
}

__attribute__((noinline)) static void unrolled_systems(void)
{
#pragma GCC unroll 5 /* SYSTEM_CALLS: the pragma takes no macro */
	for (int i = 0; i < SYSTEM_CALLS; i++)
		failures += system("exit 0") != 0; /* the unrolled line */
}

__attribute__((noinline)) static void inlined_forks(void)
{
	fork_and_reap();
	fork_and_reap();
}

int main(void)
{
	unrolled_systems();
	inlined_forks();
	return failures ? 1 : 0;
}
