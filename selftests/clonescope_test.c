// SPDX-License-Identifier: GPL-2.0
/*
 * clonescope selftests: the device's ioctl and read() contract, and one
 * clone record per fork(), vfork(), pthread_create() and failed clone3(),
 * checked against what the caller itself saw.  Needs the module loaded;
 * `make vm-check` runs it in the test guest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clonescope_harness.h"

/*
 * What a clone record must agree on with the parent's own view: who cloned,
 * what the call returned, and when ([@before, @after] brackets the call).
 */
static void check_clone(struct __test_metadata *_metadata,
			const struct clonescope_clone_event *ev, pid_t child,
			__u64 before, __u64 after)
{
	char comm[sizeof(ev->comm)] = "";

	ASSERT_EQ(child, ev->result);
	ASSERT_EQ(child, ev->child_pid);
	ASSERT_EQ(getpid(), ev->parent_tgid);
	ASSERT_EQ(gettid(), ev->parent_pid);
	ASSERT_EQ(0, ev->flags & CLONESCOPE_CLONE_FAILED);
	ASSERT_EQ(CLONESCOPE_PHASE_NONE, ev->failed_phase);

	ASSERT_EQ(0, prctl(PR_GET_NAME, comm));
	ASSERT_NE(NULL, memchr(ev->comm, '\0', sizeof(ev->comm)));
	ASSERT_STREQ(comm, ev->comm);

	ASSERT_LE(before, ev->start_ns);
	ASSERT_LE(ev->start_ns, ev->end_ns);
	ASSERT_LE(ev->end_ns, after);
	ASSERT_LE(before, ev->hdr.timestamp_ns);
	ASSERT_LE(ev->hdr.timestamp_ns, after);
}

TEST_F(clonescope, device_mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(CS_DEVICE, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0600, st.st_mode & 07777);
}

TEST_F(clonescope, version)
{
	struct clonescope_version v;
	const __u64 needed = CLONESCOPE_FEAT_KERNEL_CLONE | CLONESCOPE_FEAT_SYSCALL |
			     CLONESCOPE_FEAT_FILTER;

	ASSERT_EQ(0, cs_get_version(self->fd, &v));
	ASSERT_EQ(CLONESCOPE_ABI_MAJOR, v.abi_major);
	ASSERT_EQ(CLONESCOPE_ABI_MINOR, v.abi_minor);
	/* What the clone tests below rely on. */
	ASSERT_EQ(needed, v.features & needed);
}

/* Size-versioned structs follow copy_struct_from_user(). */
TEST_F(clonescope, version_size)
{
	struct {
		struct clonescope_version v;
		__u64 tail;
	} big = { .v.size = sizeof(big) };
	struct clonescope_version small = { .size = CLONESCOPE_VERSION_SIZE_VER0 - 1 };

	ASSERT_EQ(-EINVAL, cs_ioctl(self->fd, CLONESCOPE_IOC_GET_VERSION, &small));

	big.tail = 1;
	ASSERT_EQ(-E2BIG, cs_ioctl(self->fd, CLONESCOPE_IOC_GET_VERSION, &big));

	big.tail = 0;
	ASSERT_EQ(0, cs_ioctl(self->fd, CLONESCOPE_IOC_GET_VERSION, &big));
	ASSERT_EQ(CLONESCOPE_ABI_MAJOR, big.v.abi_major);

	ASSERT_EQ(-EFAULT, cs_ioctl(self->fd, CLONESCOPE_IOC_GET_VERSION, (void *)8));
}

TEST_F(clonescope, reserved_nonzero)
{
	struct clonescope_buffer_config cfg = {
		.size = sizeof(cfg),
		.pages_per_cpu = 1,
		.__reserved = 1,
	};

	ASSERT_EQ(-EINVAL, cs_ioctl(self->fd, CLONESCOPE_IOC_SET_BUFFER, &cfg));
}

/* Every CLONESCOPE_PROBE_* state of the uapi: a new one must be added here. */
static int known_probe_state(__u32 state)
{
	switch (state) {
	case CLONESCOPE_PROBE_REGISTERED:
	case CLONESCOPE_PROBE_UNAVAILABLE:
	case CLONESCOPE_PROBE_FAILED:
	case CLONESCOPE_PROBE_ALIAS:
	case CLONESCOPE_PROBE_STANDBY:
		return 1;
	}
	return 0;
}

/* Every probe reports a known state; kernel_clone, which all records need, is armed. */
TEST_F(clonescope, probes)
{
	struct clonescope_probe_info info;
	struct clonescope_stats stats;
	int kernel_clone = 0;
	__u32 i;

	ASSERT_EQ(0, cs_get_stats(self->fd, &stats));
	ASSERT_LT(0, stats.nr_probes);
	for (i = 0; i < stats.nr_probes; i++) {
		ASSERT_EQ(0, cs_get_probe(self->fd, i, &info));
		ASSERT_NE(NULL, memchr(info.symbol, '\0', sizeof(info.symbol)));
		ASSERT_NE(NULL, memchr(info.role, '\0', sizeof(info.role)));
		ASSERT_TRUE(known_probe_state(info.state)) TH_LOG("%s: state %u",
								  info.symbol, info.state);
		if (!strcmp(info.symbol, "kernel_clone") &&
		    info.state == CLONESCOPE_PROBE_REGISTERED)
			kernel_clone++;
	}
	ASSERT_EQ(1, kernel_clone);

	ASSERT_EQ(-ENOENT, cs_get_probe(self->fd, stats.nr_probes, &info));
}

/* Handler calls of one traced fork with the probe groups ENABLE arms. */
static __u64 fork_handler_calls(struct __test_metadata *_metadata, int fd)
{
	struct clonescope_stats st;

	EXPECT_EQ(0, cs_trace_self(fd));
	EXPECT_EQ(0, ct_clone_once(CT_LOAD_FORK));
	EXPECT_EQ(0, cs_disable(fd));
	EXPECT_EQ(0, cs_get_stats(fd, &st));
	return st.handler_calls;
}

/*
 * The probe groups an owner chose end with it: the next owner gets the
 * module's probes parameter, reported and armed, not the last choice.
 */
TEST_F(clonescope, probes_end_with_owner)
{
	long param = ct_read_long("/sys/module/" CT_MODULE_NAME "/parameters/probes");
	struct clonescope_stats st;
	__u64 clone_only, reopened;

	ASSERT_LT(0, param);
	if (param == CLONESCOPE_PROBES_CLONE)
		SKIP(return, "module loaded with probes=%ld: nothing to tell apart", param);
	ASSERT_EQ(0, cs_set_options(self->fd, sizeof(struct clonescope_options),
				    CLONESCOPE_PROBES_CLONE, 0, 0));
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	ASSERT_EQ(CLONESCOPE_PROBES_CLONE, st.probes);
	clone_only = fork_handler_calls(_metadata, self->fd);
	ASSERT_LT(0, clone_only);

	close(self->fd);
	self->fd = cs_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	ASSERT_EQ(param, st.probes);
	reopened = fork_handler_calls(_metadata, self->fd);
	/* The other groups' probes ran too (the child's exit and reap at least). */
	ASSERT_LT(clone_only, reopened) TH_LOG("handler calls per fork: %llu with the clone group, %llu with 0x%lx",
					       (unsigned long long)clone_only,
					       (unsigned long long)reopened, param);
}

TEST_F(clonescope, read_too_small)
{
	ASSERT_EQ(-1, read(self->fd, self->buf, CLONESCOPE_READ_MIN - 1));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(clonescope, read_nonblock_empty)
{
	ASSERT_EQ(0, cs_trace_self(self->fd));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(-1, read(self->fd, self->buf, CS_DRAIN_BUF_SIZE));
	ASSERT_EQ(EAGAIN, errno);
}

TEST_F(clonescope, settings_need_disabled)
{
	struct clonescope_filter filter = { .size = sizeof(filter) };
	struct clonescope_buffer_config cfg = { .size = sizeof(cfg), .pages_per_cpu = 1 };

	ASSERT_EQ(0, cs_trace_self(self->fd));
	ASSERT_EQ(-EBUSY, cs_set_filter(self->fd, &filter));
	ASSERT_EQ(-EBUSY, cs_ioctl(self->fd, CLONESCOPE_IOC_SET_BUFFER, &cfg));
}

TEST_F(clonescope, poll_wakes_on_record)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	pid_t pid;

	ASSERT_EQ(0, cs_trace_self(self->fd));
	ASSERT_EQ(0, poll(&pfd, 1, 0));

	pid = cs_fork_exit(_metadata);
	cs_wait_exited(_metadata, pid);

	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_TRUE(pfd.revents & POLLIN);
}

TEST_F(clonescope, fork)
{
	const struct clonescope_clone_event *ev;
	const struct clonescope_record_header *first;
	struct clonescope_stats stats;
	__u64 before, after;
	pid_t pid;
	int records;

	ASSERT_EQ(0, cs_trace_self(self->fd));
	before = cs_now_ns();
	pid = fork();
	after = cs_now_ns();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(0);
	cs_wait_exited(_metadata, pid);

	ev = cs_drain_one_clone(_metadata, self);
	check_clone(_metadata, ev, pid, before, after);
	ASSERT_EQ(pid, ev->child_tgid);
	/* glibc's fork() is the clone syscall, exit signal apart from flags. */
	ASSERT_EQ(CLONESCOPE_SYSCALL_CLONE, ev->syscall);
	ASSERT_EQ(SIGCHLD, ev->exit_signal);
	ASSERT_EQ(0, ev->clone_flags & (CLONE_VM | CLONE_THREAD | CLONE_VFORK));

	/* Everything produced was read, nothing was lost. */
	records = cs_count_records(self->buf, self->len, CS_ANY_RECORD, &first);
	ASSERT_EQ(0, cs_get_stats(self->fd, &stats));
	ASSERT_EQ(0, stats.dropped);
	ASSERT_EQ(records, stats.delivered);
	ASSERT_EQ(stats.produced, stats.delivered + stats.dropped);
}

TEST_F(clonescope, vfork)
{
	const struct clonescope_clone_event *ev;
	__u64 before, after;
	pid_t pid;

	ASSERT_EQ(0, cs_trace_self(self->fd));
	before = cs_now_ns();
	pid = vfork();
	if (!pid)
		_exit(0);
	after = cs_now_ns();
	ASSERT_LE(0, pid);
	cs_wait_exited(_metadata, pid);

	ev = cs_drain_one_clone(_metadata, self);
	check_clone(_metadata, ev, pid, before, after);
	ASSERT_EQ(pid, ev->child_tgid);
	ASSERT_EQ(CLONESCOPE_SYSCALL_VFORK, ev->syscall);
	ASSERT_EQ(CLONE_VM | CLONE_VFORK, ev->clone_flags & (CLONE_VM | CLONE_VFORK));
}

/* ENABLE starts a new session: earlier records and counters are gone. */
TEST_F(clonescope, enable_discards)
{
	const struct clonescope_record_header *first;
	struct clonescope_stats stats;
	pid_t pid;

	ASSERT_EQ(0, cs_trace_self(self->fd));
	pid = cs_fork_exit(_metadata);
	cs_wait_exited(_metadata, pid);
	ASSERT_EQ(0, cs_disable(self->fd));
	ASSERT_EQ(0, cs_get_stats(self->fd, &stats));
	ASSERT_LT(0, stats.produced);

	ASSERT_EQ(0, cs_enable(self->fd));
	ASSERT_EQ(0, cs_get_stats(self->fd, &stats));
	ASSERT_EQ(0, stats.produced);
	cs_drain_all(_metadata, self);
	ASSERT_EQ(0, cs_count_records(self->buf, self->len, CS_ANY_RECORD, &first));
}

static void *report_tid(void *tid)
{
	*(pid_t *)tid = gettid();
	return NULL;
}

TEST_F(clonescope, pthread_create)
{
	const __u64 thread_flags = CLONE_THREAD | CLONE_VM | CLONE_SIGHAND;
	const struct clonescope_clone_event *ev;
	__u64 before, after;
	pthread_t thread;
	pid_t tid = 0;

	ASSERT_EQ(0, cs_trace_self(self->fd));
	before = cs_now_ns();
	ASSERT_EQ(0, pthread_create(&thread, NULL, report_tid, &tid));
	after = cs_now_ns();
	ASSERT_EQ(0, pthread_join(thread, NULL));

	ev = cs_drain_one_clone(_metadata, self);
	check_clone(_metadata, ev, tid, before, after);
	ASSERT_EQ(getpid(), ev->child_tgid);
	ASSERT_EQ(0, ev->exit_signal);
	ASSERT_EQ(thread_flags, ev->clone_flags & thread_flags);
}

/* CLONE_THREAD without CLONE_SIGHAND: copy_process() refuses it. */
TEST_F(clonescope, clone3_failure)
{
	struct clone_args args = { .flags = CLONE_THREAD };
	const struct clonescope_clone_event *ev;
	__u64 before, after;

	ASSERT_EQ(0, cs_trace_self(self->fd));
	before = cs_now_ns();
	ASSERT_EQ(-1, syscall(SYS_clone3, &args, sizeof(args)));
	ASSERT_EQ(EINVAL, errno);
	after = cs_now_ns();

	ev = cs_drain_one_clone(_metadata, self);
	ASSERT_EQ(-EINVAL, ev->result);
	ASSERT_EQ(CLONESCOPE_CLONE_FAILED, ev->flags & CLONESCOPE_CLONE_FAILED);
	ASSERT_EQ(0, ev->child_pid);
	ASSERT_EQ(CLONESCOPE_SYSCALL_CLONE3, ev->syscall);
	ASSERT_EQ(sizeof(args), ev->clone3_size);
	ASSERT_EQ(CLONE_THREAD, ev->clone_flags & CLONE_THREAD);
	ASSERT_EQ(getpid(), ev->parent_tgid);
	ASSERT_LE(before, ev->start_ns);
	ASSERT_LE(ev->start_ns, ev->end_ns);
	ASSERT_LE(ev->end_ns, after);
}

CS_HARNESS_MAIN
