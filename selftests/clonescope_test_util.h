/* SPDX-License-Identifier: GPL-2.0 */
/*
 * More helpers for the clonescope selftests (clonepath, selfcost,
 * reliability, cow), on top of clonescope_helpers.h, which they include and
 * never redefine: probe and phase lookups, a streaming record reader for
 * storms, helper processes that fork in a loop, privilege dropping and
 * module load/unload.  Names start with ct_.  Functions return 0 / a
 * count, or -errno; those taking _metadata ASSERT themselves.
 */
#ifndef CLONESCOPE_TEST_UTIL_H
#define CLONESCOPE_TEST_UTIL_H

#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/capability.h>

#include "clonescope_helpers.h"

#define CT_MSEC		1000000ULL
#define CT_SEC		1000000000ULL

/*
 * What the fixtures of these tests undo at teardown, leaving the
 * module-wide settings as they found them: tracing off, the buffer size
 * back (when @saved_pages, see cs_resize()), no filter.
 */
static inline void ct_restore(struct __test_metadata *_metadata, int fd,
			      __u32 saved_pages)
{
	EXPECT_EQ(0, cs_disable(fd));
	if (saved_pages)
		EXPECT_EQ(0, cs_set_pages(fd, saved_pages));
	EXPECT_EQ(0, cs_filter_none(fd));
}

/* ------------------------------------------------------------------ */
/* Probes                                                              */
/* ------------------------------------------------------------------ */

/*
 * Arms every probe group on the next ENABLE (the module's default, but a
 * module-wide setting another test may have changed).  A module without
 * CLONESCOPE_IOC_SET_OPTIONS arms everything anyway.
 */
static inline int ct_all_probes(int fd)
{
#ifdef CLONESCOPE_IOC_SET_OPTIONS
	struct clonescope_options opts = {
		.size = sizeof(opts),
		.probes = CLONESCOPE_PROBES_ALL,
	};
	struct clonescope_version v;
	int ret = cs_get_version(fd, &v);

	if (ret || !(v.features & CLONESCOPE_FEAT_OPTIONS))
		return ret;
	return cs_ioctl(fd, CLONESCOPE_IOC_SET_OPTIONS, &opts);
#else
	(void)fd;
	return 0;
#endif
}

/*
 * Finds the probe on @symbol; fills @info and returns its index, or
 * -ENOENT.
 */
static inline int ct_find_probe(int fd, const char *symbol,
				struct clonescope_probe_info *info)
{
	struct clonescope_stats st;
	__u32 i;
	int ret = cs_get_stats(fd, &st);

	if (ret)
		return ret;
	for (i = 0; i < st.nr_probes; i++) {
		ret = cs_get_probe(fd, i, info);
		if (ret)
			return ret;
		if (!strncmp(info->symbol, symbol, sizeof(info->symbol)))
			return i;
	}
	return -ENOENT;
}

static inline bool ct_probe_registered(int fd, const char *symbol)
{
	struct clonescope_probe_info info;

	return ct_find_probe(fd, symbol, &info) >= 0 &&
	       info.state == CLONESCOPE_PROBE_REGISTERED;
}

/* ------------------------------------------------------------------ */
/* Phases                                                              */
/* ------------------------------------------------------------------ */

/*
 * The landmark probes each phase is measured between (clone.c's
 * cs_phase_span): a phase can only be present when both are registered.
 */
static const char *const ct_phase_probes[CLONESCOPE_NR_PHASES][2] = {
	[CLONESCOPE_PHASE_DUP_TASK]		= { "copy_process", "copy_creds" },
	[CLONESCOPE_PHASE_COPY_CREDS]		= { "copy_creds", "copy_creds" },
	[CLONESCOPE_PHASE_SCHED_FORK]		= { "copy_creds", "sched_fork" },
	[CLONESCOPE_PHASE_TASK_INIT]		= { "sched_fork", "copy_semundo" },
	[CLONESCOPE_PHASE_FILES_TO_MM]		= { "copy_semundo", "copy_namespaces" },
	[CLONESCOPE_PHASE_COPY_NAMESPACES]	= { "copy_namespaces", "copy_namespaces" },
	[CLONESCOPE_PHASE_COPY_IO]		= { "copy_namespaces", "copy_thread" },
	[CLONESCOPE_PHASE_COPY_THREAD]		= { "copy_thread", "alloc_pid" },
	[CLONESCOPE_PHASE_ALLOC_PID]		= { "alloc_pid", "cgroup_can_fork" },
	[CLONESCOPE_PHASE_CGROUP_CAN_FORK]	= { "cgroup_can_fork", "cgroup_can_fork" },
	[CLONESCOPE_PHASE_ATTACH]		= { "cgroup_can_fork", "task_newtask" },
	[CLONESCOPE_PHASE_DUP_MMAP]		= { "dup_mmap", "dup_mmap" },
	[CLONESCOPE_PHASE_COPY_PAGE_RANGE]	= { "copy_page_range", "copy_page_range" },
	[CLONESCOPE_PHASE_COPY_PROCESS]		= { "copy_process", "task_newtask" },
	[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK]	= { "sched_process_fork", "sched_wakeup_new" },
	[CLONESCOPE_PHASE_KERNEL_CLONE]		= { "kernel_clone", "kernel_clone" },
};

#define CT_BIT(phase)		(1ULL << (phase))
/* Phases 0..ATTACH tile copy_process() in order. */
#define CT_TILED_PHASES		(CT_BIT(CLONESCOPE_PHASE_ATTACH + 1) - 1)
#define CT_MM_PHASES		(CT_BIT(CLONESCOPE_PHASE_DUP_MMAP) | \
				 CT_BIT(CLONESCOPE_PHASE_COPY_PAGE_RANGE))

/*
 * Which phases this module can measure on this kernel: those whose
 * landmark probes registered.  Returns the mask, or 0 on error.
 */
static inline __u64 ct_phases_available(int fd)
{
	__u64 mask = 0;
	unsigned int i;

	for (i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (ct_probe_registered(fd, ct_phase_probes[i][0]) &&
		    ct_probe_registered(fd, ct_phase_probes[i][1]))
			mask |= CT_BIT(i);
	}
	return mask;
}

/*
 * The phase a fork over RLIMIT_NPROC fails in.  From 5.15 (the limit
 * counted in ucounts) copy_process() checks it right after copy_creds()
 * has counted the new task for the uid: the interval from copy_creds()
 * return to sched_fork() return, SCHED_FORK.  Before, it checked before
 * copy_creds(): DUP_TASK, and copy_creds() never ran.
 */
static inline unsigned int ct_rlimit_nproc_phase(void)
{
	struct utsname u;
	unsigned int major, minor;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return CLONESCOPE_PHASE_NONE;
	if (major > 5 || (major == 5 && minor >= 15))
		return CLONESCOPE_PHASE_SCHED_FORK;
	return CLONESCOPE_PHASE_DUP_TASK;
}

static inline __u64 ct_phase_end(const struct clonescope_clone_event *ev,
				 unsigned int phase)
{
	return ev->phases[phase].start_ns + ev->phases[phase].duration_ns;
}

static inline bool ct_has_phase(const struct clonescope_clone_event *ev,
				unsigned int phase)
{
	return ev->phase_mask & CT_BIT(phase);
}

/* ------------------------------------------------------------------ */
/* Reading records                                                     */
/* ------------------------------------------------------------------ */

/* What a stream held, record by record. */
struct ct_tally {
	__u64 records;		/* every record but LOST: what delivered counts */
	__u64 clones;
	__u64 child_starts;
	__u64 lost_records;
	__u64 lost;		/* sum of LOST.lost */
	__u64 zero_lost;	/* LOST records with lost == 0 (never valid) */
	__u64 failed;		/* clone records with CLONESCOPE_CLONE_FAILED */
	__u64 eagain;		/* ... with result -EAGAIN */
	__u64 bytes;
};

typedef void (*ct_record_fn)(const struct clonescope_record_header *hdr, void *arg);

static inline void ct_tally_record(struct ct_tally *t,
				   const struct clonescope_record_header *hdr)
{
	const struct clonescope_clone_event *ev = (const void *)hdr;
	const struct clonescope_lost_event *lost = (const void *)hdr;

	t->bytes += hdr->size;
	switch (hdr->type) {
	case CLONESCOPE_RECORD_LOST:
		t->lost_records++;
		if (hdr->size >= sizeof(*lost)) {
			t->lost += lost->lost;
			t->zero_lost += !lost->lost;
		}
		return;
	case CLONESCOPE_RECORD_CLONE:
		t->clones++;
		if (hdr->size >= sizeof(*ev) && (ev->flags & CLONESCOPE_CLONE_FAILED)) {
			t->failed++;
			t->eagain += ev->result == -EAGAIN;
		}
		break;
	case CLONESCOPE_RECORD_CHILD_START:
		t->child_starts++;
		break;
	}
	t->records++;
}

/*
 * Folds the whole records in @buf[0..len) into @t and calls @fn (if any)
 * on each.  Returns 0, or -EINVAL for a malformed stream.
 */
static inline int ct_walk(const void *buf, size_t len, struct ct_tally *t,
			  ct_record_fn fn, void *arg)
{
	const struct clonescope_record_header *hdr;
	size_t off = 0;
	int err;

	while ((hdr = cs_next_record(buf, len, &off, &err))) {
		if (t)
			ct_tally_record(t, hdr);
		if (fn)
			fn(hdr, arg);
	}
	return err;
}

#define CT_READ_BUF	(256 * 1024)

/*
 * One non-blocking read() of whatever is buffered, folded into @t.
 * Returns the bytes read (0: disabled and drained), -EAGAIN when there is
 * nothing yet, or -errno.
 */
static inline ssize_t ct_read_once(int fd, void *buf, struct ct_tally *t,
				   ct_record_fn fn, void *arg)
{
	ssize_t n = read(fd, buf, CT_READ_BUF);
	int err;

	if (n < 0)
		return -errno;
	err = ct_walk(buf, n, t, fn, arg);
	return err ? err : n;
}

/*
 * DISABLE, then read until read() returns 0 (all buffers empty).  The fd
 * should be O_NONBLOCK or tracing disabled, which it is here.
 */
static inline int ct_drain_tally(int fd, struct ct_tally *t, ct_record_fn fn,
				 void *arg)
{
	void *buf = malloc(CT_READ_BUF);
	ssize_t n;
	int ret, rounds = 0;

	if (!buf)
		return -ENOMEM;
	ret = cs_disable(fd);
	while (!ret) {
		n = ct_read_once(fd, buf, t, fn, arg);
		if (n < 0)
			ret = n;
		else if (!n)
			break;
		/* A drained, disabled buffer cannot refill: bounded. */
		if (++rounds > 100000)
			ret = -ELOOP;
	}
	free(buf);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Helper processes                                                    */
/* ------------------------------------------------------------------ */

enum ct_load {
	CT_LOAD_FORK,		/* fork, child exits at once, wait */
	CT_LOAD_VFORK,		/* vfork, child sleeps 1 ms then exits */
	CT_LOAD_THREAD,		/* pthread_create + join */
};

/* Shared with the helper processes (MAP_SHARED). */
struct ct_shared {
	volatile int stop;
	volatile int go;
	volatile unsigned long done[16];	/* clones per helper */
	volatile unsigned long failed[16];
};

static inline struct ct_shared *ct_shared_new(void)
{
	void *p = mmap(NULL, sizeof(struct ct_shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline void ct_shared_free(struct ct_shared *sh)
{
	if (sh)
		munmap(sh, sizeof(*sh));
}

static void *ct_thread_noop(void *arg)
{
	return arg;
}

/* One clone of the given kind; returns 0 or -errno. */
static inline int ct_clone_once(enum ct_load kind)
{
	struct timespec ms = { 0, 1000000 };
	pthread_t thread;
	pid_t pid;
	int err;

	switch (kind) {
	case CT_LOAD_FORK:
		pid = fork();
		if (!pid)
			_exit(0);
		break;
	case CT_LOAD_VFORK:
		pid = vfork();
		if (!pid) {
			/* Keeps the parent in kernel_clone() a while. */
			syscall(SYS_nanosleep, &ms, NULL);
			_exit(0);
		}
		break;
	case CT_LOAD_THREAD:
		err = pthread_create(&thread, NULL, ct_thread_noop, NULL);
		if (err)
			return -err;
		return -pthread_join(thread, NULL);
	default:
		return -EINVAL;
	}
	if (pid < 0)
		return -errno;
	return waitpid(pid, NULL, 0) == pid ? 0 : -errno;
}

/*
 * Starts a helper process that clones (@kind) in a loop from when
 * sh->go is set until sh->stop is set or @max_ns passed, counting in
 * sh->done[@slot].  Returns its pid or -errno.
 */
static inline pid_t ct_start_loader(struct ct_shared *sh, int slot,
				    enum ct_load kind, __u64 max_ns)
{
	pid_t pid = fork();
	__u64 deadline;

	if (pid)
		return pid < 0 ? -errno : pid;
	deadline = cs_now_ns() + max_ns;
	while (!sh->go && !sh->stop && cs_now_ns() < deadline)
		usleep(1000);
	while (!sh->stop && cs_now_ns() < deadline) {
		if (ct_clone_once(kind))
			sh->failed[slot]++;
		else
			sh->done[slot]++;
	}
	_exit(0);
}

/* Waits for @pid for up to @timeout_ns; kills it when it overstays. */
static inline int ct_reap(pid_t pid, __u64 timeout_ns)
{
	__u64 deadline = cs_now_ns() + timeout_ns;
	int status;
	pid_t ret;

	do {
		ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (ret < 0)
			return -errno;
		usleep(2000);
	} while (cs_now_ns() < deadline);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

static inline void ct_stop_loaders(struct ct_shared *sh, const pid_t *pids, int nr)
{
	int i;

	sh->stop = 1;
	for (i = 0; i < nr; i++)
		if (pids[i] > 0)
			ct_reap(pids[i], 20 * CT_SEC);
}

/* ------------------------------------------------------------------ */
/* Privileges                                                          */
/* ------------------------------------------------------------------ */

/* Uids no process in the test guest runs as. */
#define CT_UID_NOBODY		65534
#define CT_UID_RLIMIT		61234
#define CT_UID_BOMB		61235

/* setuid(@uid) for good: all ids, no supplementary groups, no caps. */
static inline int ct_become(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

/*
 * Sets the effective and permitted capabilities to exactly @caps (a mask
 * of CAP_* bits, all below 64).
 */
static inline int ct_set_caps(__u64 caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
	int i;

	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		data[i].effective = caps >> (32 * i);
		data[i].permitted = caps >> (32 * i);
	}
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* The number a (sysfs, procfs) file starts with, or -errno. */
static inline long ct_read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long val;

	if (!f)
		return -errno;
	if (fscanf(f, "%ld", &val) != 1)
		val = -EINVAL;
	fclose(f);
	return val;
}

/* Writes @val and a newline to a (sysfs, procfs) file; 0 or -errno. */
static inline int ct_write_long(const char *path, long val)
{
	FILE *f = fopen(path, "we");
	int ret;

	if (!f)
		return -errno;
	ret = fprintf(f, "%ld\n", val) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* Reads a whole (small, procfs/debugfs) file into a NUL-terminated buffer. */
static inline char *ct_read_file(const char *path, size_t *lenp)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += n;
		if (len == cap) {
			char *bigger = realloc(buf, 2 * cap + 1);

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

/* ------------------------------------------------------------------ */
/* Module load / unload                                                */
/* ------------------------------------------------------------------ */

#define CT_MODULE_NAME	"clonescope"

/*
 * The .ko to (re)load: $CLONESCOPE_MODULE, else the snapshot guest-check.sh
 * loaded (/tmp/clonescope.ko), else the tree's module/clonescope.ko.
 */
static inline const char *ct_module_path(void)
{
	static char path[4096];
	const char *env = getenv("CLONESCOPE_MODULE");
	const char *repo = getenv("CLONESCOPE_REPO");

	if (env && *env)
		return env;
	if (!access("/tmp/clonescope.ko", R_OK))
		return "/tmp/clonescope.ko";
	snprintf(path, sizeof(path), "%s/module/clonescope.ko", repo ? repo : ".");
	return path;
}

static inline bool ct_module_loaded(void)
{
	return !access("/sys/module/" CT_MODULE_NAME, F_OK);
}

/* finit_module(); waits (bounded) for udev-less devtmpfs to show the node. */
static inline int ct_module_load(const char *params)
{
	int fd = open(ct_module_path(), O_RDONLY | O_CLOEXEC);
	int ret, i;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	for (i = 0; !ret && access(CS_DEVICE, F_OK) && i < 1000; i++)
		usleep(1000);
	return ret;
}

/* delete_module() as rmmod does it (O_NONBLOCK). */
static inline int ct_module_unload(void)
{
	return syscall(SYS_delete_module, CT_MODULE_NAME, O_NONBLOCK) ? -errno : 0;
}

/* The module's reference count, or -errno. */
static inline long ct_module_refcnt(void)
{
	return ct_read_long("/sys/module/" CT_MODULE_NAME "/refcnt");
}

#endif /* CLONESCOPE_TEST_UTIL_H */
