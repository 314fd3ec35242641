// SPDX-License-Identifier: GPL-2.0
/*
 * Task filters: see filter.h and CLONESCOPE_IOC_SET_FILTER.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/kprobes.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/clonescope.h>

#include "filter.h"

/* Deep enough for any real process tree; bounds the walk in a handler. */
#define CS_TREE_MAX_DEPTH	64

static struct clonescope_filter cs_filter;

int cs_filter_set(const struct clonescope_filter *f)
{
	unsigned int i;

	if (f->flags & ~CLONESCOPE_FILTER_ALL)
		return -EINVAL;
	if (f->nr_tgids > CLONESCOPE_FILTER_MAX_TGIDS)
		return -EINVAL;
	/* Unused slots are reserved: they must be zero. */
	for (i = f->nr_tgids; i < CLONESCOPE_FILTER_MAX_TGIDS; i++)
		if (f->tgids[i])
			return -EINVAL;
	if ((f->flags & (CLONESCOPE_FILTER_TGID | CLONESCOPE_FILTER_TREE)) &&
	    !f->nr_tgids)
		return -EINVAL;
	if ((f->flags & CLONESCOPE_FILTER_COMM) &&
	    !memchr(f->comm, '\0', sizeof(f->comm)))
		return -EINVAL;
	/* Fields of unset conditions are reserved: zero. */
	if ((!(f->flags & CLONESCOPE_FILTER_PID) && f->pid) ||
	    (!(f->flags & CLONESCOPE_FILTER_CGROUP) && f->cgroup_id) ||
	    (!(f->flags & CLONESCOPE_FILTER_COMM) && f->comm[0]) ||
	    (!(f->flags & (CLONESCOPE_FILTER_TGID | CLONESCOPE_FILTER_TREE)) &&
	     f->nr_tgids))
		return -EINVAL;
	cs_filter = *f;
	return 0;
}

static bool cs_tgid_listed(pid_t tgid)
{
	unsigned int i;

	for (i = 0; i < cs_filter.nr_tgids; i++)
		if (cs_filter.tgids[i] == tgid)
			return true;
	return false;
}
NOKPROBE_SYMBOL(cs_tgid_listed);

/* Preemption is off (a handler): an RCU read-side section for the walk. */
static bool cs_in_tree(struct task_struct *t)
{
	unsigned int depth;

	for (depth = 0; depth < CS_TREE_MAX_DEPTH; depth++) {
		struct task_struct *parent;

		if (cs_tgid_listed(t->tgid))
			return true;
		parent = rcu_dereference_sched(t->real_parent);
		if (parent == t || t->pid <= 1)
			break;
		t = parent;
	}
	return false;
}
NOKPROBE_SYMBOL(cs_in_tree);

static u64 cs_cgroup_id(struct task_struct *t)
{
	u64 id;

	rcu_read_lock();
	id = cgroup_id(task_dfl_cgroup(t));
	rcu_read_unlock();
	return id;
}
NOKPROBE_SYMBOL(cs_cgroup_id);

bool cs_filter_match(struct task_struct *t)
{
	u32 flags = cs_filter.flags;

	if (!flags)
		return true;
	if ((flags & CLONESCOPE_FILTER_PID) && t->pid != cs_filter.pid)
		return false;
	if ((flags & CLONESCOPE_FILTER_COMM) &&
	    strncmp(t->comm, cs_filter.comm, sizeof(cs_filter.comm)))
		return false;
	if ((flags & CLONESCOPE_FILTER_CGROUP) &&
	    cs_cgroup_id(t) != cs_filter.cgroup_id)
		return false;
	if (flags & CLONESCOPE_FILTER_TREE)
		return cs_in_tree(t);
	if (flags & CLONESCOPE_FILTER_TGID)
		return cs_tgid_listed(t->tgid);
	return true;
}
NOKPROBE_SYMBOL(cs_filter_match);
