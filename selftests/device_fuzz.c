// SPDX-License-Identifier: GPL-2.0
/*
 * Device fuzzer for /dev/clonescope, run by `make check-debug` on the
 * KASAN/lockdep kernel (its own program: not one of the *_test binaries of
 * `make check`).
 *
 * Several threads issue random calls at once: ioctls with the driver's
 * commands (sizes in the command and in the struct's size field random,
 * fields random or zero), other commands of its type, commands of other
 * types, pointers that are NULL, unmapped or straddle a guard page; read()
 * with odd sizes and buffers that end in the guard page; poll(); open()
 * with random flags and close().  Meanwhile helper processes fork, vfork
 * and create threads in a loop, so probes fire and records flow while the
 * device is reconfigured under them.  Between rounds every fd is closed
 * and the module is unloaded and loaded again.
 *
 * What must hold: every call returns (harness timeout); the answers keep
 * the ABI (unknown commands -ENOTTY, short reads -EINVAL, reads return
 * whole records no larger than asked); the module unloads after each
 * round.  The kernel's own checkers judge the rest (run.sh fails on any
 * KASAN, lockdep, UBSAN or RCU report in the log).
 *
 * Environment: CS_FUZZ_CALLS (all rounds, default 100000), CS_FUZZ_ROUNDS
 * (default 4), CS_FUZZ_THREADS (default 4), CS_FUZZ_SEED (default from
 * the clock; printed so a failing run can be replayed).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>

#include "clonescope_harness.h"

#define FZ_MAX_THREADS	16
#define FZ_FDS		3	/* per thread */
#define FZ_BUF_SIZE	(64 * 1024)
#define FZ_PAGE		4096
#define FZ_KICK_US	20000

enum fz_op {
	FZ_OPEN,
	FZ_CLOSE,
	FZ_IOCTL_DRIVER,	/* one of the driver's commands */
	FZ_IOCTL_OUR_TYPE,	/* any number of the driver's type */
	FZ_IOCTL_OTHER_TYPE,
	FZ_READ,
	FZ_POLL,
	FZ_NR_OPS,
};

static const char *const fz_op_names[FZ_NR_OPS] = {
	"open", "close", "ioctl", "ioctl-type", "ioctl-other", "read", "poll",
};

/* The driver's commands, with the struct sizes they carry. */
static const unsigned long fz_driver_cmds[] = {
	CLONESCOPE_IOC_GET_VERSION, CLONESCOPE_IOC_ENABLE,
	CLONESCOPE_IOC_DISABLE, CLONESCOPE_IOC_SET_FILTER,
	CLONESCOPE_IOC_GET_STATS, CLONESCOPE_IOC_GET_PROBE,
	CLONESCOPE_IOC_SET_BUFFER, CLONESCOPE_IOC_SET_OPTIONS,
};
#define FZ_NR_DRIVER_CMDS	ARRAY_SIZE(fz_driver_cmds)

/* Sizes around the edges the driver checks. */
static const __u32 fz_sizes[] = {
	0, 1, 4, 7, 8, 15, 16, 23, 24, 79, 80, 103, 104, 135, 136, 137, 144,
	1023, 1024, 1025, 4095, 4096, 4097, 65536, 0xffffffffu,
};
#define FZ_NR_SIZES	ARRAY_SIZE(fz_sizes)

/* read() sizes: below, at and above CLONESCOPE_READ_MIN, odd ones. */
static const size_t fz_read_sizes[] = {
	0, 1, 7, 8, 16, 1023, 1024, 1025, 1031, 2047, 4095, 4096, 4097,
	12345, 65535, FZ_BUF_SIZE,
};
#define FZ_NR_READ_SIZES	ARRAY_SIZE(fz_read_sizes)

/*
 * Command types the VFS handles itself before the driver sees them, with
 * effects beyond the fd: FIFREEZE ('X') would freeze devtmpfs, 'f' and
 * 0x94 are filesystem ioctls.
 */
static bool fz_vfs_type(unsigned int type)
{
	return type == 'X' || type == 'f' || type == 0x94;
}

struct fz_thread {
	pthread_t thread;
	__u64 rng;
	unsigned long calls_left;
	unsigned long calls[FZ_NR_OPS];
	unsigned long failed[FZ_NR_OPS];	/* returned an error */
	unsigned long read_bytes;
	unsigned long enables;
	unsigned long violations;
	char first_violation[160];
	int fds[FZ_FDS];
	unsigned char *buf;	/* FZ_BUF_SIZE, then a PROT_NONE guard page */
	bool done;
};

static __u64 fz_next(struct fz_thread *t)
{
	/* xorshift64*: fast, and a seed replays the same calls per thread. */
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 2685821657736338717ULL;
}

static __u64 fz_below(struct fz_thread *t, __u64 n)
{
	return fz_next(t) % n;
}

static void fz_violation(struct fz_thread *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->violations++) {
		va_start(ap, fmt);
		vsnprintf(t->first_violation, sizeof(t->first_violation), fmt, ap);
		va_end(ap);
	}
}

static int *fz_slot(struct fz_thread *t)
{
	return &t->fds[fz_below(t, FZ_FDS)];
}

/* A user pointer: mostly our buffer, sometimes one the kernel must refuse. */
static void *fz_pointer(struct fz_thread *t, size_t len, bool *valid)
{
	unsigned char *guard = t->buf + FZ_BUF_SIZE;

	*valid = false;
	switch (fz_below(t, 20)) {
	case 0:
		return NULL;
	case 1:
		return guard;				/* unmapped */
	case 2:
		return guard - 2;			/* straddles the guard */
	case 3:
		return (void *)0xffff888000000000ULL;	/* kernel address */
	case 4:
		/* Ends inside the guard: copies fault part way. */
		return guard - (len > 8 ? fz_below(t, len) : 0);
	default:
		*valid = true;
		return t->buf + fz_below(t, 8) * 8;
	}
}

/* Fills the buffer for an ioctl: a size field, then random or zero fields. */
static void fz_fill_arg(struct fz_thread *t)
{
	__u32 size = fz_sizes[fz_below(t, FZ_NR_SIZES)];
	size_t i, len = fz_below(t, 2) ? 512 : FZ_PAGE + 64;
	bool zero_tail = fz_below(t, 2);

	for (i = 0; i < len; i += 8) {
		__u64 v = fz_next(t);

		/* Small values make valid settings more likely. */
		if (fz_below(t, 2))
			v &= 0x1f;
		if (zero_tail && i >= 16)
			v = 0;
		memcpy(t->buf + i, &v, 8);
	}
	memcpy(t->buf, &size, sizeof(size));
}

static unsigned long fz_driver_cmd(struct fz_thread *t)
{
	unsigned long cmd = fz_driver_cmds[fz_below(t, FZ_NR_DRIVER_CMDS)];

	/* The size bits of the command are not the struct's size: vary them. */
	if (!fz_below(t, 4))
		cmd = _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd),
			   fz_below(t, _IOC_SIZEMASK + 1));
	return cmd;
}

static void fz_ioctl(struct fz_thread *t, enum fz_op op, int fd)
{
	unsigned long cmd;
	unsigned int type;
	bool valid;
	void *arg;
	int ret;

	switch (op) {
	case FZ_IOCTL_DRIVER:
		cmd = fz_driver_cmd(t);
		break;
	case FZ_IOCTL_OUR_TYPE:
		cmd = _IOC(fz_below(t, 4), CLONESCOPE_IOC_MAGIC, fz_below(t, 256),
			   fz_below(t, _IOC_SIZEMASK + 1));
		break;
	default:
		do
			type = fz_below(t, 256);
		while (type == CLONESCOPE_IOC_MAGIC || fz_vfs_type(type));
		cmd = _IOC(fz_below(t, 4), type, fz_below(t, 256),
			   fz_below(t, _IOC_SIZEMASK + 1));
		break;
	}
	fz_fill_arg(t);
	arg = fz_pointer(t, FZ_PAGE, &valid);
	if (valid)
		arg = t->buf;
	ret = ioctl(fd, cmd, arg);
	if (ret < 0)
		t->failed[op]++;
	if (cmd == CLONESCOPE_IOC_ENABLE && !ret)
		t->enables++;
	/* Types 'T' and 0 hold FIONBIO, FIOCLEX, FIGETBSZ...: the VFS answers. */
	if (op != FZ_IOCTL_OTHER_TYPE || fd < 0 || _IOC_TYPE(cmd) == 'T' || !_IOC_TYPE(cmd))
		return;
	if (ret >= 0)
		fz_violation(t, "ioctl %#lx of another type returned %d", cmd, ret);
	else if (errno != ENOTTY && errno != EBADF)
		fz_violation(t, "ioctl %#lx of another type: %s, not ENOTTY", cmd,
			     strerror(errno));
}

/* A successful read must be whole records, within what was asked. */
static void fz_check_records(struct fz_thread *t, const unsigned char *buf, size_t count,
			     ssize_t got)
{
	struct clonescope_record_header hdr;
	size_t pos = 0;

	if ((size_t)got > count) {
		fz_violation(t, "read of %zu returned %zd", count, got);
		return;
	}
	while (pos < (size_t)got) {
		if (got - pos < sizeof(hdr)) {
			fz_violation(t, "read returned a partial header at %zu of %zd", pos, got);
			return;
		}
		memcpy(&hdr, buf + pos, sizeof(hdr));
		if (hdr.size < sizeof(hdr) || hdr.size % 8 || pos + hdr.size > (size_t)got) {
			fz_violation(t, "record of size %u at %zu of %zd", hdr.size, pos, got);
			return;
		}
		pos += hdr.size;
	}
}

static void fz_read(struct fz_thread *t, int fd)
{
	size_t count = fz_read_sizes[fz_below(t, FZ_NR_READ_SIZES)];
	bool valid;
	void *buf = fz_pointer(t, count, &valid);
	ssize_t got;

	if (valid)
		buf = t->buf;
	got = read(fd, buf, count);
	if (got < 0) {
		t->failed[FZ_READ]++;
		/* The VFS refuses a kernel address (-EFAULT) before the driver. */
		if (count < CLONESCOPE_READ_MIN && valid && errno != EINVAL && errno != EBADF)
			fz_violation(t, "read of %zu: %s, not EINVAL", count, strerror(errno));
		return;
	}
	if (count < CLONESCOPE_READ_MIN)
		fz_violation(t, "read of %zu returned %zd, not EINVAL", count, got);
	t->read_bytes += got;
	if (valid)
		fz_check_records(t, buf, count, got);
}

static void fz_poll(struct fz_thread *t, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI };

	if (poll(&p, 1, fz_below(t, 3)) < 0)
		t->failed[FZ_POLL]++;
}

static void fz_one_call(struct fz_thread *t)
{
	static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR };
	enum fz_op op = fz_below(t, FZ_NR_OPS);
	int *slot = fz_slot(t);
	int fd = *slot;

	t->calls[op]++;
	switch (op) {
	case FZ_OPEN:
		if (fd >= 0)
			close(fd);
		*slot = open(CS_DEVICE, modes[fz_below(t, 3)] | O_CLOEXEC |
				 (fz_below(t, 4) ? O_NONBLOCK : 0));
		if (*slot < 0)
			t->failed[op]++;
		break;
	case FZ_CLOSE:
		if (close(fd))
			t->failed[op]++;
		*slot = -1;
		break;
	case FZ_READ:
		fz_read(t, fd);
		break;
	case FZ_POLL:
		fz_poll(t, fd);
		break;
	default:
		fz_ioctl(t, op, fd);
		break;
	}
}

static void *fz_thread_main(void *arg)
{
	struct fz_thread *t = arg;
	int i;

	while (t->calls_left) {
		fz_one_call(t);
		t->calls_left--;
	}
	for (i = 0; i < FZ_FDS; i++)
		if (t->fds[i] >= 0)
			close(t->fds[i]);
	__atomic_store_n(&t->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A blocking read() waits for records that a filter may never let through:
 * the main thread's SIGUSR1 every FZ_KICK_US interrupts it (no SA_RESTART).
 */
static void fz_wake(int sig)
{
	(void)sig;
}

static unsigned long fz_env(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : dflt;
}

static void fz_log_round(struct __test_metadata *_metadata, int round,
			 struct fz_thread *threads, int nr)
{
	unsigned long calls[FZ_NR_OPS] = {}, failed[FZ_NR_OPS] = {}, bytes = 0, enables = 0;
	char line[512];
	int i, op, len = 0;

	for (i = 0; i < nr; i++) {
		for (op = 0; op < FZ_NR_OPS; op++) {
			calls[op] += threads[i].calls[op];
			failed[op] += threads[i].failed[op];
		}
		bytes += threads[i].read_bytes;
		enables += threads[i].enables;
	}
	for (op = 0; op < FZ_NR_OPS; op++)
		len += snprintf(line + len, sizeof(line) - len, " %s %lu/%lu",
				fz_op_names[op], calls[op] - failed[op], calls[op]);
	TH_LOG("round %d: ok/calls:%s; %lu enables, %lu bytes of records read",
	       round, line, enables, bytes);
}

#define FZ_NR_LOADERS	3

static const enum ct_load fz_loader_kinds[FZ_NR_LOADERS] = {
	CT_LOAD_FORK, CT_LOAD_VFORK, CT_LOAD_THREAD,
};

FIXTURE(fuzz) {
	unsigned char *mem;
	size_t mem_size;
	struct ct_shared *sh;
	bool was_loaded;
};

FIXTURE_SETUP(fuzz)
{
	struct sigaction sa = { .sa_handler = fz_wake };	/* no SA_RESTART */
	size_t per_thread = FZ_BUF_SIZE + FZ_PAGE;
	int i;

	self->was_loaded = ct_module_loaded();
	if (access(ct_module_path(), R_OK))
		SKIP(return, "no module file at %.200s to reload", ct_module_path());
	self->mem_size = FZ_MAX_THREADS * per_thread;
	self->mem = mmap(NULL, self->mem_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	for (i = 0; i < FZ_MAX_THREADS; i++)
		ASSERT_EQ(0, mprotect(self->mem + i * per_thread + FZ_BUF_SIZE, FZ_PAGE,
				      PROT_NONE));
	self->sh = ct_shared_new();
	ASSERT_NE(NULL, self->sh);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
}

FIXTURE_TEARDOWN(fuzz)
{
	/* The rest of the suite runs after us: leave the module as we found it. */
	if (self->was_loaded && !ct_module_loaded())
		EXPECT_EQ(0, ct_module_load(NULL));
	if (self->mem)
		munmap(self->mem, self->mem_size);
	ct_shared_free(self->sh);
}

/* Waits for the threads, interrupting the calls they are blocked in. */
static void fz_join_all(struct fz_thread *threads, int nr)
{
	bool running;
	int i;

	do {
		usleep(FZ_KICK_US);
		running = false;
		for (i = 0; i < nr; i++) {
			if (__atomic_load_n(&threads[i].done, __ATOMIC_ACQUIRE))
				continue;
			running = true;
			pthread_kill(threads[i].thread, SIGUSR1);
		}
	} while (running);
	for (i = 0; i < nr; i++)
		pthread_join(threads[i].thread, NULL);
}

/* delete_module() refuses while a released fd's last reference drains. */
static int fz_unload(void)
{
	int ret, i;

	for (i = 0; i < 500; i++) {
		ret = ct_module_unload();
		if (ret != -EWOULDBLOCK && ret != -EBUSY)
			return ret;
		usleep(10000);
	}
	return ret;
}

TEST_F_TIMEOUT(fuzz, random_calls_under_fork_storm, 3600)
{
	unsigned long calls = fz_env("CS_FUZZ_CALLS", 100000);
	unsigned long rounds = fz_env("CS_FUZZ_ROUNDS", 4);
	unsigned long nr = fz_env("CS_FUZZ_THREADS", 4);
	__u64 seed = fz_env("CS_FUZZ_SEED", cs_now_ns());
	unsigned long per_thread, total = 0, round, op;
	struct fz_thread threads[FZ_MAX_THREADS];
	pid_t loaders[FZ_NR_LOADERS];
	int i, j;

	ASSERT_LT(0, rounds);
	ASSERT_LT(0, nr);
	ASSERT_GE(FZ_MAX_THREADS, nr);
	per_thread = (calls + rounds * nr - 1) / (rounds * nr);
	TH_LOG("seed %llu (CS_FUZZ_SEED replays it): %lu calls, %lu rounds, %lu threads",
	       (unsigned long long)seed, per_thread * rounds * nr, rounds, nr);

	for (round = 0; round < rounds; round++) {
		if (!ct_module_loaded())
			ASSERT_EQ(0, ct_module_load(NULL));
		self->sh->stop = 0;
		self->sh->go = 1;
		for (i = 0; i < FZ_NR_LOADERS; i++) {
			loaders[i] = ct_start_loader(self->sh, i, fz_loader_kinds[i], 3600 * CT_SEC);
			ASSERT_LT(0, loaders[i]);
		}
		for (i = 0; i < (int)nr; i++) {
			struct fz_thread *t = &threads[i];

			memset(t, 0, sizeof(*t));
			/* Never 0: xorshift would stay there. */
			t->rng = (seed ^ ((round * nr + i + 1) * 0x9e3779b97f4a7c15ULL)) | 1;
			t->calls_left = per_thread;
			t->buf = self->mem + i * (FZ_BUF_SIZE + FZ_PAGE);
			for (j = 0; j < FZ_FDS; j++)
				t->fds[j] = -1;
			ASSERT_EQ(0, pthread_create(&t->thread, NULL, fz_thread_main, t));
		}
		fz_join_all(threads, nr);
		ct_stop_loaders(self->sh, loaders, FZ_NR_LOADERS);

		fz_log_round(_metadata, round, threads, nr);
		for (i = 0; i < (int)nr; i++) {
			ASSERT_EQ(0, threads[i].violations)
				TH_LOG("thread %d: %s", i, threads[i].first_violation);
			for (op = 0; op < FZ_NR_OPS; op++)
				total += threads[i].calls[op];
		}
		/* Every fd is closed: the module must go, and come back next round. */
		ASSERT_EQ(0, fz_unload());
		ASSERT_FALSE(ct_module_loaded());
	}
	TH_LOG("device fuzzer: %lu calls in %lu rounds from %lu threads, module reloaded %lu times, 0 ABI violations",
	       total, rounds, nr, rounds);
	ASSERT_LE(calls, total);
}

TEST_HARNESS_MAIN
