// SPDX-License-Identifier: GPL-2.0
/*
 * Small /dev/clonescope helper for the benchmark.
 *
 * usage: cs-ctl stats         print the stats of the last session
 *        cs-ctl hold          open, ENABLE, print "ready", then hold the fd
 *                             without reading until SIGTERM/SIGINT
 *        cs-ctl drain         open, ENABLE, print "ready", read records into
 *                             nothing until SIGTERM/SIGINT, then DISABLE
 *                             and drain to EOF (a reader for when the
 *                             tool is not usable): a blocking read(),
 *                             woken by the module
 *        cs-ctl poll MS       as drain, but a non-blocking reader that
 *                             wakes itself every MS milliseconds and reads
 *                             until the buffers are empty
 *
 * hold and drain print the session's stats when they stop.  Everything
 * is printed as key=value pairs on one line; after a session that
 * aggregated in the kernel (clonescope stat), the stats line ends with
 * the kernel_clone durations the module aggregated: clone_count,
 * clone_mean_ns and clone_p50_ns (estimated in its log2 histogram).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/clonescope.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int open_dev(void)
{
	int fd = open("/dev/" CLONESCOPE_DEVICE_NAME, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "cs-ctl: cannot open /dev/%s: %s\n",
			CLONESCOPE_DEVICE_NAME, strerror(errno));
		exit(1);
	}
	return fd;
}

/* The median of a log2 histogram, interpolated inside its bucket. */
static unsigned long long log2_median(const unsigned long long *buckets,
				      unsigned long long n)
{
	unsigned long long below = 0, rank = (n + 1) / 2;
	int i;

	for (i = 0; i < CLONESCOPE_AGG_BUCKETS; i++) {
		unsigned long long lo = i ? 1ULL << i : 0, hi = (2ULL << i) - 1;

		if (below + buckets[i] >= rank)
			return lo + (hi - lo) * (rank - below) / buckets[i];
		below += buckets[i];
	}
	return 0;
}

/* Adds the aggregated kernel_clone durations, if the module kept any. */
static void print_aggregate(int fd)
{
	static struct clonescope_aggregate agg;
	unsigned long long buckets[CLONESCOPE_AGG_BUCKETS] = {}, n = 0, sum = 0;
	int k, b;

	memset(&agg, 0, sizeof(agg));
	agg.size = sizeof(agg);
	if (ioctl(fd, CLONESCOPE_IOC_GET_AGGREGATE, &agg))
		return;
	for (k = 0; k < CLONESCOPE_AGG_NR_KINDS; k++) {
		n += agg.kinds[k].duration_ns.count;
		sum += agg.kinds[k].duration_ns.sum;
		for (b = 0; b < CLONESCOPE_AGG_BUCKETS; b++)
			buckets[b] += agg.kinds[k].duration_ns.buckets[b];
	}
	if (n)
		printf(" clone_count=%llu clone_mean_ns=%llu clone_p50_ns=%llu", n, sum / n,
		       log2_median(buckets, n));
}

static int print_stats(int fd)
{
	struct clonescope_stats st = { .size = sizeof(st) };

	if (ioctl(fd, CLONESCOPE_IOC_GET_STATS, &st)) {
		fprintf(stderr, "cs-ctl: GET_STATS: %s\n", strerror(errno));
		return 1;
	}
	printf("enabled=%u nr_cpus=%u pages_per_cpu=%u produced=%llu delivered=%llu dropped=%llu inflight_overflow=%llu handler_calls=%llu handler_ns=%llu clones=%llu",
	       st.enabled, st.nr_cpus, st.pages_per_cpu,
	       (unsigned long long)st.produced,
	       (unsigned long long)st.delivered,
	       (unsigned long long)st.dropped,
	       (unsigned long long)st.inflight_overflow,
	       (unsigned long long)st.handler_calls,
	       (unsigned long long)st.handler_ns,
	       (unsigned long long)st.clones);
	print_aggregate(fd);
	printf("\n");
	fflush(stdout);
	return 0;
}

/*
 * Traces every clone with every probe group: a filter or options an
 * earlier owner set stay set.  Self-cost sampled, as clonescope record and
 * stat ask for it, so the breakdown's variants pay what the tool's do.
 */
static void enable(int fd)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct clonescope_filter all = { .size = sizeof(all) };
	struct clonescope_options opts = {
		.size = sizeof(opts),
		.probes = CLONESCOPE_PROBES_ALL,
		.flags = CLONESCOPE_OPT_SAMPLED_COST,
	};

	/* No SA_RESTART: a blocked read() returns EINTR. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (ioctl(fd, CLONESCOPE_IOC_SET_FILTER, &all)) {
		fprintf(stderr, "cs-ctl: SET_FILTER: %s\n", strerror(errno));
		exit(1);
	}
	if (ioctl(fd, CLONESCOPE_IOC_SET_OPTIONS, &opts)) {
		fprintf(stderr, "cs-ctl: SET_OPTIONS: %s\n", strerror(errno));
		exit(1);
	}
	if (ioctl(fd, CLONESCOPE_IOC_ENABLE)) {
		fprintf(stderr, "cs-ctl: ENABLE: %s\n", strerror(errno));
		exit(1);
	}
	printf("ready\n");
	fflush(stdout);
}

static int hold(void)
{
	int fd = open_dev();
	sigset_t block, old;

	/* Blocked until sigsuspend(): a signal cannot slip in before it. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	enable(fd);
	while (!stop)
		sigsuspend(&old);
	if (ioctl(fd, CLONESCOPE_IOC_DISABLE))
		fprintf(stderr, "cs-ctl: DISABLE: %s\n", strerror(errno));
	return print_stats(fd);
}

static char buf[1 << 16] __attribute__((aligned(8)));

/* Reads until the buffers are empty, without blocking. */
static int read_available(int fd)
{
	int flags = fcntl(fd, F_GETFL);
	ssize_t n;

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	do {
		n = read(fd, buf, sizeof(buf));
	} while (n > 0);
	fcntl(fd, F_SETFL, flags);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		fprintf(stderr, "cs-ctl: read: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* After SIGTERM: stop tracing, read to EOF, print the stats. */
static int finish(int fd)
{
	ssize_t n;

	if (ioctl(fd, CLONESCOPE_IOC_DISABLE))
		fprintf(stderr, "cs-ctl: DISABLE: %s\n", strerror(errno));
	do {
		n = read(fd, buf, sizeof(buf));
	} while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0) {
		fprintf(stderr, "cs-ctl: read: %s\n", strerror(errno));
		return 1;
	}
	return print_stats(fd);
}

static int drain(void)
{
	int fd = open_dev();
	ssize_t n;

	enable(fd);
	while (!stop) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "cs-ctl: read: %s\n", strerror(errno));
			return 1;
		}
	}
	return finish(fd);
}

static int poll_every(long ms)
{
	struct timespec period = { ms / 1000, ms % 1000 * 1000000L };
	int fd = open_dev();

	enable(fd);
	while (!stop) {
		/* A signal cuts the sleep short: then stop is set. */
		nanosleep(&period, NULL);
		if (read_available(fd))
			return 1;
	}
	return finish(fd);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "stats"))
		return print_stats(open_dev());
	if (argc == 2 && !strcmp(argv[1], "hold"))
		return hold();
	if (argc == 2 && !strcmp(argv[1], "drain"))
		return drain();
	if (argc == 3 && !strcmp(argv[1], "poll") && atol(argv[2]) > 0)
		return poll_every(atol(argv[2]));
	fprintf(stderr, "usage: cs-ctl stats|hold|drain|poll MS\n");
	return 2;
}
