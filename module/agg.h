/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-kernel aggregation: per-CPU counters and log2 histograms of clones
 * (per kind, per command name, per phase, failures by errno), wake-up
 * latencies and COW copies, read with CLONESCOPE_IOC_GET_AGGREGATE.  What
 * a bpftrace map does, without a record per clone.  Writers are probe
 * handlers on their own CPU (process context, preemption off), so counts
 * need no atomics; a reader sums the CPUs, as for a per-CPU BPF map.
 */
#ifndef CLONESCOPE_AGG_H
#define CLONESCOPE_AGG_H

#include <linux/types.h>

struct clonescope_aggregate;
struct clonescope_agg_comm;
struct clonescope_clone_event;

int cs_agg_init(void);
void cs_agg_exit(void);
/* Only while no handler runs: zeroes everything. */
void cs_agg_reset(void);

/* A finished clone. */
void cs_agg_clone(const struct clonescope_clone_event *ev);
/* A child of a traced clone ran, @wakeup_ns after its wake-up began. */
void cs_agg_wakeup(const char *comm, u64 wakeup_ns);
/* A fork's COW bill is complete: @copied 4K pages. */
void cs_agg_cow(const char *comm, u64 copied);

/*
 * Sums the CPUs into @agg and up to @nr_comms entries at @comms (what
 * does not fit counts in comms_overflow); returns the entries filled.
 */
unsigned int cs_agg_read(struct clonescope_aggregate *agg,
			 struct clonescope_agg_comm *comms,
			 unsigned int nr_comms);
/* Most entries cs_agg_read() can fill. */
unsigned int cs_agg_max_comms(void);

#endif
