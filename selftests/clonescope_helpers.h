/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the clonescope selftests: open the device, wrap its
 * ioctls, trace only the calling process, drain the buffer and walk the
 * records (cs_*: they return 0 / a count, or -errno, for the tests to
 * ASSERT on); and the clonescope fixture, with helpers that ASSERT
 * themselves (those taking _metadata).  clonescope_test_util.h adds the
 * heavier ct_* utilities on top.  Include it once, from the test's only
 * source file.
 */
#ifndef CLONESCOPE_HELPERS_H
#define CLONESCOPE_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/clonescope.h>

#include "kselftest_harness.h"

#define CS_DEVICE		"/dev/" CLONESCOPE_DEVICE_NAME

/* Plenty for the few records a test makes; cs_drain() fails rather than truncate. */
#define CS_DRAIN_BUF_SIZE	(1024 * 1024)

static inline int cs_open(int flags)
{
	int fd = open(CS_DEVICE, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int cs_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static inline __u64 cs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline int cs_get_version(int fd, struct clonescope_version *v)
{
	*v = (struct clonescope_version){ .size = sizeof(*v) };
	return cs_ioctl(fd, CLONESCOPE_IOC_GET_VERSION, v);
}

static inline int cs_get_stats(int fd, struct clonescope_stats *stats)
{
	*stats = (struct clonescope_stats){ .size = sizeof(*stats) };
	return cs_ioctl(fd, CLONESCOPE_IOC_GET_STATS, stats);
}

static inline int cs_get_probe(int fd, __u32 index, struct clonescope_probe_info *info)
{
	*info = (struct clonescope_probe_info){ .size = sizeof(*info), .index = index };
	return cs_ioctl(fd, CLONESCOPE_IOC_GET_PROBE, info);
}

static inline int cs_enable(int fd)
{
	return cs_ioctl(fd, CLONESCOPE_IOC_ENABLE, NULL);
}

static inline int cs_disable(int fd)
{
	return cs_ioctl(fd, CLONESCOPE_IOC_DISABLE, NULL);
}

static inline int cs_set_filter(int fd, const struct clonescope_filter *filter)
{
	return cs_ioctl(fd, CLONESCOPE_IOC_SET_FILTER, (void *)filter);
}

/* Traces every clone on the machine. */
static inline int cs_filter_none(int fd)
{
	struct clonescope_filter filter = { .size = sizeof(filter) };

	return cs_set_filter(fd, &filter);
}

/* A filter of @flags (CLONESCOPE_FILTER_TGID or _TREE) on the one @tgid. */
static inline int cs_filter_tgid(int fd, __u32 flags, pid_t tgid)
{
	struct clonescope_filter filter = {
		.size = sizeof(filter),
		.flags = flags,
		.nr_tgids = 1,
		.tgids = { tgid },
	};

	return cs_set_filter(fd, &filter);
}

/* Resizes the per-CPU buffers: module-wide, and only while disabled. */
static inline int cs_set_pages(int fd, __u32 pages_per_cpu)
{
	struct clonescope_buffer_config cfg = {
		.size = sizeof(cfg),
		.pages_per_cpu = pages_per_cpu,
	};

	return cs_ioctl(fd, CLONESCOPE_IOC_SET_BUFFER, &cfg);
}

/* Makes @fd the owner and starts tracing with cs_filter_tgid(). */
static inline int cs_trace(int fd, __u32 flags, pid_t tgid)
{
	int ret = cs_filter_tgid(fd, flags, tgid);

	return ret ? ret : cs_enable(fd);
}

/*
 * Starts tracing the clones whose parent is this process, so the guest's
 * other activity cannot add records.
 */
static inline int cs_trace_self(int fd)
{
	return cs_trace(fd, CLONESCOPE_FILTER_TGID, getpid());
}

/*
 * Stops tracing and reads every buffered record into @buf: once disabled,
 * read() returns 0 when all buffers are empty.  Returns the bytes read.
 */
static inline ssize_t cs_drain(int fd, void *buf, size_t cap)
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

/* cs_count_records() type that matches every record. */
#define CS_ANY_RECORD		0

/*
 * The record at *@off in a drained stream of @len bytes, advancing *@off;
 * NULL at the end.  *@err is -EINVAL when the record's size is malformed
 * (the stream must be whole records, each a multiple of 8 bytes).
 */
static inline const struct clonescope_record_header *
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

/*
 * Counts the records of @type (or all, for CS_ANY_RECORD) in a drained
 * stream, checking the whole stream is well formed, and points *@first at
 * the first of them.  Returns the count or -EINVAL.
 */
static inline int cs_count_records(const void *buf, size_t len, __u16 type,
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

/* cs_find_pid() pid that matches every record. */
#define CS_ANY_PID		(-1)

/*
 * Counts the records of @type, at least @size bytes long, whose __u32 at
 * @pid_off is @pid (or all, for CS_ANY_PID), and points *@found at the
 * first.  Returns the count or -EINVAL for a malformed stream.
 */
static inline int cs_find_pid(const void *buf, size_t len, __u16 type, size_t size,
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

/*
 * Counts the clone records whose child is @child_pid and points *@found at
 * the first.  Returns the count or -EINVAL for a malformed stream.
 */
static inline int cs_find_clone(const void *buf, size_t len, pid_t child_pid,
				const struct clonescope_clone_event **found)
{
	const void *first;
	int ret = cs_find_pid(buf, len, CLONESCOPE_RECORD_CLONE, sizeof(**found),
			      offsetof(struct clonescope_clone_event, child_pid),
			      child_pid, &first);

	*found = first;
	return ret;
}

/*
 * What a fixture's setup does first: opens the device into *@fd (left
 * negative on failure, for the teardown) and, unless @buf is NULL,
 * allocates a buffer of CS_DRAIN_BUF_SIZE for the drained stream.
 */
static inline void cs_setup(struct __test_metadata *_metadata, int *fd, void **buf)
{
	*fd = cs_open(O_RDWR);
	ASSERT_LE(0, *fd) TH_LOG("open %s: %s", CS_DEVICE, strerror(-*fd));
	if (!buf)
		return;
	*buf = malloc(CS_DRAIN_BUF_SIZE);
	ASSERT_NE(NULL, *buf);
}

/*
 * Resizes the per-CPU buffers (tracing disabled); the first call saves the
 * size in force in *@saved, for the teardown to restore.
 */
static inline void cs_resize(struct __test_metadata *_metadata, int fd,
			     __u32 *saved, __u32 pages_per_cpu)
{
	struct clonescope_stats stats;

	ASSERT_EQ(0, cs_get_stats(fd, &stats));
	ASSERT_EQ(0, cs_set_pages(fd, pages_per_cpu));
	if (!*saved)
		*saved = stats.pages_per_cpu;
}

/* Stops tracing and drains the stream into @buf (CS_DRAIN_BUF_SIZE), *@len. */
static inline void cs_drain_to(struct __test_metadata *_metadata, int fd,
			       void *buf, ssize_t *len)
{
	*len = cs_drain(fd, buf, CS_DRAIN_BUF_SIZE);
	ASSERT_LE(0, *len) TH_LOG("drain: %s", strerror(-*len));
}

/*
 * The same for any fixture with fd, buf and len (as clonescope's): drains
 * into self->buf / self->len.
 */
#define cs_drain_all(_metadata, self) \
	cs_drain_to(_metadata, (self)->fd, (self)->buf, &(self)->len)

/* Buffer size is module-wide: cs_set_buffer() makes teardown restore it. */
FIXTURE(clonescope) {
	int fd;
	void *buf;
	ssize_t len;
	__u32 saved_pages_per_cpu;
};

FIXTURE_SETUP(clonescope)
{
	cs_setup(_metadata, &self->fd, &self->buf);
}

FIXTURE_TEARDOWN(clonescope)
{
	if (self->saved_pages_per_cpu) {
		EXPECT_EQ(0, cs_disable(self->fd));
		EXPECT_EQ(0, cs_set_pages(self->fd, self->saved_pages_per_cpu));
	}
	if (self->fd >= 0)
		close(self->fd);
	free(self->buf);
}

/* Resizes the per-CPU buffers (tracing disabled), restored at teardown. */
static inline void cs_set_buffer(struct __test_metadata *_metadata,
				 FIXTURE_DATA(clonescope) *self, __u32 pages_per_cpu)
{
	cs_resize(_metadata, self->fd, &self->saved_pages_per_cpu, pages_per_cpu);
}

/* Drains the stream and returns its one clone record. */
static inline const struct clonescope_clone_event *
cs_drain_one_clone(struct __test_metadata *_metadata, FIXTURE_DATA(clonescope) *self)
{
	const struct clonescope_record_header *hdr;

	cs_drain_all(_metadata, self);
	ASSERT_EQ(1, cs_count_records(self->buf, self->len, CLONESCOPE_RECORD_CLONE, &hdr));
	ASSERT_LE(sizeof(struct clonescope_clone_event), hdr->size);
	return (const struct clonescope_clone_event *)hdr;
}

static inline void cs_wait_exited(struct __test_metadata *_metadata, pid_t pid)
{
	int status;

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* Forks a child that exits at once; returns its pid, for the caller to reap. */
static inline pid_t cs_fork_exit(struct __test_metadata *_metadata)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(0);
	return pid;
}

/*
 * The parent's side of a @child that writes a pid (its own child's, say)
 * to @pipefd[1] and exits 0: returns that pid, the child reaped.
 */
static inline pid_t cs_reap_reporter(struct __test_metadata *_metadata,
				     int pipefd[2], pid_t child)
{
	pid_t pid;

	close(pipefd[1]);
	ASSERT_EQ(sizeof(pid), read(pipefd[0], &pid, sizeof(pid)));
	close(pipefd[0]);
	cs_wait_exited(_metadata, child);
	return pid;
}

/* kselftest's main, but a missing device skips the whole program. */
#define CS_HARNESS_MAIN \
	int main(int argc, char **argv) \
	{ \
		if (access(CS_DEVICE, F_OK)) { \
			ksft_print_header(); \
			ksft_exit_skip("%s absent: clonescope module not loaded\n", \
				       CS_DEVICE); \
		} \
		return test_harness_run(argc, argv); \
	}

#endif /* CLONESCOPE_HELPERS_H */
