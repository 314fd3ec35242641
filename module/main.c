// SPDX-License-Identifier: GPL-2.0
/*
 * clonescope: what fork()/clone() really cost, per call.
 *
 * This file is the character device, /dev/clonescope: its read/poll
 * stream of records and its ioctls (uapi/linux/clonescope.h), and module
 * load/unload.  See Documentation/clonescope.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/clonescope.h>

#include "abi.h"
#include "agg.h"
#include "clone.h"
#include "cow.h"
#include "debugfs.h"
#include "filter.h"
#include "lifecycle.h"
#include "probes.h"
#include "ring.h"
#include "tracing.h"

#define CS_MAX_PAGES_PER_CPU	1024
#define CS_MAX_WAKEUP_MS	10000

/*
 * Commands are matched without their size bits: a struct's size travels
 * in its size field, so a struct that grows keeps its command number.
 */
#define CS_IOC_NR(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

static unsigned int buffer_pages = 64;
module_param(buffer_pages, uint, 0444);
MODULE_PARM_DESC(buffer_pages,
		 "record buffer per CPU, in pages, rounded up to a power of two (default 64)");

static unsigned int wakeup_ms = 100;
module_param(wakeup_ms, uint, 0444);
MODULE_PARM_DESC(wakeup_ms,
		 "longest a record waits before a blocked reader is woken, in ms; sooner when a buffer is half full; 0: at the first record (default 100)");

/* Serializes ownership, tracing on/off, the filter and buffer changes. */
static DEFINE_MUTEX(cs_lock);
/* One read() at a time walks the buffers. */
static DEFINE_MUTEX(cs_read_lock);
static DECLARE_WAIT_QUEUE_HEAD(cs_readers);
/* The fd that reads and controls tracing; NULL when nobody does. */
static struct file *cs_owner;
static struct cs_ring __rcu *cs_ring;
bool cs_tracing_on;
u32 cs_session_flags;
/* The probe groups ENABLE arms (CLONESCOPE_IOC_SET_OPTIONS). */
static u32 cs_armed_probes = CLONESCOPE_PROBES_ALL;
module_param_named(probes, cs_armed_probes, uint, 0444);
MODULE_PARM_DESC(probes,
		 "probe groups armed until CLONESCOPE_IOC_SET_OPTIONS: CLONESCOPE_PROBES_* bits (default 0xf, all)");

int cs_emit(void *rec)
{
	int ret;

	preempt_disable_notrace();
	ret = cs_ring_write(rcu_dereference_sched(cs_ring), rec);
	preempt_enable_notrace();
	return ret;
}
NOKPROBE_SYMBOL(cs_emit);

static struct cs_ring *cs_ring_locked(void)
{
	return rcu_dereference_protected(cs_ring, lockdep_is_held(&cs_lock) ||
					 lockdep_is_held(&cs_read_lock));
}

/*
 * Whether records wait to be read.  Asks writers for a wakeup first, so a
 * record written after this look wakes the caller.
 */
static bool cs_have_records(void)
{
	struct cs_ring *ring;
	bool empty;

	rcu_read_lock();
	ring = rcu_dereference(cs_ring);
	cs_ring_want_wakeup(ring);
	empty = cs_ring_empty(ring);
	rcu_read_unlock();
	return !empty;
}

/* Whether a blocked reader has something to do: records, or EOF. */
static bool cs_readable(void)
{
	return !cs_tracing() || cs_have_records();
}

static int cs_claim(struct file *file)
{
	lockdep_assert_held(&cs_lock);
	if (cs_owner && cs_owner != file)
		return -EBUSY;
	cs_owner = file;
	return 0;
}

static void cs_stop(void)
{
	lockdep_assert_held(&cs_lock);
	if (!cs_tracing())
		return;
	WRITE_ONCE(cs_tracing_on, false);
	cs_probes_arm(0);
	/* Handlers run with preemption off: wait for any still running. */
	synchronize_rcu();
	cs_cow_flush();
	cs_lifecycle_flush();
	/* Blocked readers now get what is left, then EOF. */
	wake_up_interruptible(&cs_readers);
}

static int cs_open(struct inode *inode, struct file *file)
{
	if (!perfmon_capable())
		return -EPERM;
	return nonseekable_open(inode, file);
}

static int cs_release(struct inode *inode, struct file *file)
{
	mutex_lock(&cs_lock);
	if (cs_owner == file) {
		cs_stop();
		cs_owner = NULL;
		/* The next owner gets records unless it asks otherwise. */
		WRITE_ONCE(cs_session_flags, 0);
	}
	mutex_unlock(&cs_lock);
	return 0;
}

static ssize_t cs_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	ssize_t ret;

	if (count < CLONESCOPE_READ_MIN)
		return -EINVAL;
	mutex_lock(&cs_lock);
	ret = cs_claim(file);
	mutex_unlock(&cs_lock);
	if (ret)
		return ret;

	for (;;) {
		mutex_lock(&cs_read_lock);
		ret = cs_ring_read(cs_ring_locked(), buf, count);
		mutex_unlock(&cs_read_lock);
		if (ret)
			return ret;
		if (!cs_tracing())
			return 0;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(cs_readers, cs_readable()))
			return -ERESTARTSYS;
	}
}

static __poll_t cs_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &cs_readers, wait);
	if (cs_have_records())
		return EPOLLIN | EPOLLRDNORM;
	return cs_tracing() ? 0 : EPOLLHUP;
}

/*
 * Size-versioned structs: the caller's size must cover VER0; bytes past
 * what this module knows must be zero (copy_struct_from_user: -E2BIG).
 */
static int cs_get_struct(void *dst, size_t ksize, size_t ver0,
			 const void __user *uarg, u32 *usize)
{
	if (get_user(*usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (*usize < ver0)
		return -EINVAL;
	/* As clone3 does: no struct will ever be this large. */
	if (*usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, uarg, *usize);
}

/* Tells the caller this module's struct size in the size field. */
static int cs_put_struct(void __user *uarg, u32 usize, void *src, size_t ksize)
{
	*(u32 *)src = ksize;
	return copy_to_user(uarg, src, min_t(size_t, usize, ksize)) ? -EFAULT : 0;
}

static long cs_ioctl_version(void __user *uarg)
{
	struct clonescope_version ver;
	u32 usize;
	int err;

	err = cs_get_struct(&ver, sizeof(ver), CLONESCOPE_VERSION_SIZE_VER0,
			    uarg, &usize);
	if (err)
		return err;
	memset(&ver, 0, sizeof(ver));
	ver.abi_major = CLONESCOPE_ABI_MAJOR;
	ver.abi_minor = CLONESCOPE_ABI_MINOR;
	ver.features = cs_clone_features() | cs_cow_features() |
		       cs_lifecycle_features() |
		       CLONESCOPE_FEAT_OPTIONS | CLONESCOPE_FEAT_TIMED_WAKEUP |
		       CLONESCOPE_FEAT_AGGREGATE | CLONESCOPE_FEAT_PROBE_FLAGS;
	return cs_put_struct(uarg, usize, &ver, sizeof(ver));
}

void cs_collect_stats(struct clonescope_stats *st)
{
	struct cs_ring_counters counters;
	struct cs_ring *ring;

	struct cs_probe_stats handlers;

	memset(st, 0, sizeof(*st));
	st->enabled = cs_tracing();
	cs_clone_stats(st);
	cs_cow_stats(st);
	cs_lifecycle_stats(st);
	cs_probes_totals(&handlers);
	st->handler_calls = handlers.hits;
	st->handler_ns = handlers.ns;
	st->nr_probes = cs_probes_count();
	st->probes = READ_ONCE(cs_armed_probes);
	rcu_read_lock();
	ring = rcu_dereference(cs_ring);
	cs_ring_counters(ring, &counters);
	st->pages_per_cpu = cs_ring_pages_per_cpu(ring);
	rcu_read_unlock();
	st->nr_cpus = num_possible_cpus();
	st->produced = counters.produced;
	st->delivered = counters.delivered;
	st->dropped = counters.dropped;
}

static long cs_ioctl_stats(void __user *uarg)
{
	struct clonescope_stats st;
	u32 usize;
	int err;

	err = cs_get_struct(&st, sizeof(st), CLONESCOPE_STATS_SIZE_VER0,
			    uarg, &usize);
	if (err)
		return err;
	cs_collect_stats(&st);
	return cs_put_struct(uarg, usize, &st, sizeof(st));
}

static long cs_ioctl_probe(void __user *uarg)
{
	struct clonescope_probe_info info;
	u32 usize, index;
	int err;

	err = cs_get_struct(&info, sizeof(info),
			    CLONESCOPE_PROBE_INFO_SIZE_VER0, uarg, &usize);
	if (err)
		return err;
	index = info.index;
	memset(&info, 0, sizeof(info));
	info.index = index;
	err = cs_probe_info_at(index, &info);
	if (err)
		return err;
	return cs_put_struct(uarg, usize, &info, sizeof(info));
}

static long cs_ioctl_filter(void __user *uarg)
{
	struct clonescope_filter f;
	u32 usize;
	int err;

	err = cs_get_struct(&f, sizeof(f), CLONESCOPE_FILTER_SIZE_VER0,
			    uarg, &usize);
	if (err)
		return err;
	if (cs_tracing())
		return -EBUSY;
	return cs_filter_set(&f);
}

static long cs_ioctl_buffer(void __user *uarg)
{
	struct clonescope_buffer_config cfg;
	struct cs_ring *old, *new;
	u32 usize;
	int err;

	err = cs_get_struct(&cfg, sizeof(cfg),
			    CLONESCOPE_BUFFER_CONFIG_SIZE_VER0, uarg, &usize);
	if (err)
		return err;
	if (cfg.__reserved)
		return -EINVAL;
	if (!cfg.pages_per_cpu || cfg.pages_per_cpu > CS_MAX_PAGES_PER_CPU)
		return -EINVAL;
	if (cs_tracing())
		return -EBUSY;
	new = cs_ring_alloc(cfg.pages_per_cpu, &cs_readers, wakeup_ms);
	if (!new)
		return -ENOMEM;
	mutex_lock(&cs_read_lock);
	old = cs_ring_locked();
	rcu_assign_pointer(cs_ring, new);
	mutex_unlock(&cs_read_lock);
	synchronize_rcu();
	cs_ring_free(old);
	return 0;
}

static long cs_ioctl_options(void __user *uarg)
{
	struct clonescope_options opts;
	u32 usize;
	int err;

	err = cs_get_struct(&opts, sizeof(opts), CLONESCOPE_OPTIONS_SIZE_VER0,
			    uarg, &usize);
	if (err)
		return err;
	if ((opts.probes & ~CLONESCOPE_PROBES_ALL) ||
	    !(opts.probes & CLONESCOPE_PROBES_CLONE) ||
	    (opts.flags & ~CLONESCOPE_OPT_ALL) || opts.__reserved)
		return -EINVAL;
	/* Neither records nor aggregates: nothing to read. */
	if ((opts.flags & CLONESCOPE_OPT_NO_RECORDS) &&
	    !(opts.flags & CLONESCOPE_OPT_AGGREGATE))
		return -EINVAL;
	if (cs_tracing())
		return -EBUSY;
	WRITE_ONCE(cs_armed_probes, opts.probes);
	/* A caller of VER0 size asks for records, as before 1.1. */
	WRITE_ONCE(cs_session_flags, opts.flags);
	return 0;
}

static long cs_ioctl_enable(void)
{
	struct cs_ring *ring;
	int err;

	if (cs_tracing())
		return 0;
	mutex_lock(&cs_read_lock);
	ring = cs_ring_locked();
	cs_ring_reset(ring);
	mutex_unlock(&cs_read_lock);
	cs_clone_reset(cs_armed_probes);
	cs_cow_reset(cs_armed_probes);
	cs_lifecycle_reset(cs_armed_probes);
	cs_agg_reset();
	cs_probes_reset_stats_all();
	/* Handlers that see tracing on see the tables reset. */
	smp_store_release(&cs_tracing_on, true);
	err = cs_probes_arm(cs_armed_probes);
	if (err) {
		cs_stop();
		return err;
	}
	return 0;
}

/*
 * The struct is larger than cs_get_struct() takes, but only its first
 * fields are input: the rest is written, up to the caller's size.
 */
static long cs_ioctl_aggregate(void __user *uarg)
{
	struct clonescope_aggregate *agg;
	struct clonescope_agg_comm *comms = NULL;
	unsigned int nr;
	u32 usize;
	long err;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < CLONESCOPE_AGGREGATE_SIZE_VER0)
		return -EINVAL;
	agg = kvzalloc(sizeof(*agg), GFP_KERNEL);
	if (!agg)
		return -ENOMEM;
	err = -EFAULT;
	if (copy_from_user(agg, uarg, offsetof(struct clonescope_aggregate, clones)))
		goto out;
	nr = min(agg->nr_comms, cs_agg_max_comms());
	if (nr) {
		err = -ENOMEM;
		comms = kvcalloc(nr, sizeof(*comms), GFP_KERNEL);
		if (!comms)
			goto out;
	}
	nr = cs_agg_read(agg, comms, nr);
	err = -EFAULT;
	if (nr && copy_to_user(u64_to_user_ptr(agg->comms), comms,
			       array_size(nr, sizeof(*comms))))
		goto out;
	agg->nr_comms = nr;
	err = cs_put_struct(uarg, usize, agg, sizeof(*agg));
out:
	kvfree(comms);
	kvfree(agg);
	return err;
}

/* Calls that change tracing: only the owner fd may make them. */
static long cs_ioctl_owned(struct file *file, unsigned int cmd,
			   void __user *uarg)
{
	long ret;

	mutex_lock(&cs_lock);
	ret = cs_claim(file);
	if (ret)
		goto out;
	switch (cmd) {
	case CS_IOC_NR(CLONESCOPE_IOC_ENABLE):
		ret = cs_ioctl_enable();
		break;
	case CS_IOC_NR(CLONESCOPE_IOC_DISABLE):
		cs_stop();
		break;
	case CS_IOC_NR(CLONESCOPE_IOC_SET_FILTER):
		ret = cs_ioctl_filter(uarg);
		break;
	case CS_IOC_NR(CLONESCOPE_IOC_SET_BUFFER):
		ret = cs_ioctl_buffer(uarg);
		break;
	case CS_IOC_NR(CLONESCOPE_IOC_SET_OPTIONS):
		ret = cs_ioctl_options(uarg);
		break;
	}
out:
	mutex_unlock(&cs_lock);
	return ret;
}

static long cs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	cmd = CS_IOC_NR(cmd);
	switch (cmd) {
	case CS_IOC_NR(CLONESCOPE_IOC_GET_VERSION):
		return cs_ioctl_version(uarg);
	case CS_IOC_NR(CLONESCOPE_IOC_GET_STATS):
		return cs_ioctl_stats(uarg);
	case CS_IOC_NR(CLONESCOPE_IOC_GET_PROBE):
		return cs_ioctl_probe(uarg);
	case CS_IOC_NR(CLONESCOPE_IOC_GET_AGGREGATE):
		return cs_ioctl_aggregate(uarg);
	case CS_IOC_NR(CLONESCOPE_IOC_ENABLE):
	case CS_IOC_NR(CLONESCOPE_IOC_DISABLE):
	case CS_IOC_NR(CLONESCOPE_IOC_SET_FILTER):
	case CS_IOC_NR(CLONESCOPE_IOC_SET_BUFFER):
	case CS_IOC_NR(CLONESCOPE_IOC_SET_OPTIONS):
		return cs_ioctl_owned(file, cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations cs_fops = {
	.owner		= THIS_MODULE,
	.open		= cs_open,
	.release	= cs_release,
	.read		= cs_read,
	.poll		= cs_poll,
	.unlocked_ioctl	= cs_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice cs_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= CLONESCOPE_DEVICE_NAME,
	.fops	= &cs_fops,
	.mode	= 0600,
};

static int __init cs_init(void)
{
	struct cs_ring *ring;
	int err;

	cs_abi_assert_layout();
	if (!buffer_pages || buffer_pages > CS_MAX_PAGES_PER_CPU) {
		pr_err("buffer_pages must be 1..%u\n", CS_MAX_PAGES_PER_CPU);
		return -EINVAL;
	}
	if (wakeup_ms > CS_MAX_WAKEUP_MS) {
		pr_err("wakeup_ms must be 0..%u\n", CS_MAX_WAKEUP_MS);
		return -EINVAL;
	}
	if ((cs_armed_probes & ~CLONESCOPE_PROBES_ALL) ||
	    !(cs_armed_probes & CLONESCOPE_PROBES_CLONE)) {
		pr_err("probes must include CLONESCOPE_PROBES_CLONE (1) and be within 0x%x\n",
		       CLONESCOPE_PROBES_ALL);
		return -EINVAL;
	}
	ring = cs_ring_alloc(buffer_pages, &cs_readers, wakeup_ms);
	if (!ring)
		return -ENOMEM;
	RCU_INIT_POINTER(cs_ring, ring);

	err = cs_agg_init();
	if (err)
		goto err_free_ring;
	err = cs_clone_init();
	if (err)
		goto err_free_agg;
	err = cs_cow_init();
	if (err)
		goto err_unregister_probes;
	err = cs_lifecycle_init();
	if (err)
		goto err_unregister_probes;
	cs_debugfs_init();
	err = misc_register(&cs_miscdev);
	if (err) {
		pr_err("cannot register /dev/%s: %d\n", CLONESCOPE_DEVICE_NAME, err);
		goto err_remove_debugfs;
	}
	pr_info("ABI %u.%u loaded, %u pages per CPU\n", CLONESCOPE_ABI_MAJOR,
		CLONESCOPE_ABI_MINOR, cs_ring_pages_per_cpu(ring));
	return 0;

err_remove_debugfs:
	cs_debugfs_exit();
err_unregister_probes:
	cs_probes_unregister_all();
	cs_lifecycle_exit();
	cs_cow_exit();
	cs_clone_exit();
err_free_agg:
	cs_agg_exit();
err_free_ring:
	cs_ring_free(ring);
	return err;
}

static void __exit cs_exit(void)
{
	/* An open fd pins the module, so no reader or tracing is left. */
	misc_deregister(&cs_miscdev);
	cs_debugfs_exit();
	cs_probes_unregister_all();
	cs_lifecycle_exit();
	cs_cow_exit();
	cs_clone_exit();
	cs_agg_exit();
	cs_ring_free(rcu_dereference_protected(cs_ring, true));
}

module_init(cs_init);
module_exit(cs_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("clonescope: per-call tracing of fork()/clone() cost");
MODULE_AUTHOR("The clonescope authors");
MODULE_VERSION("1.0");
