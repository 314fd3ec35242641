/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The library the clonescope selftests link (selftests/lib): open the
 * device and wrap its ioctls, trace only the calling process, drain the
 * buffer and walk the records (cs_*); probe and phase lookups, a
 * streaming record reader for storms, helper processes that fork in a
 * loop, privilege dropping and module load/unload (ct_*).  Functions
 * return 0 / a count, or -errno, for the tests to ASSERT on; the helpers
 * that ASSERT themselves are in clonescope_harness.h.
 */
#ifndef CLONESCOPE_LIB_H
#define CLONESCOPE_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <linux/clonescope.h>

#define CS_DEVICE		"/dev/" CLONESCOPE_DEVICE_NAME

/* Plenty for the few records a test makes; cs_drain() fails rather than truncate. */
#define CS_DRAIN_BUF_SIZE	(1024 * 1024)

/* cs_count_records() type that matches every record. */
#define CS_ANY_RECORD		0

/* cs_find_pid() pid that matches every record. */
#define CS_ANY_PID		(-1)

#define CT_MSEC		1000000ULL
#define CT_SEC		1000000000ULL

#define CT_BIT(phase)		(1ULL << (phase))
#define CT_MM_PHASES		(CT_BIT(CLONESCOPE_PHASE_DUP_MMAP) | \
				 CT_BIT(CLONESCOPE_PHASE_COPY_PAGE_RANGE))

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

/* What ct_read_once() reads at most. */
#define CT_READ_BUF	(256 * 1024)

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

/* Uids no process in the test guest runs as. */
#define CT_UID_NOBODY		65534
#define CT_UID_RLIMIT		61234
#define CT_UID_BOMB		61235

#define CT_MODULE_NAME	"clonescope"

int cs_open(int flags);

int cs_ioctl(int fd, unsigned long cmd, void *arg);

__u64 cs_now_ns(void);

int cs_get_version(int fd, struct clonescope_version *v);

int cs_get_stats(int fd, struct clonescope_stats *stats);

int cs_get_probe(int fd, __u32 index, struct clonescope_probe_info *info);

int cs_enable(int fd);

int cs_disable(int fd);

int cs_set_filter(int fd, const struct clonescope_filter *filter);

/* Traces every clone on the machine. */
int cs_filter_none(int fd);

/* A filter of @flags (CLONESCOPE_FILTER_TGID or _TREE) on the one @tgid. */
int cs_filter_tgid(int fd, __u32 flags, pid_t tgid);

/* Resizes the per-CPU buffers: module-wide, and only while disabled. */
int cs_set_pages(int fd, __u32 pages_per_cpu);

/*
 * SET_OPTIONS with a struct of @size bytes; @wakeup_ms is the reserved
 * field before ABI 1.6.
 */
int cs_set_options(int fd, __u32 size, __u32 probes, __u32 flags, __u32 wakeup_ms);

/* Makes @fd the owner and starts tracing with cs_filter_tgid(). */
int cs_trace(int fd, __u32 flags, pid_t tgid);

/*
 * Starts tracing the clones whose parent is this process, so the guest's
 * other activity cannot add records.
 */
int cs_trace_self(int fd);

/*
 * Stops tracing and reads every buffered record into @buf: once disabled,
 * read() returns 0 when all buffers are empty.  Returns the bytes read.
 */
ssize_t cs_drain(int fd, void *buf, size_t cap);

/*
 * The record at *@off in a drained stream of @len bytes, advancing *@off;
 * NULL at the end.  *@err is -EINVAL when the record's size is malformed
 * (the stream must be whole records, each a multiple of 8 bytes).
 */
const struct clonescope_record_header *
cs_next_record(const void *buf, size_t len, size_t *off, int *err);

/*
 * Counts the records of @type (or all, for CS_ANY_RECORD) in a drained
 * stream, checking the whole stream is well formed, and points *@first at
 * the first of them.  Returns the count or -EINVAL.
 */
int cs_count_records(const void *buf, size_t len, __u16 type,
		     const struct clonescope_record_header **first);

/*
 * Counts the records of @type, at least @size bytes long, whose __u32 at
 * @pid_off is @pid (or all, for CS_ANY_PID), and points *@found at the
 * first.  Returns the count or -EINVAL for a malformed stream.
 */
int cs_find_pid(const void *buf, size_t len, __u16 type, size_t size,
		size_t pid_off, pid_t pid, const void **found);

/*
 * Counts the clone records whose child is @child_pid and points *@found at
 * the first.  Returns the count or -EINVAL for a malformed stream.
 */
int cs_find_clone(const void *buf, size_t len, pid_t child_pid,
		  const struct clonescope_clone_event **found);

/*
 * Arms every probe group on the next ENABLE (the module's default, but a
 * module-wide setting another test may have changed).  A module without
 * CLONESCOPE_FEAT_OPTIONS arms everything anyway.
 */
int ct_all_probes(int fd);

/*
 * Finds the first probe on @symbol (at index @from or later); fills @info
 * and returns its index, or -ENOENT.
 */
int ct_find_probe_from(int fd, const char *symbol, __u32 from,
		       struct clonescope_probe_info *info);
int ct_find_probe(int fd, const char *symbol,
		  struct clonescope_probe_info *info);

/*
 * Whether a probe on @symbol is registered.  A symbol can be listed more
 * than once (do_wp_page stands in for either function it inlines), the
 * entries not needed on this kernel in standby.
 */
bool ct_probe_registered(int fd, const char *symbol);

/*
 * Which phases this module can measure on this kernel: those whose
 * landmark probes registered.  Returns the mask, or 0 on error.
 */
__u64 ct_phases_available(int fd);

/*
 * The phase a fork over RLIMIT_NPROC fails in.  From 5.15 (the limit
 * counted in ucounts) copy_process() checks it right after copy_creds()
 * has counted the new task for the uid: the interval from copy_creds()
 * return to sched_fork() return, SCHED_FORK.  Before, it checked before
 * copy_creds(): DUP_TASK, and copy_creds() never ran.
 */
unsigned int ct_rlimit_nproc_phase(void);

__u64 ct_phase_end(const struct clonescope_clone_event *ev,
		   unsigned int phase);

bool ct_has_phase(const struct clonescope_clone_event *ev,
		  unsigned int phase);

/*
 * Folds the whole records in @buf[0..len) into @t and calls @fn (if any)
 * on each.  Returns 0, or -EINVAL for a malformed stream.
 */
int ct_walk(const void *buf, size_t len, struct ct_tally *t,
	    ct_record_fn fn, void *arg);

/*
 * One non-blocking read() of whatever is buffered, folded into @t.
 * Returns the bytes read (0: disabled and drained), -EAGAIN when there is
 * nothing yet, or -errno.
 */
ssize_t ct_read_once(int fd, void *buf, struct ct_tally *t,
		     ct_record_fn fn, void *arg);

/*
 * DISABLE, then read until read() returns 0 (all buffers empty).  The fd
 * should be O_NONBLOCK or tracing disabled, which it is here.
 */
int ct_drain_tally(int fd, struct ct_tally *t, ct_record_fn fn,
		   void *arg);

struct ct_shared *ct_shared_new(void);

void ct_shared_free(struct ct_shared *sh);

/* One clone of the given kind; returns 0 or -errno. */
int ct_clone_once(enum ct_load kind);

/*
 * Starts a helper process that clones (@kind) in a loop from when
 * sh->go is set until sh->stop is set or @max_ns passed, counting in
 * sh->done[@slot].  Returns its pid or -errno.
 */
pid_t ct_start_loader(struct ct_shared *sh, int slot,
		      enum ct_load kind, __u64 max_ns);

/* Waits for @pid for up to @timeout_ns; kills it when it overstays. */
int ct_reap(pid_t pid, __u64 timeout_ns);

void ct_stop_loaders(struct ct_shared *sh, const pid_t *pids, int nr);

/* setuid(@uid) for good: all ids, no supplementary groups, no caps. */
int ct_become(uid_t uid);

/*
 * Sets the effective and permitted capabilities to exactly @caps (a mask
 * of CAP_* bits, all below 64).
 */
int ct_set_caps(__u64 caps);

/* The number a (sysfs, procfs) file starts with, or -errno. */
long ct_read_long(const char *path);

/* Writes @val and a newline to a (sysfs, procfs) file; 0 or -errno. */
int ct_write_long(const char *path, long val);

/* Reads a whole (small, procfs/debugfs) file into a NUL-terminated buffer. */
char *ct_read_file(const char *path, size_t *lenp);

/*
 * The .ko to (re)load: $CLONESCOPE_MODULE, else the snapshot guest-check.sh
 * loaded (/tmp/clonescope.ko), else the tree's module/clonescope.ko.
 */
const char *ct_module_path(void);

bool ct_module_loaded(void);

/* finit_module(); waits (bounded) for udev-less devtmpfs to show the node. */
int ct_module_load(const char *params);

/* delete_module() as rmmod does it (O_NONBLOCK). */
int ct_module_unload(void);

/* The module's reference count, or -errno. */
long ct_module_refcnt(void);

#endif /* CLONESCOPE_LIB_H */
