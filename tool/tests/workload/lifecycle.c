/*
 * A workload of known process lifecycles for the end-to-end tests: forks
 * COUNT children one after another; each child sleeps EXEC_MS, then execs
 * this program again, which exits with EXIT_CODE at once; the parent waits
 * for the child's exit without reaping it (waitid WNOWAIT), sleeps REAP_MS
 * with the child a zombie, then reaps it.
 *
 * Its own clock bounds what a tracer can measure: per child it prints
 * "bounds PID FORK_TO_EXEC_MAX_NS LIFETIME_MAX_NS ZOMBIE_MAX_NS": from
 * before fork() to the exec'd program's main() (the exec happened in
 * between), from before fork() to waitid() reporting the exit, and from
 * the exec'd program's last moment before _exit() to after waitpid().
 *
 * usage: clonescope_lifecycle COUNT EXEC_MS REAP_MS EXIT_CODE
 * Exit status 0 when every child exited with EXIT_CODE.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The exec'd child's times go to its parent on this fd. */
#define TIMES_FD	100

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int parse(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > max) {
		fprintf(stderr, "clonescope_lifecycle: bad number '%s'\n", s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	int count, exec_ms, reap_ms, code, i, failures = 0;

	/* The exec'd child: argv is "--exit CODE"; it tells its parent when
	 * main() began and when it exits, through the pipe on TIMES_FD.
	 */
	if (argc == 3 && argv[1][0] == '-') {
		long long t[2] = {now_ns(), 0};

		code = parse(argv[2], 255);
		t[1] = now_ns();
		if (write(TIMES_FD, t, sizeof(t)) != sizeof(t))
			return 126;
		_exit(code);
	}
	if (argc != 5) {
		fprintf(stderr, "usage: clonescope_lifecycle COUNT EXEC_MS REAP_MS EXIT_CODE\n");
		return 2;
	}
	count = parse(argv[1], 1000000);
	exec_ms = parse(argv[2], 60000);
	reap_ms = parse(argv[3], 60000);
	code = parse(argv[4], 255);
	for (i = 0; i < count; i++) {
		siginfo_t info = {0};
		long long before_fork, exited, t[2];
		int status, fds[2];
		pid_t pid;

		if (pipe(fds) != 0 || dup2(fds[1], TIMES_FD) != TIMES_FD) {
			perror("pipe");
			return 1;
		}
		close(fds[1]);
		before_fork = now_ns();
		pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			sleep_ms(exec_ms);
			execl("/proc/self/exe", "clonescope_lifecycle", "--exit", argv[4],
			      (char *)NULL);
			_exit(127);
		}
		close(TIMES_FD);
		if (read(fds[0], t, sizeof(t)) != sizeof(t)) {
			fprintf(stderr, "clonescope_lifecycle: child %d sent no times\n", pid);
			return 1;
		}
		close(fds[0]);
		if (waitid(P_PID, pid, &info, WEXITED | WNOWAIT) != 0) {
			perror("waitid");
			return 1;
		}
		exited = now_ns();
		sleep_ms(reap_ms);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != code)
			failures++;
		printf("bounds %d %lld %lld %lld\n", pid, t[0] - before_fork, exited - before_fork,
		       now_ns() - t[1]);
	}
	return failures != 0;
}
