/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the clonescope selftests share beside their library
 * (lib/clonescope_lib.h): the clonescope fixture, the helpers that ASSERT
 * themselves (those taking _metadata) and the harness's main.  They stay
 * in a header because kselftest_harness.h is compiled once per test
 * program.  Include it once, from the test's only source file.
 */
#ifndef CLONESCOPE_HARNESS_H
#define CLONESCOPE_HARNESS_H

/* What the suites use besides: they include this header alone. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "clonescope_lib.h"

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

/*
 * What the fixtures of the longer suites undo at teardown, leaving the
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

#endif /* CLONESCOPE_HARNESS_H */
