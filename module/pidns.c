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
void cs_pidns_fill_parent(struct clonescope_clone_event *ev)
{
	/* current's struct pid does not change while it runs. */
	struct pid *pid = task_pid(current);

	ev->parent_pidns = ns_of_pid(pid)->ns.inum;
	if (!pid->level) {
		ev->ns_parent_pid = current->pid;
		ev->ns_parent_tgid = current->tgid;
		return;
	}
	ev->ns_parent_pid = task_pid_vnr(current);
	ev->ns_parent_tgid = task_tgid_vnr(current);
}
NOKPROBE_SYMBOL(cs_pidns_fill_parent);

void cs_pidns_fill_child(struct clonescope_clone_event *ev,
			 struct task_struct *child)
{
	/*
	 * The child's pid is set and it has not run: its namespace (the
	 * new one under CLONE_NEWPID) is that of its own struct pid, as
	 * task_active_pid_ns() says.
	 */
	struct pid *pid = task_pid(child);
	struct pid_namespace *ns = ns_of_pid(pid);

	ev->child_pidns = ns->ns.inum;
	if (!pid->level) {
		ev->ns_child_pid = child->pid;
		ev->ns_child_tgid = child->tgid;
		return;
	}
	ev->ns_child_pid = task_pid_nr_ns(child, ns);
	ev->ns_child_tgid = task_tgid_nr_ns(child, ns);
}
NOKPROBE_SYMBOL(cs_pidns_fill_child);
