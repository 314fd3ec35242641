/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The tracing session: whether tracing is on, the options it runs with,
 * the record buffers and the aggregates records go to, and the tracers
 * that register with it.  It names no tracer: a tracer is a struct
 * cs_tracer, and the session calls its hooks (as lttng-modules' core
 * knows its probe providers only by what they registered).
 *
 * Layers, each calling only the ones below it:
 *	device (main.c, debugfs.c) -> session -> tracers -> ring, agg, probes
 */
#ifndef CLONESCOPE_SESSION_H
#define CLONESCOPE_SESSION_H

#include <linux/compiler.h>
#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/clonescope.h>

#include "ring.h"

struct cs_probe;
struct file;

/*
 * A tracer: probes and the tables their handlers fill.  Hooks a tracer
 * does not need are NULL.  Registered at module load, unregistered at
 * unload, so the session walks its tracers without a lock.
 */
struct cs_tracer {
	const char *name;
	/*
	 * Its probes (probes.h): registered with the tracer, after init(),
	 * and unregistered with it, before exit().
	 */
	struct cs_probe *probes;
	unsigned int nr_probes;
	/*
	 * The one allocation holding the tables the handlers fill, zeroed
	 * (CS_TRACER_TABLES): allocated before init(), freed after exit().
	 */
	void **tables;
	size_t tables_size;
	int (*init)(void);
	void (*exit)(void);
	/* Before a session starts, no handler running: @armed probe groups. */
	void (*reset)(u32 armed);
	/* After tracing stopped and handlers were waited out. */
	void (*flush)(void);
	/* Adds the tracer's counters to @st. */
	void (*stats)(struct clonescope_stats *st);
	/*
	 * CLONESCOPE_FEAT_* the tracer always provides; its probes add the
	 * features their cs_probe.feature names once registered.
	 */
	u64 features;

	struct list_head node;		/* kept by the session */
};

/* In a struct cs_tracer: its probe table @table. */
#define CS_TRACER_PROBES(table)	.probes = (table), .nr_probes = ARRAY_SIZE(table)
/* In a struct cs_tracer: @ptr, a pointer to a struct of its tables. */
#define CS_TRACER_TABLES(ptr)	.tables = (void **)&(ptr), .tables_size = sizeof(*(ptr))

/*
 * Allocates @t's tables, calls @t->init, registers @t's probes and adds @t
 * to the session; undone, in the reverse order, by cs_tracer_unregister().
 */
int cs_tracer_register(struct cs_tracer *t);
void cs_tracer_unregister(struct cs_tracer *t);

/* For the device: the session's life, state changes and the stream. */
int cs_session_init(void);
void cs_session_exit(void);
int cs_session_enable(void);
void cs_session_disable(void);
/* The session's owner went away: stop, and forget its options. */
void cs_session_end(void);
int cs_session_set_buffer(u32 pages_per_cpu);
/* @reader_wakeup_ms: with CLONESCOPE_OPT_WAKEUP_MS in @flags, else 0. */
int cs_session_set_options(u32 probes, u32 flags, u32 reader_wakeup_ms);
int cs_session_set_filter(const struct clonescope_filter *f);
ssize_t cs_session_read(char __user *buf, size_t count, bool nonblock);
__poll_t cs_session_poll(struct file *file, poll_table *wait);
u64 cs_session_features(void);
/* The numbers of CLONESCOPE_IOC_GET_STATS. */
void cs_session_stats(struct clonescope_stats *st);

/* For tracers' handlers. */
extern bool cs_tracing_on;
/* CLONESCOPE_OPT_* of the session: set only while tracing is off. */
extern u32 cs_session_flags;

/*
 * Handlers check this first: a disarmed kretprobe can still return.  The
 * acquire pairs with cs_session_enable()'s release: a handler that sees
 * tracing on sees the tables its tracer reset.
 */
static inline bool cs_tracing(void)
{
	/* See above: pairs with the release in cs_session_enable(). */
	return smp_load_acquire(&cs_tracing_on);
}

static inline bool cs_aggregating(void)
{
	return READ_ONCE(cs_session_flags) & CLONESCOPE_OPT_AGGREGATE;
}

/* Whether handlers write records (else they only aggregate). */
static inline bool cs_recording(void)
{
	return !(READ_ONCE(cs_session_flags) & CLONESCOPE_OPT_NO_RECORDS);
}

DECLARE_PER_CPU(u64, cs_inflight_overflow);

/*
 * A tracer's table of clones, children or forks in flight is full: what
 * clonescope_stats.inflight_overflow counts, zeroed with each session.
 */
static __always_inline void cs_count_overflow(void)
{
	this_cpu_inc(cs_inflight_overflow);
}

/* Zeroes the record *@ev and sets its header's @type_ and size. */
#define cs_record_init(ev, type_) do {					\
	memset((ev), 0, sizeof(*(ev)));					\
	(ev)->hdr.type = (type_);					\
	(ev)->hdr.size = sizeof(*(ev));					\
} while (0)

/* Writes a record to the buffer of this CPU; never blocks. */
int cs_emit(void *rec);

/*
 * The same, written in place (cs_ring_reserve()): where a record of @type
 * and @size goes, or NULL when it is dropped; cs_emit_commit() publishes
 * it.  For a record that would otherwise be built only to be copied.
 */
void *cs_emit_reserve(unsigned int type, unsigned int size,
		      struct cs_ring_res *res);
void cs_emit_commit(struct cs_ring_res *res);

#endif
