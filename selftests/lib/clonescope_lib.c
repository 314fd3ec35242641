// SPDX-License-Identifier: GPL-2.0
/*
 * The selftests' library: see clonescope_lib.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "clonescope_lib.h"

/*
 * The landmark probes each phase is measured between (clone.c's
 * cs_phase_span): a phase can only be present when both are registered.
 * A landmark that one of several probes stamps names them all, first
 * choice first, separated by '|'.
 */
static const char *const ct_phase_probes[CLONESCOPE_NR_PHASES][2] = {
	[CLONESCOPE_PHASE_DUP_TASK]		= { "kernel_clone", "copy_creds" },
	[CLONESCOPE_PHASE_COPY_CREDS]		= { "copy_creds", "copy_creds" },
	[CLONESCOPE_PHASE_SCHED_FORK]		= { "copy_creds", "perf_event_init_task|sched_fork" },
	[CLONESCOPE_PHASE_TASK_INIT]		= { "perf_event_init_task|sched_fork", "copy_semundo" },
	[CLONESCOPE_PHASE_FILES_TO_MM]		= { "copy_semundo", "copy_namespaces" },
	[CLONESCOPE_PHASE_COPY_NAMESPACES]	= { "copy_namespaces", "copy_namespaces" },
	[CLONESCOPE_PHASE_COPY_IO]		= { "copy_namespaces", "copy_thread" },
	[CLONESCOPE_PHASE_COPY_THREAD]		= { "copy_thread", "alloc_pid" },
	[CLONESCOPE_PHASE_ALLOC_PID]		= { "alloc_pid", "cgroup_can_fork" },
	[CLONESCOPE_PHASE_CGROUP_CAN_FORK]	= { "cgroup_can_fork", "cgroup_can_fork" },
	[CLONESCOPE_PHASE_ATTACH]		= { "cgroup_can_fork", "task_newtask" },
	[CLONESCOPE_PHASE_DUP_MMAP]		= { "dup_mmap", "copy_namespaces" },
	[CLONESCOPE_PHASE_COPY_PAGE_RANGE]	= { "copy_page_range", "copy_page_range" },
	[CLONESCOPE_PHASE_COPY_PROCESS]		= { "kernel_clone", "task_newtask" },
	[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK]	= { "task_newtask", "sched_wakeup_new" },
	[CLONESCOPE_PHASE_KERNEL_CLONE]		= { "kernel_clone", "kernel_clone" },
};

int cs_open(int flags)
{
	int fd = open(CS_DEVICE, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int cs_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

__u64 cs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int cs_get_version(int fd, struct clonescope_version *v)
{
	*v = (struct clonescope_version){ .size = sizeof(*v) };
	return cs_ioctl(fd, CLONESCOPE_IOC_GET_VERSION, v);
}

int cs_get_stats(int fd, struct clonescope_stats *stats)
{
	*stats = (struct clonescope_stats){ .size = sizeof(*stats) };
	return cs_ioctl(fd, CLONESCOPE_IOC_GET_STATS, stats);
}

int cs_get_probe(int fd, __u32 index, struct clonescope_probe_info *info)
{
	*info = (struct clonescope_probe_info){ .size = sizeof(*info), .index = index };
	return cs_ioctl(fd, CLONESCOPE_IOC_GET_PROBE, info);
}

int cs_enable(int fd)
{
	return cs_ioctl(fd, CLONESCOPE_IOC_ENABLE, NULL);
}

int cs_disable(int fd)
{
	return cs_ioctl(fd, CLONESCOPE_IOC_DISABLE, NULL);
}

int cs_set_filter(int fd, const struct clonescope_filter *filter)
{
	return cs_ioctl(fd, CLONESCOPE_IOC_SET_FILTER, (void *)filter);
}

int cs_filter_none(int fd)
{
	struct clonescope_filter filter = { .size = sizeof(filter) };

	return cs_set_filter(fd, &filter);
}

int cs_filter_tgid(int fd, __u32 flags, pid_t tgid)
{
	struct clonescope_filter filter = {
		.size = sizeof(filter),
		.flags = flags,
		.nr_tgids = 1,
		.tgids = { tgid },
	};

	return cs_set_filter(fd, &filter);
}

int cs_set_pages(int fd, __u32 pages_per_cpu)
{
	struct clonescope_buffer_config cfg = {
		.size = sizeof(cfg),
		.pages_per_cpu = pages_per_cpu,
	};

	return cs_ioctl(fd, CLONESCOPE_IOC_SET_BUFFER, &cfg);
}

int cs_set_options(int fd, __u32 size, __u32 probes, __u32 flags, __u32 wakeup_ms)
{
	struct clonescope_options o = {
		.size = size,
		.probes = probes,
		.flags = flags,
		.wakeup_ms = wakeup_ms,
	};

	return cs_ioctl(fd, CLONESCOPE_IOC_SET_OPTIONS, &o);
}

int cs_trace(int fd, __u32 flags, pid_t tgid)
{
	int ret = cs_filter_tgid(fd, flags, tgid);

	return ret ? ret : cs_enable(fd);
}

int cs_trace_self(int fd)
{
	return cs_trace(fd, CLONESCOPE_FILTER_TGID, getpid());
}

ssize_t cs_drain(int fd, void *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int ret = cs_disable(fd);

	if (ret)
		return ret;
	do {
		if (cap - len < CLONESCOPE_READ_MIN)
			return -ENOSPC;
		n = read(fd, (char *)buf + len, cap - len);
		if (n < 0)
			return -errno;
		len += n;
	} while (n > 0);
	return len;
}

const struct clonescope_record_header *
cs_next_record(const void *buf, size_t len, size_t *off, int *err)
{
	const struct clonescope_record_header *hdr;

	*err = 0;
	if (*off >= len)
		return NULL;
	hdr = (const void *)((const char *)buf + *off);
	if (len - *off < sizeof(*hdr) || hdr->size < sizeof(*hdr) ||
	    hdr->size % 8 || hdr->size > len - *off) {
		*err = -EINVAL;
		return NULL;
	}
	*off += hdr->size;
	return hdr;
}

int cs_count_records(const void *buf, size_t len, __u16 type,
		     const struct clonescope_record_header **first)
{
	const struct clonescope_record_header *hdr;
	size_t off = 0;
	int count = 0, err;

	*first = NULL;
	while ((hdr = cs_next_record(buf, len, &off, &err))) {
		if (type != CS_ANY_RECORD && hdr->type != type)
			continue;
		if (!count++)
			*first = hdr;
	}
	return err ? err : count;
}

int cs_find_pid(const void *buf, size_t len, __u16 type, size_t size,
		size_t pid_off, pid_t pid, const void **found)
{
	const struct clonescope_record_header *hdr;
	size_t off = 0;
	int count = 0, err;
	__u32 rec_pid;

	*found = NULL;
	while ((hdr = cs_next_record(buf, len, &off, &err))) {
		if (hdr->type != type || hdr->size < size)
			continue;
		memcpy(&rec_pid, (const char *)hdr + pid_off, sizeof(rec_pid));
		if (pid != CS_ANY_PID && rec_pid != (__u32)pid)
			continue;
		if (!count++)
			*found = hdr;
	}
	return err ? err : count;
}

int cs_find_clone(const void *buf, size_t len, pid_t child_pid,
		  const struct clonescope_clone_event **found)
{
	const void *first;
	int ret = cs_find_pid(buf, len, CLONESCOPE_RECORD_CLONE, sizeof(**found),
			      offsetof(struct clonescope_clone_event, child_pid),
			      child_pid, &first);

	*found = first;
	return ret;
}

int ct_all_probes(int fd)
{
	struct clonescope_options opts = {
		.size = sizeof(opts),
		.probes = CLONESCOPE_PROBES_ALL,
	};
	struct clonescope_version v;
	int ret = cs_get_version(fd, &v);

	if (ret || !(v.features & CLONESCOPE_FEAT_OPTIONS))
		return ret;
	return cs_ioctl(fd, CLONESCOPE_IOC_SET_OPTIONS, &opts);
}

int ct_find_probe_from(int fd, const char *symbol, __u32 from,
		       struct clonescope_probe_info *info)
{
	struct clonescope_stats st;
	__u32 i;
	int ret = cs_get_stats(fd, &st);

	if (ret)
		return ret;
	for (i = from; i < st.nr_probes; i++) {
		ret = cs_get_probe(fd, i, info);
		if (ret)
			return ret;
		if (!strncmp(info->symbol, symbol, sizeof(info->symbol)))
			return i;
	}
	return -ENOENT;
}

int ct_find_probe(int fd, const char *symbol,
		  struct clonescope_probe_info *info)
{
	return ct_find_probe_from(fd, symbol, 0, info);
}

bool ct_probe_registered(int fd, const char *symbol)
{
	struct clonescope_probe_info info;
	int i;

	for (i = ct_find_probe(fd, symbol, &info); i >= 0;
	     i = ct_find_probe_from(fd, symbol, i + 1, &info))
		if (info.state == CLONESCOPE_PROBE_REGISTERED)
			return true;
	return false;
}

/* Whether a probe on one of @symbols ('|'-separated) is registered. */
static bool ct_landmark_registered(int fd, const char *symbols)
{
	char sym[sizeof(((struct clonescope_probe_info *)0)->symbol)];
	size_t len;

	for (;;) {
		len = strcspn(symbols, "|");
		snprintf(sym, sizeof(sym), "%.*s", (int)len, symbols);
		if (ct_probe_registered(fd, sym))
			return true;
		if (!symbols[len])
			return false;
		symbols += len + 1;
	}
}

__u64 ct_phases_available(int fd)
{
	__u64 mask = 0;
	unsigned int i;

	for (i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (ct_landmark_registered(fd, ct_phase_probes[i][0]) &&
		    ct_landmark_registered(fd, ct_phase_probes[i][1]))
			mask |= CT_BIT(i);
	}
	return mask;
}

unsigned int ct_rlimit_nproc_phase(void)
{
	struct utsname u;
	unsigned int major, minor;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return CLONESCOPE_PHASE_NONE;
	if (major > 5 || (major == 5 && minor >= 15))
		return CLONESCOPE_PHASE_SCHED_FORK;
	return CLONESCOPE_PHASE_DUP_TASK;
}

__u64 ct_phase_end(const struct clonescope_clone_event *ev,
		   unsigned int phase)
{
	return ev->phases[phase].start_ns + ev->phases[phase].duration_ns;
}

bool ct_has_phase(const struct clonescope_clone_event *ev,
		  unsigned int phase)
{
	return ev->phase_mask & CT_BIT(phase);
}

static void ct_tally_record(struct ct_tally *t,
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

int ct_walk(const void *buf, size_t len, struct ct_tally *t,
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

ssize_t ct_read_once(int fd, void *buf, struct ct_tally *t,
		     ct_record_fn fn, void *arg)
{
	ssize_t n = read(fd, buf, CT_READ_BUF);
	int err;

	if (n < 0)
		return -errno;
	err = ct_walk(buf, n, t, fn, arg);
	return err ? err : n;
}

int ct_drain_tally(int fd, struct ct_tally *t, ct_record_fn fn,
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

struct ct_shared *ct_shared_new(void)
{
	void *p = mmap(NULL, sizeof(struct ct_shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void ct_shared_free(struct ct_shared *sh)
{
	if (sh)
		munmap(sh, sizeof(*sh));
}

static void *ct_thread_noop(void *arg)
{
	return arg;
}

int ct_clone_once(enum ct_load kind)
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

pid_t ct_start_loader(struct ct_shared *sh, int slot,
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

int ct_reap(pid_t pid, __u64 timeout_ns)
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

void ct_stop_loaders(struct ct_shared *sh, const pid_t *pids, int nr)
{
	int i;

	sh->stop = 1;
	for (i = 0; i < nr; i++)
		if (pids[i] > 0)
			ct_reap(pids[i], 20 * CT_SEC);
}

int ct_become(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -errno;
	return 0;
}

int ct_set_caps(__u64 caps)
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

long ct_read_long(const char *path)
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

int ct_write_long(const char *path, long val)
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

char *ct_read_file(const char *path, size_t *lenp)
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

const char *ct_module_path(void)
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

bool ct_module_loaded(void)
{
	return !access("/sys/module/" CT_MODULE_NAME, F_OK);
}

int ct_module_load(const char *params)
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

int ct_module_unload(void)
{
	return syscall(SYS_delete_module, CT_MODULE_NAME, O_NONBLOCK) ? -errno : 0;
}

long ct_module_refcnt(void)
{
	return ct_read_long("/sys/module/" CT_MODULE_NAME "/refcnt");
}
