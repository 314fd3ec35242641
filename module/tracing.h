/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tracers share, owned by main.c: whether tracing is on, and
 * where records go.
 */
#ifndef CLONESCOPE_TRACING_H
#define CLONESCOPE_TRACING_H

#include <linux/compiler.h>
#include <linux/types.h>
#include <linux/clonescope.h>

extern bool cs_tracing_on;
/* CLONESCOPE_OPT_* of the session: set only while tracing is off. */
extern u32 cs_session_flags;

/*
 * Handlers check this first: a disarmed kretprobe can still return.  The
 * acquire pairs with ENABLE's release: a handler that sees tracing on sees
 * the tables it reset.
 */
static inline bool cs_tracing(void)
{
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

/* Writes a record to the buffer of this CPU; never blocks. */
int cs_emit(void *rec);

#endif
