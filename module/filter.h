/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which tasks are traced.  The filter is only changed while tracing is
 * off, so handlers read it without locking.
 */
#ifndef CLONESCOPE_FILTER_H
#define CLONESCOPE_FILTER_H

#include <linux/sched.h>

struct clonescope_filter;

int cs_filter_set(const struct clonescope_filter *f);
/* For a handler: with preemption off, as the tree walk's RCU needs. */
bool cs_filter_match(struct task_struct *t);

#endif
