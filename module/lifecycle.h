/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What becomes of a traced clone's child: exec, exit, reap, as one
 * CLONESCOPE_RECORD_LIFECYCLE per child.
 */
#ifndef CLONESCOPE_LIFECYCLE_H
#define CLONESCOPE_LIFECYCLE_H

#include <linux/sched.h>
#include <linux/types.h>

struct clonescope_stats;

int cs_lifecycle_init(void);
void cs_lifecycle_exit(void);
/* @armed: the CLONESCOPE_PROBES_* groups the next session arms. */
void cs_lifecycle_reset(u32 armed);
/* Writes the records of children not reaped yet; no handler may run. */
void cs_lifecycle_flush(void);
u64 cs_lifecycle_features(void);
void cs_lifecycle_stats(struct clonescope_stats *st);

/* From task_newtask: current made @child at @now, with @clone_flags. */
void cs_lifecycle_fork(struct task_struct *child, u64 clone_flags, u64 now);

#endif
