/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What becomes of a traced clone's child: exec, exit, reap, as one
 * CLONESCOPE_RECORD_LIFECYCLE per child.
 */
#ifndef CLONESCOPE_LIFECYCLE_H
#define CLONESCOPE_LIFECYCLE_H

#include <linux/sched.h>
#include <linux/types.h>

#include "session.h"

/* Its flush writes the records of children not reaped yet. */
extern struct cs_tracer cs_lifecycle_tracer;

/* From task_newtask: current made @child at @now, with @clone_flags. */
void cs_lifecycle_fork(struct task_struct *child, u64 clone_flags, u64 now);

#endif
