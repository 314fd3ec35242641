/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pids as a task's own pid namespace numbers them, for the clone record's
 * ABI 1.2 tail (CLONESCOPE_FEAT_NS_PIDS).
 */
#ifndef CLONESCOPE_PIDNS_H
#define CLONESCOPE_PIDNS_H

#include <linux/sched.h>

struct clonescope_clone_event;

/* The parent is current, at the start of a traced clone. */
void cs_pidns_fill_parent(struct clonescope_clone_event *ev);
/* @child: copy_process()'s task, before its wake-up. */
void cs_pidns_fill_child(struct clonescope_clone_event *ev,
			 struct task_struct *child);

#endif
