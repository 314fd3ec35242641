/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copy-on-write cost of each fork: CLONESCOPE_RECORD_COW.
 */
#ifndef CLONESCOPE_COW_H
#define CLONESCOPE_COW_H

#include <linux/sched.h>
#include <linux/types.h>

#include "session.h"

/* Its flush writes the records of forks still watched. */
extern struct cs_tracer cs_cow_tracer;

/* From copy_process()'s return: current forked @child at @now. */
void cs_cow_fork(struct task_struct *child, u64 now);

#endif
