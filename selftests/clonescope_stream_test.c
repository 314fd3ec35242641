// SPDX-License-Identifier: GPL-2.0
/*
 * clonescope selftests of the record stream as a whole: child-start
 * records, the filters, in-stream loss reports when the buffer overflows,
 * reads smaller than what waits, concurrent clones on several CPUs and
 * many sleeping in the kernel at once, and a blocked reader being woken:
 * by the timer, at the latency it chose, by a half-full buffer, and at
 * the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clonescope_harness.h"

/* concurrent_forks: threads forking at once, and forks each. */
#define NR_FORKERS		2
#define FORKS_PER_THREAD	50

TEST_F(clonescope, child_start)
{
	const struct clonescope_child_start_event *start;
	const struct clonescope_clone_event *ev;
	const struct clonescope_record_header *hdr;
	struct clonescope_version v;
	pid_t pid;

	ASSERT_EQ(0, cs_get_version(self->fd, &v));
	if (!(v.features & CLONESCOPE_FEAT_CHILD_START))
		SKIP(return, "module without CLONESCOPE_FEAT_CHILD_START");
	ASSERT_EQ(0, cs_trace_self(self->fd));
	pid = cs_fork_exit(_metadata);
	cs_wait_exited(_metadata, pid);

	ev = cs_drain_one_clone(_metadata, self);
	ASSERT_EQ(1, cs_count_records(self->buf, self->len, CLONESCOPE_RECORD_CHILD_START, &hdr));
	ASSERT_LE(sizeof(*start), hdr->size);
	start = (const struct clonescope_child_start_event *)hdr;
	ASSERT_EQ(pid, start->pid);
	ASSERT_EQ(pid, start->tgid);
	ASSERT_EQ(getpid(), start->parent_tgid);
	/* The child cannot run before its parent entered the clone call. */
	ASSERT_LE(ev->start_ns, start->hdr.timestamp_ns);
}

/*
 * Overflowing a one-page buffer: the drops are reported in-stream, add up
 * to the dropped counter, and produced == delivered + dropped.
 */
TEST_F(clonescope, lost_records)
{
	const struct clonescope_record_header *hdr;
	struct clonescope_stats stats;
	__u64 lost = 0, records = 0;
	size_t off = 0;
	int i, forks, err;
	pid_t pid;

	cs_set_buffer(_metadata, self, 1);
	ASSERT_EQ(0, cs_get_stats(self->fd, &stats));
	ASSERT_EQ(1, stats.pages_per_cpu);
	/* Twice as many clone records as all the buffers can hold. */
	forks = 2 * stats.nr_cpus * sysconf(_SC_PAGESIZE) /
		sizeof(struct clonescope_clone_event) + 1;

	ASSERT_EQ(0, cs_trace_self(self->fd));
	for (i = 0; i < forks; i++) {
		pid = cs_fork_exit(_metadata);
		cs_wait_exited(_metadata, pid);
	}
	cs_drain_all(_metadata, self);

	while ((hdr = cs_next_record(self->buf, self->len, &off, &err))) {
		if (hdr->type == CLONESCOPE_RECORD_LOST)
			lost += ((const struct clonescope_lost_event *)hdr)->lost;
		else
			records++;
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, cs_get_stats(self->fd, &stats));
	ASSERT_LT(0, stats.dropped);
	ASSERT_EQ(stats.dropped, lost);
	ASSERT_EQ(records, stats.delivered);
	ASSERT_EQ(stats.produced, stats.delivered + stats.dropped);
}

/*
 * read() copies each run of consecutive records out at once: a read of
 * CLONESCOPE_READ_MIN bytes, fewer than wait, still ends after the last
 * whole record that fits, and the next read goes on from there.  A
 * one-page buffer wraps every few forks, so runs also end at the padding
 * before the array's end.  Every record comes out once, none is dropped.
 */
TEST_F(clonescope, small_reads_take_whole_records)
{
	const struct clonescope_record_header *hdr;
	struct clonescope_stats stats;
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	__u64 records = 0;
	int round, i, err, forks = 0, clones = 0;
	size_t off, len = 0;
	ssize_t n;
	pid_t pid;

	cs_set_buffer(_metadata, self, 1);
	ASSERT_EQ(0, cs_trace_self(self->fd));
	for (round = 0; round < 8; round++) {
		/* What fits in the page (about 800 bytes a fork), some of it again. */
		for (i = 0; i < 3; i++, forks++) {
			pid = cs_fork_exit(_metadata);
			cs_wait_exited(_metadata, pid);
		}
		while (poll(&pfd, 1, 0) == 1) {
			ASSERT_LE(CLONESCOPE_READ_MIN, CS_DRAIN_BUF_SIZE - len);
			n = read(self->fd, (char *)self->buf + len, CLONESCOPE_READ_MIN);
			ASSERT_LT(0, n) TH_LOG("read: %s", strerror(errno));
			ASSERT_GE(CLONESCOPE_READ_MIN, n);
			/* Whole records only: they end where the read does. */
			off = 0;
			while ((hdr = cs_next_record((char *)self->buf + len, n, &off, &err)))
				;
			ASSERT_EQ(0, err);
			ASSERT_EQ((size_t)n, off);
			len += n;
		}
	}
	n = cs_drain(self->fd, (char *)self->buf + len, CS_DRAIN_BUF_SIZE - len);
	ASSERT_LE(0, n) TH_LOG("drain: %s", strerror(-n));
	self->len = len + n;

	off = 0;
	while ((hdr = cs_next_record(self->buf, self->len, &off, &err))) {
		const struct clonescope_clone_event *ev = (const void *)hdr;

		records++;
		clones += hdr->type == CLONESCOPE_RECORD_CLONE &&
			  ev->parent_tgid == (__u32)getpid();
	}
	ASSERT_EQ(0, err);
	ASSERT_EQ(forks, clones);
	ASSERT_EQ(0, cs_get_stats(self->fd, &stats));
	ASSERT_EQ(0, stats.dropped);
	ASSERT_EQ(stats.delivered, records);
}

/* kprobe and kretprobe misses over all probes, since the module loaded. */
static __u64 probe_misses(struct __test_metadata *_metadata, int fd)
{
	struct clonescope_probe_info info;
	struct clonescope_stats stats;
	__u64 missed = 0;
	__u32 i;

	ASSERT_EQ(0, cs_get_stats(fd, &stats));
	for (i = 0; i < stats.nr_probes; i++) {
		ASSERT_EQ(0, cs_get_probe(fd, i, &info));
		missed += info.nmissed;
	}
	return missed;
}

/*
 * Drains the stream, checking that no record was dropped and no probe hit
 * missed since @misses was read.
 */
static void drain_nothing_missed(struct __test_metadata *_metadata,
				 FIXTURE_DATA(clonescope) *self, __u64 misses)
{
	struct clonescope_stats stats;

	cs_drain_all(_metadata, self);
	ASSERT_EQ(0, cs_get_stats(self->fd, &stats));
	ASSERT_EQ(0, stats.dropped);
	ASSERT_EQ(0, stats.inflight_overflow);
	ASSERT_EQ(misses, probe_misses(_metadata, self->fd));
}

struct forker {
	pid_t tid;
	pid_t pids[FORKS_PER_THREAD];
	int failed;
};

static void *forker_main(void *arg)
{
	struct forker *f = arg;
	int i;

	f->tid = gettid();
	for (i = 0; i < FORKS_PER_THREAD; i++) {
		f->pids[i] = fork();
		if (!f->pids[i])
			_exit(0);
		if (f->pids[i] < 0 || waitpid(f->pids[i], NULL, 0) != f->pids[i])
			f->failed = 1;
	}
	return NULL;
}

/*
 * Two threads forking at once: every clone recorded once, to the right
 * thread, with no probe hit missed (a missed kretprobe loses a record).
 */
TEST_F(clonescope, concurrent_forks)
{
	/* A fork's COW record comes when its child's mm goes. */
	const size_t per_clone = sizeof(struct clonescope_clone_event) +
				 sizeof(struct clonescope_child_start_event) +
				 sizeof(struct clonescope_cow_event);
	/* Each thread's own creation, and its forks. */
	const int clones = NR_FORKERS * (1 + FORKS_PER_THREAD);
	struct forker forkers[NR_FORKERS] = {};
	pthread_t threads[NR_FORKERS];
	const struct clonescope_record_header *first;
	const struct clonescope_clone_event *ev;
	__u64 misses;
	int t, i;

	/* Room for every record even if all land on one CPU: nothing dropped. */
	cs_set_buffer(_metadata, self, clones * per_clone / sysconf(_SC_PAGESIZE) + 1);

	misses = probe_misses(_metadata, self->fd);
	ASSERT_EQ(0, cs_trace_self(self->fd));
	for (t = 0; t < NR_FORKERS; t++)
		ASSERT_EQ(0, pthread_create(&threads[t], NULL, forker_main, &forkers[t]));
	for (t = 0; t < NR_FORKERS; t++) {
		ASSERT_EQ(0, pthread_join(threads[t], NULL));
		ASSERT_EQ(0, forkers[t].failed);
	}
	drain_nothing_missed(_metadata, self, misses);
	ASSERT_EQ(clones, cs_count_records(self->buf, self->len,
					   CLONESCOPE_RECORD_CLONE, &first));
	for (t = 0; t < NR_FORKERS; t++) {
		for (i = 0; i < FORKS_PER_THREAD; i++) {
			ASSERT_EQ(1, cs_find_clone(self->buf, self->len,
						   forkers[t].pids[i], &ev));
			ASSERT_EQ(forkers[t].tid, ev->parent_pid);
			ASSERT_EQ(getpid(), ev->parent_tgid);
			ASSERT_EQ(forkers[t].pids[i], ev->result);
		}
	}
}

struct vforker {
	int release_fd;		/* the vfork child blocks reading this */
	int *ready;		/* children about to block */
	pid_t pid;
	int failed;
};

static void *vforker_main(void *arg)
{
	struct vforker *v = arg;
	char c;

	v->pid = vfork();
	if (!v->pid) {
		/*
		 * The child shares our memory: count it in, then block, keeping
		 * this thread asleep inside kernel_clone() until released.
		 */
		__atomic_add_fetch(v->ready, 1, __ATOMIC_RELEASE);
		_exit(read(v->release_fd, &c, 1) != 1);
	}
	if (v->pid < 0 || waitpid(v->pid, NULL, 0) != v->pid)
		v->failed = 1;
	return NULL;
}

/*
 * Many vfork parents asleep in kernel_clone() at once, far more than
 * kretprobe's default maxactive (2 per CPU): each clone is still recorded
 * and no return is missed.
 */
TEST_F(clonescope, concurrent_vforks)
{
	const int nr = 16 * sysconf(_SC_NPROCESSORS_ONLN);
	const struct clonescope_clone_event *ev;
	struct vforker *vforkers;
	pthread_t *threads;
	int release[2], ready = 0, i, waited;
	__u64 misses;

	vforkers = calloc(nr, sizeof(*vforkers));
	threads = calloc(nr, sizeof(*threads));
	ASSERT_NE(NULL, vforkers);
	ASSERT_NE(NULL, threads);
	ASSERT_EQ(0, pipe(release));

	misses = probe_misses(_metadata, self->fd);
	ASSERT_EQ(0, cs_trace_self(self->fd));
	for (i = 0; i < nr; i++) {
		vforkers[i] = (struct vforker){ .release_fd = release[0], .ready = &ready };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, vforker_main, &vforkers[i]));
	}
	for (waited = 0; waited < 10000; waited++) {
		if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) == nr)
			break;
		usleep(1000);
	}
	ASSERT_EQ(nr, __atomic_load_n(&ready, __ATOMIC_ACQUIRE));
	for (i = 0; i < nr; i++)
		ASSERT_EQ(1, write(release[1], "", 1));
	for (i = 0; i < nr; i++) {
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
		ASSERT_EQ(0, vforkers[i].failed);
	}
	drain_nothing_missed(_metadata, self, misses);
	for (i = 0; i < nr; i++) {
		ASSERT_EQ(1, cs_find_clone(self->buf, self->len, vforkers[i].pid, &ev));
		ASSERT_EQ(CLONESCOPE_SYSCALL_VFORK, ev->syscall);
		ASSERT_EQ(vforkers[i].pid, ev->result);
	}
	free(threads);
	free(vforkers);
}

struct reader {
	int fd;
	void *buf;
	pid_t tid;
	ssize_t len;
	int reads;		/* batch_reader_main: reads that got data */
	__u64 first_ns;		/* batch_reader_main: its first read's return */
	ssize_t first_len;	/* ... and what it got */
};


static void *reader_main(void *arg)
{
	struct reader *r = arg;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_RELEASE);
	r->len = read(r->fd, r->buf, CS_DRAIN_BUF_SIZE);
	if (r->len < 0)
		r->len = -errno;
	return NULL;
}

/* The scheduler state of one of our threads ('S': sleeping), or 0. */
static char thread_state(pid_t tid)
{
	char path[64], stat[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	stat[n] = '\0';
	paren = strrchr(stat, ')');
	return paren && paren[1] ? paren[2] : 0;
}

/*
 * Forks a helper that, once a byte arrives on @go[0], forks @n children one
 * after another (each exits at once and is waited for), @gap_ns apart.
 */
static pid_t start_gated_forker(int go[2], int n, long gap_ns)
{
	struct timespec gap = { 0, gap_ns };
	pid_t helper = fork();
	char c;
	int i;

	if (helper)
		return helper;
	if (read(go[0], &c, 1) != 1)
		_exit(1);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (!pid)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			_exit(1);
		if (gap_ns)
			nanosleep(&gap, NULL);
	}
	_exit(0);
}

/*
 * A read() blocked on an empty buffer returns when a clone writes records.
 * The clone comes from a helper process, so that creating the reader
 * thread (a clone of ours) is not traced and the buffer stays empty.  The
 * child may run before its parent returns, so the woken read() may hold
 * only the child-start record: drain the rest before looking for the clone.
 */
TEST_F(clonescope, blocking_read_wakes)
{
	struct reader r = { .fd = self->fd, .buf = self->buf };
	const struct clonescope_clone_event *ev;
	const struct clonescope_record_header *first;
	pthread_t thread;
	pid_t helper;
	int go[2], waited;
	char c = 0;

	ASSERT_EQ(0, pipe(go));
	helper = start_gated_forker(go, 1, 0);
	ASSERT_LE(0, helper);
	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, helper));

	ASSERT_EQ(0, pthread_create(&thread, NULL, reader_main, &r));
	for (waited = 0; waited < 10000; waited++) {
		if (__atomic_load_n(&r.tid, __ATOMIC_ACQUIRE) && thread_state(r.tid) == 'S')
			break;
		usleep(1000);
	}
	ASSERT_EQ('S', thread_state(r.tid)) TH_LOG("reader never blocked");

	ASSERT_EQ(1, write(go[1], &c, 1));
	cs_wait_exited(_metadata, helper);
	ASSERT_EQ(0, pthread_join(thread, NULL));

	ASSERT_LT(0, r.len) TH_LOG("read: %s", strerror(-r.len));
	self->len = cs_drain(self->fd, (char *)self->buf + r.len, CS_DRAIN_BUF_SIZE - r.len);
	ASSERT_LE(0, self->len);
	self->len += r.len;
	ASSERT_EQ(1, cs_count_records(self->buf, self->len, CLONESCOPE_RECORD_CLONE, &first));
	ev = (const struct clonescope_clone_event *)first;
	ASSERT_EQ(helper, ev->parent_tgid);
}

/* A blocking reader that reads until EOF, counting the reads that got data. */
static void *batch_reader_main(void *arg)
{
	struct reader *r = arg;
	ssize_t n;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_RELEASE);
	do {
		n = read(r->fd, (char *)r->buf + r->len, CS_DRAIN_BUF_SIZE - r->len);
		if (n > 0) {
			if (!r->reads++) {
				r->first_len = n;
				__atomic_store_n(&r->first_ns, cs_now_ns(), __ATOMIC_RELEASE);
			}
			r->len += n;
		}
	} while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0)
		r->len = -errno;
	return NULL;
}

/*
 * A blocked reader is woken by the module's timer (or a half-full
 * buffer), not per record: 40 forks a few ms apart come in a handful of
 * reads (one per 100 ms tick), where a wakeup per wait took about one
 * per fork.
 */
TEST_F(clonescope, blocked_reader_batches)
{
	struct reader r = { .fd = self->fd, .buf = self->buf };
	const struct clonescope_record_header *first;
	struct clonescope_version v;
	pthread_t thread;
	pid_t helper;
	int go[2];
	char c = 0;

	ASSERT_EQ(0, cs_get_version(self->fd, &v));
	if (!(v.features & CLONESCOPE_FEAT_TIMED_WAKEUP))
		SKIP(return, "module wakes readers per record (ABI 1.0)");
	ASSERT_EQ(0, pipe(go));
	helper = start_gated_forker(go, 40, 2 * 1000 * 1000);
	ASSERT_LE(0, helper);
	ASSERT_EQ(0, cs_trace(self->fd, CLONESCOPE_FILTER_TGID, helper));
	ASSERT_EQ(0, pthread_create(&thread, NULL, batch_reader_main, &r));
	ASSERT_EQ(1, write(go[1], &c, 1));
	cs_wait_exited(_metadata, helper);
	/* Stops tracing: the reader gets what is left, then EOF. */
	ASSERT_EQ(0, cs_disable(self->fd));
	ASSERT_EQ(0, pthread_join(thread, NULL));

	ASSERT_LE(0, r.len) TH_LOG("read: %s", strerror(-r.len));
	ASSERT_EQ(40, cs_count_records(self->buf, r.len, CLONESCOPE_RECORD_CLONE, &first));
	TH_LOG("40 forks in %d reads", r.reads);
	ASSERT_LE(r.reads, 20);
}

/*
 * SET_OPTIONS with a reader wake-up latency, arming every probe group as
 * the module's default does (the option sets the groups too).
 */
static int set_wakeup(int fd, __u32 flags, __u32 wakeup_ms)
{
	return cs_set_options(fd, sizeof(struct clonescope_options),
			      CLONESCOPE_PROBES_ALL, flags, wakeup_ms);
}

/* Whether the module lets the reader choose its wake-up latency (1.6). */
static bool has_wakeup_latency(int fd)
{
	struct clonescope_version v;

	return !cs_get_version(fd, &v) && (v.features & CLONESCOPE_FEAT_WAKEUP_LATENCY);
}

/* Waits up to @ns for @r's first read to return: its time, or 0. */
static __u64 wait_first_read(const struct reader *r, __u64 ns)
{
	__u64 deadline = cs_now_ns() + ns, first;

	while (!(first = __atomic_load_n(&r->first_ns, __ATOMIC_ACQUIRE)) &&
	       cs_now_ns() < deadline)
		usleep(10 * 1000);
	return first;
}

/*
 * @n forks, @gap_ns apart, of a helper traced while @r's batch reader,
 * blocked in read() before they begin, waits with the latency
 * @wakeup_ms.  Once the helper is done, waits up to @wait_ns for the
 * reader's first read, then DISABLEs and waits for the reader's EOF.
 * Returns when that first read returned (0: not by then); *@went is when
 * the forks began.
 */
static __u64 read_gated_forks(struct __test_metadata *_metadata, struct reader *r,
			      __u32 wakeup_ms, int n, long gap_ns, __u64 wait_ns,
			      __u64 *went)
{
	pthread_t thread;
	pid_t helper;
	int go[2], waited;
	__u64 woken;
	char c = 0;

	ASSERT_EQ(0, set_wakeup(r->fd, CLONESCOPE_OPT_WAKEUP_MS, wakeup_ms));
	ASSERT_EQ(0, pipe(go));
	helper = start_gated_forker(go, n, gap_ns);
	ASSERT_LE(0, helper);
	ASSERT_EQ(0, cs_trace(r->fd, CLONESCOPE_FILTER_TGID, helper));
	ASSERT_EQ(0, pthread_create(&thread, NULL, batch_reader_main, r));
	for (waited = 0; waited < 10000; waited++) {
		if (__atomic_load_n(&r->tid, __ATOMIC_ACQUIRE) && thread_state(r->tid) == 'S')
			break;
		usleep(1000);
	}
	ASSERT_EQ('S', thread_state(r->tid)) TH_LOG("reader never blocked");
	ASSERT_EQ(1, write(go[1], &c, 1));
	*went = cs_now_ns();
	cs_wait_exited(_metadata, helper);
	woken = wait_first_read(r, wait_ns);
	ASSERT_EQ(0, cs_disable(r->fd));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_LE(0, r->len) TH_LOG("read: %s", strerror(-r->len));
	return woken;
}

/*
 * A reader that chose a 2 s latency is woken by the timer within it, with
 * all the records of 5 forks 50 ms apart in one read (the default 100 ms
 * tick gives them in several), without waiting for DISABLE.
 */
TEST_F(clonescope, chosen_wakeup_latency)
{
	struct reader r = { .fd = self->fd, .buf = self->buf };
	const struct clonescope_record_header *first;
	__u64 went, woken;

	if (!has_wakeup_latency(self->fd))
		SKIP(return, "module has no reader wake-up latency (ABI < 1.6)");
	/* 2 s, and as much again for a loaded TCG host. */
	woken = read_gated_forks(_metadata, &r, 2000, 5, 50 * 1000 * 1000, 4 * CT_SEC, &went);
	ASSERT_NE(0, woken) TH_LOG("the reader was not woken within 4 s of a 2 s latency");
	TH_LOG("first read %llu ms after the forks began, %d reads",
	       (unsigned long long)(woken - went) / CT_MSEC, r.reads);
	ASSERT_EQ(5, cs_count_records(self->buf, r.first_len, CLONESCOPE_RECORD_CLONE, &first))
		TH_LOG("woken before the 2 s latency: not all forks in the first read");
}

/*
 * With the longest latency, a buffer filled past half still wakes the
 * reader at once: 40 forks into one page per CPU.
 */
TEST_F(clonescope, watermark_wakes_early)
{
	struct reader r = { .fd = self->fd, .buf = self->buf };
	struct clonescope_stats st;
	__u64 went, woken;

	if (!has_wakeup_latency(self->fd))
		SKIP(return, "module has no reader wake-up latency (ABI < 1.6)");
	cs_set_buffer(_metadata, self, 1);
	woken = read_gated_forks(_metadata, &r, CLONESCOPE_MAX_WAKEUP_MS, 40, 0, 5 * CT_SEC,
				 &went);
	ASSERT_NE(0, woken) TH_LOG("a half-full buffer did not wake the reader (latency 10 s)");
	TH_LOG("first read %llu ms after the forks began",
	       (unsigned long long)(woken - went) / CT_MSEC);
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	ASSERT_EQ(st.produced, st.delivered + st.dropped);
}

/*
 * DISABLE hands a blocked reader what the buffers hold, then EOF, however
 * long the latency it chose: a recording's last records are not lost or
 * late.
 */
TEST_F(clonescope, final_records_delivered)
{
	struct reader r = { .fd = self->fd, .buf = self->buf };
	const struct clonescope_record_header *first;
	__u64 went, woken;

	if (!has_wakeup_latency(self->fd))
		SKIP(return, "module has no reader wake-up latency (ABI < 1.6)");
	woken = read_gated_forks(_metadata, &r, CLONESCOPE_MAX_WAKEUP_MS, 3, 0, 0, &went);
	ASSERT_EQ(0, woken)
		TH_LOG("woken before the 10 s latency with the buffer far from half full");
	ASSERT_LT(cs_now_ns() - went, CLONESCOPE_MAX_WAKEUP_MS * CT_MSEC)
		TH_LOG("EOF came only after the latency");
	ASSERT_EQ(3, cs_count_records(self->buf, r.len, CLONESCOPE_RECORD_CLONE, &first));
}

/*
 * The latency: 0 to CLONESCOPE_MAX_WAKEUP_MS with its flag; without the
 * flag the field is reserved.
 */
TEST_F(clonescope, wakeup_latency_bad_values)
{
	if (!has_wakeup_latency(self->fd))
		SKIP(return, "module has no reader wake-up latency (ABI < 1.6)");
	ASSERT_EQ(-EINVAL, set_wakeup(self->fd, CLONESCOPE_OPT_WAKEUP_MS,
				      CLONESCOPE_MAX_WAKEUP_MS + 1));
	ASSERT_EQ(-EINVAL, set_wakeup(self->fd, CLONESCOPE_OPT_WAKEUP_MS, UINT32_MAX));
	ASSERT_EQ(-EINVAL, set_wakeup(self->fd, 0, 5));
	ASSERT_EQ(-EINVAL, set_wakeup(self->fd, CLONESCOPE_OPT_ALL + 1, 0));
	ASSERT_EQ(0, set_wakeup(self->fd, CLONESCOPE_OPT_WAKEUP_MS, 0));
	ASSERT_EQ(0, set_wakeup(self->fd, CLONESCOPE_OPT_WAKEUP_MS, CLONESCOPE_MAX_WAKEUP_MS));
	ASSERT_EQ(0, set_wakeup(self->fd, 0, 0));
}

CS_HARNESS_MAIN
