/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * clonescope: per-call tracing of fork()/clone() cost.
 *
 * This header is the whole ABI between the clonescope module and user
 * space: the records read() returns from /dev/clonescope and the ioctls.
 * See Documentation/clonescope.rst.
 *
 * Rules: structs only grow at their end; every struct passed by ioctl
 * starts with __u32 size, set by the caller to the size it knows; reserved
 * fields must be zero.  Records start with struct clonescope_record_header
 * and a reader skips record types it does not know by hdr.size.
 *
 * Each struct's first size is its ..._SIZE_VER0, asserted at build time in
 * the module and in the tool.  A reader accepts a record of a known type
 * from its VER0 size up: the fields past a shorter record (an older
 * module) read as zero, and the features mask says which ones the module
 * fills; the tail of a longer record (a newer module) is ignored.
 */
#ifndef _UAPI_LINUX_CLONESCOPE_H
#define _UAPI_LINUX_CLONESCOPE_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define CLONESCOPE_DEVICE_NAME		"clonescope"

/* The major changes when an old reader can no longer decode the stream. */
#define CLONESCOPE_ABI_MAJOR		1
#define CLONESCOPE_ABI_MINOR		7

/* Bits of clonescope_version.features: what this module build can do. */
#define CLONESCOPE_FEAT_KERNEL_CLONE	(1ULL << 0) /* clone records */
#define CLONESCOPE_FEAT_SYSCALL		(1ULL << 1) /* syscall of entry */
#define CLONESCOPE_FEAT_PHASES		(1ULL << 2) /* copy_process phases */
#define CLONESCOPE_FEAT_CHILD_START	(1ULL << 3) /* child first-run records */
#define CLONESCOPE_FEAT_LOST_RECORDS	(1ULL << 4) /* in-stream drop records */
#define CLONESCOPE_FEAT_FILTER		(1ULL << 5) /* CLONESCOPE_IOC_SET_FILTER */
#define CLONESCOPE_FEAT_SELF_COST	(1ULL << 6) /* handler self-cost */
#define CLONESCOPE_FEAT_COW		(1ULL << 7) /* COW records: 4K copies */
#define CLONESCOPE_FEAT_COW_THP		(1ULL << 8) /* COW on THP counted */
#define CLONESCOPE_FEAT_COW_HUGETLB	(1ULL << 9) /* COW on hugetlb counted */
#define CLONESCOPE_FEAT_OPTIONS		(1ULL << 10) /* CLONESCOPE_IOC_SET_OPTIONS */
/* Since 1.1: */
#define CLONESCOPE_FEAT_TIMED_WAKEUP	(1ULL << 11) /* readers woken by a timer
						      * or a half-full buffer,
						      * not per record */
#define CLONESCOPE_FEAT_AGGREGATE	(1ULL << 12) /* CLONESCOPE_IOC_GET_AGGREGATE,
						      * CLONESCOPE_OPT_* */
#define CLONESCOPE_FEAT_PROBE_FLAGS	(1ULL << 13) /* clonescope_probe_info.flags */
/* Since 1.2: */
#define CLONESCOPE_FEAT_NS_PIDS		(1ULL << 16) /* clone records: ns pids */
/* Since 1.3: */
#define CLONESCOPE_FEAT_LIFECYCLE	(1ULL << 17) /* lifecycle records:
						      * exec and exit, and
						      * CLONESCOPE_PROBES_LIFECYCLE */
#define CLONESCOPE_FEAT_LIFECYCLE_REAP	(1ULL << 18) /* ... with the reap */
/* Since 1.5: CLONESCOPE_OPT_SAMPLED_COST and CLONESCOPE_CLONE_TIMED. */
#define CLONESCOPE_FEAT_SAMPLED_COST	(1ULL << 19)
/* Since 1.6: CLONESCOPE_OPT_WAKEUP_MS and clonescope_options.wakeup_ms. */
#define CLONESCOPE_FEAT_WAKEUP_LATENCY	(1ULL << 20)

/* ------------------------------------------------------------------ */
/* Records                                                            */
/* ------------------------------------------------------------------ */

#define CLONESCOPE_RECORD_CLONE		1
#define CLONESCOPE_RECORD_CHILD_START	2
#define CLONESCOPE_RECORD_LOST		3
#define CLONESCOPE_RECORD_COW		4
/* Since 1.3: */
#define CLONESCOPE_RECORD_LIFECYCLE	8

/*
 * read() returns whole records only; a read() of fewer bytes than this is
 * refused with -EINVAL, so a reader can always make progress.
 */
#define CLONESCOPE_READ_MIN		1024

/*
 * Every record starts with this header.  @size is the size of the whole
 * record in bytes, header included, always a multiple of 8.  @timestamp_ns
 * is CLOCK_MONOTONIC (ktime_get_ns()), the clock of clock_gettime(
 * CLOCK_MONOTONIC), at the moment the record was written.
 */
struct clonescope_record_header {
	__u16	type;
	__u16	size;
	__u32	cpu;
	__aligned_u64 timestamp_ns;
};
#define CLONESCOPE_RECORD_HEADER_SIZE_VER0	16

/* How the clone entered the kernel: clonescope_clone_event.syscall. */
#define CLONESCOPE_SYSCALL_UNKNOWN	0 /* kernel_clone from inside the kernel */
#define CLONESCOPE_SYSCALL_CLONE	1
#define CLONESCOPE_SYSCALL_CLONE3	2
#define CLONESCOPE_SYSCALL_FORK		3
#define CLONESCOPE_SYSCALL_VFORK	4

/*
 * Phases of a clone, each the interval between two landmark probes that
 * the kernel passes in a fixed order (see Documentation/clonescope.rst for
 * what each interval contains on each kernel).  The phases of
 * CLONESCOPE_TILED_PHASES do not overlap and lie inside COPY_PROCESS; DUP_MMAP
 * lies inside FILES_TO_MM and COPY_PAGE_RANGE (the sum over all its calls)
 * inside DUP_MMAP.
 *
 * Since 1.7, DUP_TASK and COPY_PROCESS start at kernel_clone's entry (1.6:
 * copy_process's), so they include kernel_clone's argument checks,
 * a few flag tests; KERNEL_CLONE and COPY_PROCESS start together.  And
 * WAKE_UP_NEW_TASK starts where COPY_PROCESS ends, at the task_newtask
 * tracepoint (1.6: sched_process_fork, a few tests later unless
 * copy_process's tail sets up uprobes, user events or the oom score).
 */
#define CLONESCOPE_PHASE_DUP_TASK		0  /* kernel_clone -> copy_creds */
#define CLONESCOPE_PHASE_COPY_CREDS		1
#define CLONESCOPE_PHASE_SCHED_FORK		2
#define CLONESCOPE_PHASE_TASK_INIT		3  /* perf, audit, security, semundo */
#define CLONESCOPE_PHASE_FILES_TO_MM		4  /* files, fs, sighand, signal, mm */
#define CLONESCOPE_PHASE_COPY_NAMESPACES	5
#define CLONESCOPE_PHASE_COPY_IO		6  /* copy_namespaces -> copy_thread */
#define CLONESCOPE_PHASE_COPY_THREAD		7
#define CLONESCOPE_PHASE_ALLOC_PID		8
#define CLONESCOPE_PHASE_CGROUP_CAN_FORK	9
#define CLONESCOPE_PHASE_ATTACH			10 /* cgroup_can_fork -> return */
#define CLONESCOPE_PHASE_DUP_MMAP		11
#define CLONESCOPE_PHASE_COPY_PAGE_RANGE	12
#define CLONESCOPE_PHASE_COPY_PROCESS		13
#define CLONESCOPE_PHASE_WAKE_UP_NEW_TASK	14 /* since 1.1; since 1.7:
						    * task_newtask ->
						    * sched_wakeup_new */
#define CLONESCOPE_PHASE_KERNEL_CLONE		15
#define CLONESCOPE_NR_PHASES			16

/*
 * Since 1.4: the phases that tile copy_process() from its entry (since
 * 1.7 kernel_clone's) to its return, each starting where the one before
 * it (in index order) ends.  A
 * failed clone ends in its failed_phase: the tiled phases after it did not
 * happen.  A phase added later may join this set with its own bit.
 */
#define CLONESCOPE_TILED_PHASES					\
	((1ULL << CLONESCOPE_PHASE_DUP_TASK) |			\
	 (1ULL << CLONESCOPE_PHASE_COPY_CREDS) |		\
	 (1ULL << CLONESCOPE_PHASE_SCHED_FORK) |		\
	 (1ULL << CLONESCOPE_PHASE_TASK_INIT) |			\
	 (1ULL << CLONESCOPE_PHASE_FILES_TO_MM) |		\
	 (1ULL << CLONESCOPE_PHASE_COPY_NAMESPACES) |		\
	 (1ULL << CLONESCOPE_PHASE_COPY_IO) |			\
	 (1ULL << CLONESCOPE_PHASE_COPY_THREAD) |		\
	 (1ULL << CLONESCOPE_PHASE_ALLOC_PID) |			\
	 (1ULL << CLONESCOPE_PHASE_CGROUP_CAN_FORK) |		\
	 (1ULL << CLONESCOPE_PHASE_ATTACH))

/* No phase: clonescope_clone_event.failed_phase of a successful clone. */
#define CLONESCOPE_PHASE_NONE			0xffffffffU

/* clonescope_clone_event.flags */
#define CLONESCOPE_CLONE_FAILED		(1U << 0) /* result < 0 */
#define CLONESCOPE_CLONE_RESTART	(1U << 1) /* -ERESTARTNOINTR: retried */
#define CLONESCOPE_CLONE_NO_KERNEL_CLONE (1U << 2) /* syscall failed before;
						  * 1.0 only: since 1.1 the
						  * syscall wrappers are not
						  * probed, and such a call
						  * makes no record */
/*
 * Since 1.5: self_cost_ns was measured.  Without it (a 1.5 module) the
 * clone was not timed and self_cost_ns is 0: CLONESCOPE_OPT_SAMPLED_COST.
 */
#define CLONESCOPE_CLONE_TIMED		(1U << 3)

struct clonescope_phase {
	__aligned_u64 start_ns;		/* CLOCK_MONOTONIC */
	__aligned_u64 duration_ns;
};
#define CLONESCOPE_PHASE_SIZE_VER0	16	/* in an array: never grows */

/*
 * One record per clone, written when kernel_clone returns (1.0: when the
 * outermost traced function, the clone syscall or kernel_clone, returned).  Pids are in the initial pid namespace; @result is what the
 * caller got back (a pid in the caller's namespace, or -errno).
 *
 * Since ABI 1.2 (CLONESCOPE_FEAT_NS_PIDS) the record ends with the pids as
 * each task's own pid namespace numbers them (pid_vnr(): what getpid()
 * returns in that task), and the inode numbers of those namespaces (as in
 * /proc/PID/ns/pid), so a container's own pids can be matched.  Outside
 * containers they equal the fields above.  A record of
 * CLONESCOPE_CLONE_EVENT_SIZE_VER0 bytes (ABI 1.0, 1.1) has none of them.
 */
struct clonescope_clone_event {
	struct clonescope_record_header hdr;
	__aligned_u64 clone_flags;
	__aligned_u64 start_ns;		/* kernel_clone entry (1.0: syscall entry) */
	__aligned_u64 end_ns;		/* kernel_clone return (1.0: syscall return) */
	__aligned_u64 phase_mask;	/* bit n: phases[n] was measured */
	/* Time spent in clonescope handlers; 1.5: if CLONESCOPE_CLONE_TIMED. */
	__aligned_u64 self_cost_ns;
	__s64	result;
	__u32	parent_pid;
	__u32	parent_tgid;
	__u32	child_pid;		/* 0 when the clone failed */
	__u32	child_tgid;
	__u32	syscall;		/* CLONESCOPE_SYSCALL_* */
	__s32	exit_signal;
	__u32	flags;			/* CLONESCOPE_CLONE_* */
	__u32	failed_phase;		/* CLONESCOPE_PHASE_* or _NONE */
	__u32	copy_page_range_calls;
	__u32	clone3_size;		/* clone3 only: clone_args size */
	__u32	set_tid_size;		/* clone3 only */
	__u32	__reserved;
	char	comm[16];
	struct clonescope_phase phases[CLONESCOPE_NR_PHASES];
	/* Since 1.2: */
	__u32	ns_parent_pid;		/* in the parent's pid namespace */
	__u32	ns_parent_tgid;
	__u32	ns_child_pid;		/* in the child's; 0 if it failed */
	__u32	ns_child_tgid;
	__u32	parent_pidns;		/* inode of the parent's pid namespace */
	__u32	child_pidns;		/* ... of the child's (CLONE_NEWPID: new) */
};
#define CLONESCOPE_CLONE_EVENT_SIZE_VER0	384
#define CLONESCOPE_CLONE_EVENT_SIZE_VER1	408

/*
 * The child's first run (schedule_tail): with the clone record's
 * WAKE_UP_NEW_TASK phase this gives the wake-up latency.
 */
struct clonescope_child_start_event {
	struct clonescope_record_header hdr;
	__u32	pid;
	__u32	tgid;
	__u32	parent_tgid;
	__u32	__reserved;
};
#define CLONESCOPE_CHILD_START_EVENT_SIZE_VER0	32

/*
 * @lost records of this CPU's buffer were dropped (buffer full) just
 * before this point in the stream.
 */
struct clonescope_lost_event {
	struct clonescope_record_header hdr;
	__aligned_u64 lost;
};
#define CLONESCOPE_LOST_EVENT_SIZE_VER0	24

/*
 * Write faults in one process while a fork's pages are shared.  @copied
 * anonymous 4K pages were copied (the COW cost of the fork); @reused write
 * faults found the page already the process's own (no copy).  Copies of
 * the zero page (first write to a never-written page) are not a fork
 * cost and are counted apart in @zero_copied.  On 6.1 a COW fault on a
 * transparent huge page splits it and copies 4K pages (@thp_fallback);
 * hugetlb pages are copied whole.
 */
struct clonescope_cow_counts {
	__aligned_u64 copied;
	__aligned_u64 reused;
	__aligned_u64 zero_copied;
	__aligned_u64 copy_ns;		/* time spent copying (4K path) */
	__aligned_u64 thp_faults;	/* COW faults on a THP mapping */
	__aligned_u64 thp_fallback;	/* ... split and retried as 4K */
	__aligned_u64 hugetlb_faults;	/* COW faults on hugetlb pages */
	__aligned_u64 hugetlb_copied;	/* hugetlb pages copied */
	__aligned_u64 hugetlb_bytes;
};
#define CLONESCOPE_COW_COUNTS_SIZE_VER0	72	/* embedded twice: never grows */

/* clonescope_cow_event.end_reason */
#define CLONESCOPE_COW_END_EXEC		1 /* the child called execve() */
#define CLONESCOPE_COW_END_EXIT		2 /* the child exited */
#define CLONESCOPE_COW_END_STOP		3 /* tracing was disabled first */

/*
 * The copy-on-write bill of one fork (a clone without CLONE_VM), written
 * when the child leaves the parent's memory image (exec or exit).  The
 * parent's faults are counted for its most recent live fork.
 */
struct clonescope_cow_event {
	struct clonescope_record_header hdr;
	__aligned_u64 fork_ns;		/* copy_process() returned */
	__aligned_u64 rss_anon_pages;	/* parent's, at the fork */
	__aligned_u64 rss_file_pages;
	__u32	map_count;		/* parent's VMAs at the fork */
	__u32	end_reason;		/* CLONESCOPE_COW_END_* */
	__u32	child_pid;
	__u32	child_tgid;
	__u32	parent_pid;
	__u32	parent_tgid;
	struct clonescope_cow_counts child;
	struct clonescope_cow_counts parent;
};
#define CLONESCOPE_COW_EVENT_SIZE_VER0	208

/* clonescope_lifecycle_event.flags */
#define CLONESCOPE_LIFE_THREAD		(1U << 0) /* a CLONE_THREAD child */
#define CLONESCOPE_LIFE_UNFINISHED	(1U << 1) /* tracing stopped before
						   * the reap: later stamps 0 */
#define CLONESCOPE_LIFE_NO_REAP_PROBE	(1U << 2) /* written at exit: the
						   * reap is not probed */

/*
 * What became of the child of a traced clone (CLONESCOPE_FEAT_LIFECYCLE):
 * written when it is reaped (release_task(): by the parent's wait, or by
 * the child itself when nobody waits for it), else when tracing stops.
 * Stamps are CLOCK_MONOTONIC, 0 for what did not happen: fork_ns is when
 * copy_process() made the child (the clone record's COPY_PROCESS end),
 * exec_ns its first successful execve(), exit_ns its do_exit()
 * (sched_process_exit), reap_ns its release.  Between exit and reap the
 * child is a zombie.  @exit_code is the wait status as waitpid() gives it
 * (exit status << 8, or the signal).  @comm is the child's at its last
 * stamp: after an exec, the new program's.
 */
struct clonescope_lifecycle_event {
	struct clonescope_record_header hdr;
	__aligned_u64 fork_ns;
	__aligned_u64 exec_ns;
	__aligned_u64 exit_ns;
	__aligned_u64 reap_ns;
	__u32	pid;
	__u32	tgid;
	__u32	parent_tgid;		/* the forking process */
	__u32	reaper_pid;		/* the task that released it, 0 if none */
	__u32	execs;			/* successful execve() calls */
	__s32	exit_code;
	__u32	flags;			/* CLONESCOPE_LIFE_* */
	__u32	__reserved;
	char	comm[16];
};
#define CLONESCOPE_LIFECYCLE_EVENT_SIZE_VER0	96

/* ------------------------------------------------------------------ */
/* ioctls                                                             */
/* ------------------------------------------------------------------ */

struct clonescope_version {
	__u32	size;			/* in: sizeof as the caller knows it */
	__u32	abi_major;
	__u32	abi_minor;
	__u32	__reserved;
	__aligned_u64 features;		/* CLONESCOPE_FEAT_* */
};
#define CLONESCOPE_VERSION_SIZE_VER0	24

/* clonescope_filter.flags */
#define CLONESCOPE_FILTER_TGID		(1U << 0) /* parent tgid in tgids[] */
#define CLONESCOPE_FILTER_TREE		(1U << 1) /* tgids[] or a descendant */
#define CLONESCOPE_FILTER_PID		(1U << 2) /* parent thread == pid */
#define CLONESCOPE_FILTER_COMM		(1U << 3) /* parent comm == comm */
#define CLONESCOPE_FILTER_CGROUP	(1U << 4) /* parent in cgroup_id (v2) */
#define CLONESCOPE_FILTER_ALL		((1U << 5) - 1)

#define CLONESCOPE_FILTER_MAX_TGIDS	16

/* All set conditions must hold; flags == 0 traces everything. */
struct clonescope_filter {
	__u32	size;
	__u32	flags;			/* CLONESCOPE_FILTER_* */
	__u32	nr_tgids;
	__u32	pid;
	__aligned_u64 cgroup_id;
	char	comm[16];
	__u32	tgids[CLONESCOPE_FILTER_MAX_TGIDS];
};
#define CLONESCOPE_FILTER_SIZE_VER0	104

/*
 * Groups of probes ENABLE arms: each costs time in every traced clone, so
 * a user pays only for what they read.  CLONE is always armed.
 */
#define CLONESCOPE_PROBES_CLONE		(1U << 0) /* syscalls, kernel_clone,
						   * copy_process, wake-up,
						   * child start */
#define CLONESCOPE_PROBES_PHASES	(1U << 1) /* copy_process landmarks */
#define CLONESCOPE_PROBES_PAGE_TABLES	(1U << 2) /* copy_page_range, per VMA */
#define CLONESCOPE_PROBES_COW		(1U << 3) /* copy-on-write faults */
/* Since 1.3 (CLONESCOPE_FEAT_LIFECYCLE): */
#define CLONESCOPE_PROBES_LIFECYCLE	(1U << 4) /* children's exec, exit
						   * and reap */
#define CLONESCOPE_PROBES_ALL		((1U << 5) - 1)

/*
 * clonescope_options.flags (CLONESCOPE_FEAT_AGGREGATE): AGGREGATE keeps
 * the counters and histograms CLONESCOPE_IOC_GET_AGGREGATE reads;
 * NO_RECORDS (with AGGREGATE) writes no record at all, so nothing is
 * delivered and a reader sees only EOF.
 */
#define CLONESCOPE_OPT_AGGREGATE	(1U << 0)
#define CLONESCOPE_OPT_NO_RECORDS	(1U << 1)
/*
 * Since 1.5 (CLONESCOPE_FEAT_SAMPLED_COST): time only a sample of the
 * handler calls, which saves a clock read in every other call.  On each
 * CPU, the first clone kernel_clone() starts there and every
 * CLONESCOPE_COST_SAMPLE_INTERVAL-th after it is timed: each handler
 * working for it is timed, and its record has CLONESCOPE_CLONE_TIMED and
 * an exact self_cost_ns; the other clones' records have self_cost_ns 0.
 * A call that works for no clone is timed if it is its probe's first on
 * that CPU or every CLONESCOPE_COST_SAMPLE_INTERVAL-th after.  The
 * handler_ns of the stats and of each probe are then estimates: a probe's
 * timed_ns scaled by its calls over its timed_calls.  Without this option
 * every call is timed and every clone record has CLONESCOPE_CLONE_TIMED,
 * as before 1.5 (which did not set the flag).
 */
#define CLONESCOPE_OPT_SAMPLED_COST	(1U << 2)
/*
 * Since 1.6 (CLONESCOPE_FEAT_WAKEUP_LATENCY): the reader chooses how long
 * a record may wait in the buffers before a blocked reader is woken,
 * clonescope_options.wakeup_ms, 0 to CLONESCOPE_MAX_WAKEUP_MS (0: at the
 * first record of each wait).  A buffer filled past half wakes the reader
 * sooner, and DISABLE always does, so nothing waits for the latency at
 * the end.  Without this flag the module's default (its wakeup_ms
 * parameter, 100 ms unless set) applies, and wakeup_ms must be 0.  A
 * reader that is not interactive (one writing a trace file) can ask for
 * a long latency: fewer wakeups, larger batches.
 */
#define CLONESCOPE_OPT_WAKEUP_MS	(1U << 3)
#define CLONESCOPE_OPT_ALL		((1U << 4) - 1)

#define CLONESCOPE_MAX_WAKEUP_MS	10000

#define CLONESCOPE_COST_SAMPLE_INTERVAL	16

/*
 * Set while tracing is off, by the owner, for as long as it owns the
 * device: until set, and for the next owner, the groups of the module's
 * probes parameter (all, by default) are armed, with no flags.
 */
struct clonescope_options {
	__u32	size;
	__u32	probes;			/* CLONESCOPE_PROBES_* */
	/* Since 1.1: */
	__u32	flags;			/* CLONESCOPE_OPT_* */
	/* Since 1.6, with CLONESCOPE_OPT_WAKEUP_MS; before, reserved (0). */
	__u32	wakeup_ms;
};
#define CLONESCOPE_OPTIONS_SIZE_VER0	8
#define CLONESCOPE_OPTIONS_SIZE_VER1	16

struct clonescope_buffer_config {
	__u32	size;
	__u32	pages_per_cpu;		/* 1..1024, rounded up to a power of 2 */
	__aligned_u64 __reserved;
};
#define CLONESCOPE_BUFFER_CONFIG_SIZE_VER0	16

/*
 * Counters of the tracing session started by the last ENABLE (ENABLE
 * resets them; DISABLE keeps them).  Once the buffer is drained:
 * produced == delivered + dropped.
 */
struct clonescope_stats {
	__u32	size;
	__u32	enabled;
	__u32	nr_cpus;		/* CPUs with a buffer */
	__u32	pages_per_cpu;
	__aligned_u64 produced;		/* records the probes tried to write */
	__aligned_u64 delivered;	/* records read() copied to user space */
	__aligned_u64 dropped;		/* records lost to a full buffer */
	__aligned_u64 inflight_overflow; /* clones untraced: in-flight table full */
	__aligned_u64 handler_calls;	/* probe handler invocations */
	/* Time inside clonescope handlers; 1.5: an estimate if sampled. */
	__aligned_u64 handler_ns;
	__aligned_u64 clones;		/* clone records produced */
	__u32	nr_probes;		/* for CLONESCOPE_IOC_GET_PROBE */
	__u32	probes;			/* CLONESCOPE_PROBES_* armed by ENABLE */
	/* Since 1.5 (CLONESCOPE_FEAT_SAMPLED_COST): */
	__aligned_u64 timed_calls;	/* handler calls that were timed */
	__aligned_u64 timed_clones;	/* clone records with CLONESCOPE_CLONE_TIMED */
	__u32	cost_sampled;		/* CLONESCOPE_OPT_SAMPLED_COST was set */
	__u32	__reserved;
};
#define CLONESCOPE_STATS_SIZE_VER0	80
#define CLONESCOPE_STATS_SIZE_VER1	104

/* clonescope_probe_info.flags (CLONESCOPE_FEAT_PROBE_FLAGS) */
#define CLONESCOPE_PROBE_F_RETURN	(1U << 0) /* a kretprobe: entry and return */
#define CLONESCOPE_PROBE_F_TRACEPOINT	(1U << 1) /* a kernel tracepoint */
#define CLONESCOPE_PROBE_F_FTRACE	(1U << 2) /* a kprobe on an ftrace site,
						   * no breakpoint trap */

/* clonescope_probe_info.state */
#define CLONESCOPE_PROBE_REGISTERED	1
#define CLONESCOPE_PROBE_UNAVAILABLE	2 /* symbol absent on this kernel */
#define CLONESCOPE_PROBE_FAILED		3 /* registration failed: see error */
#define CLONESCOPE_PROBE_ALIAS		4 /* same function as an earlier probe */
#define CLONESCOPE_PROBE_STANDBY	5 /* fallback not needed on this kernel */

struct clonescope_probe_info {
	__u32	size;
	__u32	index;			/* in: 0 .. nr_probes - 1, else -ENOENT */
	__u32	state;			/* CLONESCOPE_PROBE_* */
	__s32	error;			/* -errno of a failed registration */
	__aligned_u64 hits;		/* handler calls */
	__aligned_u64 nmissed;		/* kprobe/kretprobe misses */
	__aligned_u64 handler_ns;	/* 1.5: an estimate if sampled */
	char	symbol[64];		/* what is probed */
	char	role[32];		/* what the probe is for */
	/* Since 1.1: */
	__u32	flags;			/* CLONESCOPE_PROBE_F_* */
	__u32	__reserved;
	/* Since 1.5 (CLONESCOPE_FEAT_SAMPLED_COST): */
	__aligned_u64 timed_calls;	/* handler calls that were timed */
	__aligned_u64 timed_ns;		/* their time, exact */
};
#define CLONESCOPE_PROBE_INFO_SIZE_VER0	136
#define CLONESCOPE_PROBE_INFO_SIZE_VER1	144
#define CLONESCOPE_PROBE_INFO_SIZE_VER2	160

/*
 * In-kernel aggregation (CLONESCOPE_OPT_AGGREGATE): what the module counts
 * per clone, summed over CPUs by CLONESCOPE_IOC_GET_AGGREGATE since the
 * last ENABLE.  A log2 histogram's bucket 0 counts values 0 and 1, bucket
 * n (n > 0) values in [2^n, 2^(n+1)); the last bucket also holds larger.
 */
#define CLONESCOPE_AGG_BUCKETS		40

struct clonescope_log2_hist {
	__aligned_u64 count;
	__aligned_u64 sum;
	__aligned_u64 buckets[CLONESCOPE_AGG_BUCKETS];
};
#define CLONESCOPE_LOG2_HIST_SIZE_VER0	336	/* embedded: never grows */

/* Kinds, as clone records are classified by clone flags and syscall. */
#define CLONESCOPE_AGG_KIND_FORK	0 /* not one of the below */
#define CLONESCOPE_AGG_KIND_VFORK	1 /* CLONE_VFORK */
#define CLONESCOPE_AGG_KIND_THREAD	2 /* CLONE_THREAD */
#define CLONESCOPE_AGG_KIND_CLONE3	3 /* clone3, not vfork or thread */
#define CLONESCOPE_AGG_KIND_KERNEL	4 /* CLONESCOPE_SYSCALL_UNKNOWN */
#define CLONESCOPE_AGG_NR_KINDS		5

/* Failures by errno: errno >= this one count in the last slot. */
#define CLONESCOPE_AGG_NR_ERRNOS	64

struct clonescope_agg_kind {
	__aligned_u64 failed;		/* result < 0, restarts included */
	__aligned_u64 restarted;	/* -ERESTARTNOINTR */
	struct clonescope_log2_hist duration_ns; /* kernel_clone, each clone */
};
#define CLONESCOPE_AGG_KIND_SIZE_VER0	352	/* in an array: never grows */

/* What the module saw of clones by one command name (parent's comm). */
struct clonescope_agg_comm {
	char	comm[16];
	__aligned_u64 failed;
	__aligned_u64 restarted;
	__aligned_u64 kinds[CLONESCOPE_AGG_NR_KINDS]; /* clones of each kind */
	__aligned_u64 cow_copied;	/* 4K pages COW copied after its forks */
	struct clonescope_log2_hist duration_ns;
	struct clonescope_log2_hist wakeup_ns; /* wake-up start -> child runs */
};
#define CLONESCOPE_AGG_COMM_SIZE_VER0	752	/* in an array: never grows */

struct clonescope_aggregate {
	__u32	size;
	/* in: room for this many entries at @comms; out: entries filled */
	__u32	nr_comms;
	__aligned_u64 comms;		/* in: user pointer to the entries */
	/* out: */
	__aligned_u64 clones;
	__aligned_u64 comms_overflow;	/* clones whose comm found no entry */
	struct clonescope_agg_kind kinds[CLONESCOPE_AGG_NR_KINDS];
	__aligned_u64 errnos[CLONESCOPE_AGG_NR_ERRNOS]; /* failed, by -result */
	struct clonescope_log2_hist wakeup_ns;
	struct clonescope_log2_hist cow_copied; /* pages per finished fork */
	struct clonescope_log2_hist phase_ns[CLONESCOPE_NR_PHASES];
};
#define CLONESCOPE_AGGREGATE_SIZE_VER0	(32 + 5 * 352 + 512 + 18 * 336)

#define CLONESCOPE_IOC_MAGIC		0xC5

#define CLONESCOPE_IOC_GET_VERSION	_IOWR(CLONESCOPE_IOC_MAGIC, 0x01, struct clonescope_version)
#define CLONESCOPE_IOC_ENABLE		_IO(CLONESCOPE_IOC_MAGIC, 0x02)
#define CLONESCOPE_IOC_DISABLE		_IO(CLONESCOPE_IOC_MAGIC, 0x03)
#define CLONESCOPE_IOC_SET_FILTER	_IOW(CLONESCOPE_IOC_MAGIC, 0x04, struct clonescope_filter)
#define CLONESCOPE_IOC_GET_STATS	_IOWR(CLONESCOPE_IOC_MAGIC, 0x05, struct clonescope_stats)
#define CLONESCOPE_IOC_GET_PROBE	_IOWR(CLONESCOPE_IOC_MAGIC, 0x06, struct clonescope_probe_info)
#define CLONESCOPE_IOC_SET_BUFFER	_IOW(CLONESCOPE_IOC_MAGIC, 0x07, struct clonescope_buffer_config)
/*
 * 0x08 was CLONESCOPE_IOC_RESET_STATS, dropped in 1.0 (ENABLE resets the
 * counters): retired, never to be reused.
 */
#define CLONESCOPE_IOC_SET_OPTIONS	_IOW(CLONESCOPE_IOC_MAGIC, 0x09, struct clonescope_options)
/* Since 1.1 (CLONESCOPE_FEAT_AGGREGATE): */
#define CLONESCOPE_IOC_GET_AGGREGATE	_IOWR(CLONESCOPE_IOC_MAGIC, 0x0A, struct clonescope_aggregate)

#endif /* _UAPI_LINUX_CLONESCOPE_H */
