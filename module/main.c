// SPDX-License-Identifier: GPL-2.0
/*
 * clonescope: what fork()/clone() really cost, per call.
 *
 * This file is the character device, /dev/clonescope: its read/poll
 * stream of records and its ioctls (uapi/linux/clonescope.h), translated
 * into calls on the session (session.h); and module load/unload, which
 * registers the tracers with the session.  See Documentation/clonescope.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/clonescope.h>

#include "abi.h"
#include "agg.h"
#include "clone.h"
#include "cow.h"
#include "debugfs.h"
#include "lifecycle.h"
#include "probes.h"
#include "session.h"

/*
 * Commands are matched without their size bits: a struct's size travels
 * in its size field, so a struct that grows keeps its command number.
 */
#define CS_IOC_NR(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/* Registered in this order, unregistered in the reverse one. */
static struct cs_tracer *const cs_tracers[] = {
	&cs_clone_tracer,
	&cs_cow_tracer,
	&cs_lifecycle_tracer,
};

/* Serializes ownership: the calls an owner makes come one at a time. */
static DEFINE_MUTEX(cs_owner_lock);
/* The fd that reads and controls tracing; NULL when nobody does. */
static struct file *cs_owner;

static int cs_claim(struct file *file)
{
	lockdep_assert_held(&cs_owner_lock);
	if (cs_owner && cs_owner != file)
		return -EBUSY;
	cs_owner = file;
	return 0;
}

static int cs_open(struct inode *inode, struct file *file)
{
	if (!perfmon_capable())
		return -EPERM;
	return nonseekable_open(inode, file);
}

static int cs_release(struct inode *inode, struct file *file)
{
	mutex_lock(&cs_owner_lock);
	if (cs_owner == file) {
		cs_session_end();
		cs_owner = NULL;
	}
	mutex_unlock(&cs_owner_lock);
	return 0;
}

static ssize_t cs_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	ssize_t ret;

	if (count < CLONESCOPE_READ_MIN)
		return -EINVAL;
	mutex_lock(&cs_owner_lock);
	ret = cs_claim(file);
	mutex_unlock(&cs_owner_lock);
	if (ret)
		return ret;
	return cs_session_read(buf, count, file->f_flags & O_NONBLOCK);
}

static __poll_t cs_poll(struct file *file, poll_table *wait)
{
	return cs_session_poll(file, wait);
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

/* Every struct an ioctl of the table passes, as cs_get_struct() reads it. */
union cs_ioctl_arg {
	struct clonescope_version version;
	struct clonescope_stats stats;
	struct clonescope_probe_info probe;
	struct clonescope_filter filter;
	struct clonescope_buffer_config buffer;
	struct clonescope_options options;
};

static long cs_ioctl_version(union cs_ioctl_arg *arg)
{
	struct clonescope_version *ver = &arg->version;

	memset(ver, 0, sizeof(*ver));
	ver->abi_major = CLONESCOPE_ABI_MAJOR;
	ver->abi_minor = CLONESCOPE_ABI_MINOR;
	ver->features = cs_session_features();
	return 0;
}

static long cs_ioctl_stats(union cs_ioctl_arg *arg)
{
	cs_session_stats(&arg->stats);
	return 0;
}

static long cs_ioctl_probe(union cs_ioctl_arg *arg)
{
	struct clonescope_probe_info *info = &arg->probe;
	u32 index = info->index;

	memset(info, 0, sizeof(*info));
	info->index = index;
	return cs_probe_info_at(index, info);
}

static long cs_ioctl_enable(union cs_ioctl_arg *arg)
{
	return cs_session_enable();
}

static long cs_ioctl_disable(union cs_ioctl_arg *arg)
{
	cs_session_disable();
	return 0;
}

static long cs_ioctl_filter(union cs_ioctl_arg *arg)
{
	return cs_session_set_filter(&arg->filter);
}

static long cs_ioctl_buffer(union cs_ioctl_arg *arg)
{
	if (arg->buffer.__reserved)
		return -EINVAL;
	return cs_session_set_buffer(arg->buffer.pages_per_cpu);
}

static long cs_ioctl_options(union cs_ioctl_arg *arg)
{
	/* A caller of VER0 size asks for records, as before 1.1. */
	return cs_session_set_options(arg->options.probes, arg->options.flags,
				      arg->options.wakeup_ms);
}

struct cs_ioctl_cmd {
	unsigned int nr;	/* CS_IOC_NR() of the command */
	size_t ksize;		/* this module's struct, or 0: no argument */
	size_t ver0;
	bool owned;		/* changes tracing: only the owner fd may */
	bool out;		/* the struct is written back */
	long (*fn)(union cs_ioctl_arg *arg);
};

/* CLONESCOPE_IOC_@cmd, its struct clonescope_@type of CLONESCOPE_@size_SIZE_VER0. */
#define CS_IOCTL(cmd, type, size, owned_, out_, fn_) {			\
	.nr = CS_IOC_NR(CLONESCOPE_IOC_##cmd), .ksize = sizeof(struct type), \
	.ver0 = CLONESCOPE_##size##_SIZE_VER0, .owned = (owned_), .out = (out_), .fn = (fn_) }
#define CS_IOCTL_NOARG(cmd, fn_) \
	{ .nr = CS_IOC_NR(CLONESCOPE_IOC_##cmd), .owned = true, .fn = (fn_) }

static const struct cs_ioctl_cmd cs_ioctl_cmds[] = {
	CS_IOCTL(GET_VERSION, clonescope_version, VERSION, false, true, cs_ioctl_version),
	CS_IOCTL(GET_STATS, clonescope_stats, STATS, false, true, cs_ioctl_stats),
	CS_IOCTL(GET_PROBE, clonescope_probe_info, PROBE_INFO, false, true, cs_ioctl_probe),
	CS_IOCTL_NOARG(ENABLE, cs_ioctl_enable),
	CS_IOCTL_NOARG(DISABLE, cs_ioctl_disable),
	CS_IOCTL(SET_FILTER, clonescope_filter, FILTER, true, false, cs_ioctl_filter),
	CS_IOCTL(SET_BUFFER, clonescope_buffer_config, BUFFER_CONFIG, true, false, cs_ioctl_buffer),
	CS_IOCTL(SET_OPTIONS, clonescope_options, OPTIONS, true, false, cs_ioctl_options),
};

static long cs_ioctl_call(const struct cs_ioctl_cmd *c, void __user *uarg)
{
	union cs_ioctl_arg arg;
	u32 usize = 0;
	long ret;

	if (c->ksize) {
		ret = cs_get_struct(&arg, c->ksize, c->ver0, uarg, &usize);
		if (ret)
			return ret;
	}
	ret = c->fn(&arg);
	if (!ret && c->out)
		ret = cs_put_struct(uarg, usize, &arg, c->ksize);
	return ret;
}

/* Calls that change tracing: only the owner fd, which they claim, may. */
static long cs_ioctl_owned(struct file *file, const struct cs_ioctl_cmd *c,
			   void __user *uarg)
{
	long ret;

	mutex_lock(&cs_owner_lock);
	ret = cs_claim(file);
	if (!ret)
		ret = cs_ioctl_call(c, uarg);
	mutex_unlock(&cs_owner_lock);
	return ret;
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

static long cs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	unsigned int i;

	cmd = CS_IOC_NR(cmd);
	for (i = 0; i < ARRAY_SIZE(cs_ioctl_cmds); i++) {
		const struct cs_ioctl_cmd *c = &cs_ioctl_cmds[i];

		if (c->nr != cmd)
			continue;
		return c->owned ? cs_ioctl_owned(file, c, uarg) :
				  cs_ioctl_call(c, uarg);
	}
	/* Its struct is mostly output, larger than cs_get_struct() takes. */
	if (cmd == CS_IOC_NR(CLONESCOPE_IOC_GET_AGGREGATE))
		return cs_ioctl_aggregate(uarg);
	return -ENOTTY;
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

static void cs_unregister_tracers(unsigned int nr)
{
	while (nr--)
		cs_tracer_unregister(cs_tracers[nr]);
}

static int __init cs_init(void)
{
	unsigned int i;
	int err;

	cs_abi_assert_layout();
	err = cs_session_init();
	if (err)
		return err;
	for (i = 0; i < ARRAY_SIZE(cs_tracers); i++) {
		err = cs_tracer_register(cs_tracers[i]);
		if (err) {
			pr_err("cannot start the %s tracer: %d\n",
			       cs_tracers[i]->name, err);
			goto err_unregister_tracers;
		}
	}
	cs_debugfs_init();
	err = misc_register(&cs_miscdev);
	if (err) {
		pr_err("cannot register /dev/%s: %d\n", CLONESCOPE_DEVICE_NAME, err);
		goto err_remove_debugfs;
	}
	pr_info("ABI %u.%u loaded\n", CLONESCOPE_ABI_MAJOR, CLONESCOPE_ABI_MINOR);
	return 0;

err_remove_debugfs:
	cs_debugfs_exit();
err_unregister_tracers:
	cs_unregister_tracers(i);
	cs_session_exit();
	return err;
}

static void __exit cs_exit(void)
{
	/* An open fd pins the module, so no reader or tracing is left. */
	misc_deregister(&cs_miscdev);
	cs_debugfs_exit();
	cs_unregister_tracers(ARRAY_SIZE(cs_tracers));
	cs_session_exit();
}

module_init(cs_init);
module_exit(cs_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("clonescope: per-call tracing of fork()/clone() cost");
MODULE_AUTHOR("The clonescope authors");
MODULE_VERSION("1.0");
