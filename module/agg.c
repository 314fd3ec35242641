// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel aggregation: see agg.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/kprobes.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/stringhash.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/clonescope.h>

#include "agg.h"

/* Command names per CPU; a clone whose comm finds no entry is counted. */
#define CS_AGG_COMM_BITS	6
#define CS_AGG_NR_COMMS		(1U << CS_AGG_COMM_BITS)
#define CS_AGG_COMM_PROBES	8

/* The counters of clonescope_aggregate, from clones to its end. */
#define CS_AGG_FIRST_COUNTER	offsetof(struct clonescope_aggregate, clones)

struct cs_agg_cpu {
	struct clonescope_aggregate totals;
	struct clonescope_agg_comm comms[CS_AGG_NR_COMMS];
	/*
	 * The entry the last lookup found, and the bytes of the comm it was
	 * looked up by: clones come in runs from one command, and two words
	 * compared are far cheaper than the copy, hash and probe of a lookup.
	 */
	struct clonescope_agg_comm *last;
	u64 last_key[2];
};

static struct cs_agg_cpu *cs_aggs;

static_assert(sizeof(struct clonescope_aggregate) ==
	      CLONESCOPE_AGGREGATE_SIZE_VER0);
static_assert(CS_AGG_FIRST_COUNTER % 8 == 0);
static_assert(offsetof(struct clonescope_agg_comm, failed) == 16);
static_assert(sizeof_field(struct cs_agg_cpu, last_key) == TASK_COMM_LEN);

static void cs_hist_add(struct clonescope_log2_hist *h, u64 v)
{
	unsigned int b = v > 1 ? ilog2(v) : 0;

	h->count++;
	h->sum += v;
	h->buckets[min_t(unsigned int, b, CLONESCOPE_AGG_BUCKETS - 1)]++;
}
NOKPROBE_SYMBOL(cs_hist_add);

static unsigned int cs_agg_kind(const struct clonescope_clone_event *ev)
{
	if (ev->clone_flags & CLONE_THREAD)
		return CLONESCOPE_AGG_KIND_THREAD;
	if (ev->clone_flags & CLONE_VFORK)
		return CLONESCOPE_AGG_KIND_VFORK;
	if (ev->syscall == CLONESCOPE_SYSCALL_CLONE3)
		return CLONESCOPE_AGG_KIND_CLONE3;
	if (ev->syscall == CLONESCOPE_SYSCALL_UNKNOWN)
		return CLONESCOPE_AGG_KIND_KERNEL;
	return CLONESCOPE_AGG_KIND_FORK;
}
NOKPROBE_SYMBOL(cs_agg_kind);

/* This CPU's entry for @comm, claimed if new; NULL when its places are taken. */
static struct clonescope_agg_comm *cs_agg_comm(struct cs_agg_cpu *a,
					       const char *comm)
{
	char name[TASK_COMM_LEN] = {};
	unsigned int h, i;
	u64 key[2];

	memcpy(key, comm, sizeof(key));
	if (a->last && key[0] == a->last_key[0] && key[1] == a->last_key[1])
		return a->last;
	strscpy(name, comm, sizeof(name));
	h = full_name_hash(NULL, name, strnlen(name, sizeof(name)));
	for (i = 0; i < CS_AGG_COMM_PROBES; i++) {
		struct clonescope_agg_comm *c;

		c = &a->comms[(h + i) & (CS_AGG_NR_COMMS - 1)];
		if (!c->comm[0])
			memcpy(c->comm, name, sizeof(c->comm));
		else if (memcmp(c->comm, name, sizeof(c->comm)))
			continue;
		a->last = c;
		memcpy(a->last_key, key, sizeof(key));
		return c;
	}
	a->totals.comms_overflow++;
	return NULL;
}
NOKPROBE_SYMBOL(cs_agg_comm);

/* This CPU's aggregates, and in *@c its entry for @comm (or NULL). */
static struct clonescope_aggregate *cs_agg_here(const char *comm,
						struct clonescope_agg_comm **c)
{
	struct cs_agg_cpu *a = &cs_aggs[raw_smp_processor_id()];

	*c = cs_agg_comm(a, comm);
	return &a->totals;
}
NOKPROBE_SYMBOL(cs_agg_here);

void cs_agg_clone(const struct clonescope_clone_event *ev)
{
	struct clonescope_agg_comm *c;
	struct clonescope_aggregate *t = cs_agg_here(ev->comm, &c);
	unsigned int kind = cs_agg_kind(ev);
	struct clonescope_agg_kind *k = &t->kinds[kind];
	u64 duration = ev->end_ns - ev->start_ns, todo;
	bool failed = ev->flags & CLONESCOPE_CLONE_FAILED;
	bool restarted = ev->flags & CLONESCOPE_CLONE_RESTART;

	t->clones++;
	cs_hist_add(&k->duration_ns, duration);
	k->failed += failed;
	k->restarted += restarted;
	if (failed)
		t->errnos[min_t(u64, -ev->result, CLONESCOPE_AGG_NR_ERRNOS - 1)]++;
	/* The phases measured, not every one: a clone has a few. */
	for (todo = ev->phase_mask & GENMASK_ULL(CLONESCOPE_NR_PHASES - 1, 0);
	     todo; todo &= todo - 1) {
		unsigned int phase = __ffs64(todo);

		cs_hist_add(&t->phase_ns[phase], ev->phases[phase].duration_ns);
	}
	if (!c)
		return;
	c->kinds[kind]++;
	c->failed += failed;
	c->restarted += restarted;
	cs_hist_add(&c->duration_ns, duration);
}
NOKPROBE_SYMBOL(cs_agg_clone);

void cs_agg_cow(const char *comm, u64 copied)
{
	struct clonescope_agg_comm *c;

	cs_hist_add(&cs_agg_here(comm, &c)->cow_copied, copied);
	if (c)
		c->cow_copied += copied;
}
NOKPROBE_SYMBOL(cs_agg_cow);

void cs_agg_wakeup(const char *comm, u64 wakeup_ns)
{
	struct clonescope_agg_comm *c;

	cs_hist_add(&cs_agg_here(comm, &c)->wakeup_ns, wakeup_ns);
	if (c)
		cs_hist_add(&c->wakeup_ns, wakeup_ns);
}
NOKPROBE_SYMBOL(cs_agg_wakeup);

/* Adds the u64 counters of @src to @dst, from byte @from to @size. */
static void cs_agg_add(void *dst, const void *src, size_t from, size_t size)
{
	u64 *d = dst + from;
	const u64 *s = src + from;
	size_t i;

	for (i = 0; i < (size - from) / sizeof(u64); i++)
		d[i] += READ_ONCE(s[i]);
}

unsigned int cs_agg_max_comms(void)
{
	return CS_AGG_NR_COMMS * nr_cpu_ids;
}

unsigned int cs_agg_read(struct clonescope_aggregate *agg,
			 struct clonescope_agg_comm *comms,
			 unsigned int nr_comms)
{
	unsigned int filled = 0, i, j;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct cs_agg_cpu *a = &cs_aggs[cpu];

		cs_agg_add(agg, &a->totals, CS_AGG_FIRST_COUNTER, sizeof(*agg));
		for (i = 0; i < CS_AGG_NR_COMMS; i++) {
			const struct clonescope_agg_comm *c = &a->comms[i];
			char name[sizeof(c->comm)];

			memcpy(name, c->comm, sizeof(name));
			if (!name[0])
				continue;
			for (j = 0; j < filled; j++)
				if (!memcmp(comms[j].comm, name, sizeof(name)))
					break;
			if (j == filled) {
				if (filled == nr_comms) {
					agg->comms_overflow +=
						c->duration_ns.count;
					continue;
				}
				memset(&comms[j], 0, sizeof(comms[j]));
				memcpy(comms[j].comm, name, sizeof(name));
				filled++;
			}
			cs_agg_add(&comms[j], c,
				   offsetof(struct clonescope_agg_comm, failed),
				   sizeof(*c));
		}
	}
	return filled;
}

void cs_agg_reset(void)
{
	memset(cs_aggs, 0, array_size(nr_cpu_ids, sizeof(*cs_aggs)));
}

int cs_agg_init(void)
{
	cs_aggs = vzalloc(array_size(nr_cpu_ids, sizeof(*cs_aggs)));
	return cs_aggs ? 0 : -ENOMEM;
}

void cs_agg_exit(void)
{
	vfree(cs_aggs);
	cs_aggs = NULL;
}
