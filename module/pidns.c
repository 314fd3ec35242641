// SPDX-License-Identifier: GPL-2.0
/*
 * Namespace pids of the clone record: what getpid()/gettid() return in
 * each task, and which pid namespace that is.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/clonescope.h>

#include "pidns.h"

/* Layout of the ABI 1.0/1.1 record and of its 1.2 tail. */
static_assert(offsetof(struct clonescope_clone_event, ns_parent_pid) ==
	      CLONESCOPE_CLONE_EVENT_SIZE_VER0);
static_assert(sizeof(struct clonescope_clone_event) ==
	      CLONESCOPE_CLONE_EVENT_SIZE_VER1);

/*
 * A task in the initial pid namespace (level 0: nearly every task) has the
 * same pids there as globally: no walk of its struct pid for them.
 */
void cs_pidns_of(struct task_struct *task, u32 *pid, u32 *tgid, u32 *pidns)
{
	/*
	 * Its struct pid is set and does not change: current's while it
	 * runs, the child's before it has run.  Its namespace (for a child
	 * of CLONE_NEWPID, the new one) is that of this struct pid, as
	 * task_active_pid_ns() says.
	 */
	struct pid *p = task_pid(task);
	struct pid_namespace *ns = ns_of_pid(p);

	*pidns = ns->ns.inum;
	if (!p->level) {
		*pid = task->pid;
		*tgid = task->tgid;
		return;
	}
	*pid = task_pid_nr_ns(task, ns);
	*tgid = task_tgid_nr_ns(task, ns);
}
NOKPROBE_SYMBOL(cs_pidns_of);
