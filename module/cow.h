/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copy-on-write cost of each fork: CLONESCOPE_RECORD_COW.
 */
#ifndef CLONESCOPE_COW_H
#define CLONESCOPE_COW_H

#include <linux/sched.h>
#include <linux/types.h>

struct clonescope_stats;

int cs_cow_init(void);
void cs_cow_exit(void);
/* @armed: the CLONESCOPE_PROBES_* groups the next session arms. */
void cs_cow_reset(u32 armed);
/* Writes the records of forks still watched; no handler may run. */
void cs_cow_flush(void);
u64 cs_cow_features(void);
void cs_cow_stats(struct clonescope_stats *st);

/* From copy_process()'s return: current forked @child at @now. */
void cs_cow_fork(struct task_struct *child, u64 now);

#endif
