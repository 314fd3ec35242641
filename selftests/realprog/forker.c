/*
 * A program the realprog suite runs where the clonescope shim cannot load
 * (statically linked, setuid, or started with an emptied environment):
 * forks N children (default 3) that exit at once, waits for them, prints
 * one line and exits 0 when all went well.
 *
 * usage: forker [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3, ok = 0, i, status;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	}
	printf("forker: %d of %d children exited 0\n", ok, n);
	return ok == n ? 0 : 1;
}
