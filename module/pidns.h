/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pids as a task's own pid namespace numbers them, for the clone record's
 * ABI 1.2 tail (CLONESCOPE_FEAT_NS_PIDS).
 */
#ifndef CLONESCOPE_PIDNS_H
#define CLONESCOPE_PIDNS_H

#include <linux/sched.h>
#include <linux/types.h>

/*
 * @task's pid and tgid in its own pid namespace (what getpid()/gettid()
 * return in it), and that namespace's inode number.  @task is current, or
 * copy_process()'s child before its wake-up.
 */
void cs_pidns_of(struct task_struct *task, u32 *pid, u32 *tgid, u32 *pidns);

#endif
