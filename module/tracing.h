/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the tracers share, owned by main.c: whether tracing is on, and
 * where records go.
 */
#ifndef CLONESCOPE_TRACING_H
#define CLONESCOPE_TRACING_H

#include <linux/compiler.h>
#include <linux/types.h>

extern bool cs_tracing_on;
extern u32 cs_armed_probes;

/* Handlers check this first: a disarmed kretprobe can still return. */
static inline bool cs_tracing(void)
{
	return READ_ONCE(cs_tracing_on);
}

/* Whether tracing is on with the probes of @group (CLONESCOPE_PROBES_*). */
static inline bool cs_tracing_probes(u32 group)
{
	return cs_tracing() && (READ_ONCE(cs_armed_probes) & group);
}

/* Writes a record to the buffer of this CPU; never blocks. */
int cs_emit(void *rec);

#endif
