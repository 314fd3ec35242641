/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The clone path tracer: probes on kernel_clone, copy_process and its
 * landmarks, the clone path's tracepoints and the child's first run,
 * assembled into one CLONESCOPE_RECORD_CLONE per clone (and aggregated,
 * when the session asks).
 */
#ifndef CLONESCOPE_CLONE_H
#define CLONESCOPE_CLONE_H

#include <linux/types.h>

struct clonescope_stats;

int cs_clone_init(void);
void cs_clone_exit(void);
/* @armed: the CLONESCOPE_PROBES_* groups the next session arms. */
void cs_clone_reset(u32 armed);
u64 cs_clone_features(void);
/* Adds this tracer's counters to @st. */
void cs_clone_stats(struct clonescope_stats *st);

#endif
