/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The clone path tracer: probes on the clone syscalls, kernel_clone,
 * copy_process and its landmarks, and the child's first run, assembled
 * into one CLONESCOPE_RECORD_CLONE per clone.
 */
#ifndef CLONESCOPE_CLONE_H
#define CLONESCOPE_CLONE_H

#include <linux/types.h>

struct cs_ring;
struct clonescope_stats;
struct clonescope_probe_info;
struct seq_file;

int cs_clone_init(void);
void cs_clone_exit(void);
void cs_clone_start(struct cs_ring *ring);
void cs_clone_stop(void);
bool cs_clone_tracing(void);
u64 cs_clone_features(void);
void cs_clone_stats(struct clonescope_stats *st);
int cs_clone_probe_info(unsigned int index, struct clonescope_probe_info *info);

#endif
