/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the clonescope selftests: open the device, trace only
 * the calling process, drain the buffer and walk the records.  Each returns
 * 0 / a count / a pointer, or -errno, so the tests ASSERT on the result.
 */
#ifndef CLONESCOPE_HELPERS_H
#define CLONESCOPE_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/clonescope.h>

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

/*
 * Makes @fd the owner and starts tracing the clones whose parent is this
 * process, so the guest's other activity cannot add records.
 */
static inline int cs_trace_self(int fd)
{
	struct clonescope_filter filter = {
		.size = sizeof(filter),
		.flags = CLONESCOPE_FILTER_TGID,
		.nr_tgids = 1,
		.tgids = { getpid() },
	};
	int ret = cs_ioctl(fd, CLONESCOPE_IOC_SET_FILTER, &filter);

	return ret ? ret : cs_ioctl(fd, CLONESCOPE_IOC_ENABLE, NULL);
}

/*
 * Stops tracing and reads every buffered record into @buf: once disabled,
 * read() returns 0 when all buffers are empty.  Returns the bytes read.
 */
static inline ssize_t cs_drain(int fd, void *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int ret = cs_ioctl(fd, CLONESCOPE_IOC_DISABLE, NULL);

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

#endif /* CLONESCOPE_HELPERS_H */
