/* SPDX-License-Identifier: GPL-2.0 */
/* Human-readable status in debugfs; the ABI is the device, not this. */
#ifndef CLONESCOPE_DEBUGFS_H
#define CLONESCOPE_DEBUGFS_H

struct clonescope_stats;

void cs_debugfs_init(void);
void cs_debugfs_exit(void);

/* main.c: the same numbers as CLONESCOPE_IOC_GET_STATS. */
void cs_collect_stats(struct clonescope_stats *st);

#endif
