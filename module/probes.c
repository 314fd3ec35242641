// SPDX-License-Identifier: GPL-2.0
/*
 * Table-driven probe registration: see probes.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/math64.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <linux/clonescope.h>

#include "compat.h"
#include "probes.h"

#define CS_MAX_PROBE_TABLES	4

static int maxactive = 256;
module_param(maxactive, int, 0444);
MODULE_PARM_DESC(maxactive,
		 "kretprobe instances per probe: calls in flight at once, vfork parents waiting included (default 256)");

/*
 * For the benchmark's cost breakdown: the probes fire as usual but every
 * handler returns at once, so what remains is the probe machinery.
 */
static bool null_handlers __read_mostly;
module_param(null_handlers, bool, 0444);
MODULE_PARM_DESC(null_handlers,
		 "benchmarking only: armed probes run no handler body, record nothing (default off)");

static struct {
	struct cs_probe *probes;
	unsigned int nr;
} cs_tables[CS_MAX_PROBE_TABLES];
static unsigned int cs_nr_tables;

/* The probe numbered @index over all tables, or NULL past the last. */
static struct cs_probe *cs_probe_at(unsigned int index)
{
	unsigned int t;

	for (t = 0; t < cs_nr_tables && index >= cs_tables[t].nr; t++)
		index -= cs_tables[t].nr;
	return t < cs_nr_tables ? &cs_tables[t].probes[index] : NULL;
}

/* Every probe of every table, @p, numbered @i (off the hot path). */
#define for_each_cs_probe(p, i)	for ((i) = 0; ((p) = cs_probe_at(i)); (i)++)

u32 cs_cost_sample_mask __read_mostly;

/*
 * What every handler call goes through, inlined into each kind's entry
 * point below: no call of its own, and one indirect call, the handler's.
 * The clock is read first, so that little is live across that call, and
 * again only when the call is timed, which the probe's per-CPU call count
 * decides before the handler runs (and cs_charge() may overrule).  The
 * frame holds no array, only the handler context, which the handler
 * writes through its fields: no stack protector (a canary check on each
 * of ~70 calls a fork).
 */
static __always_inline int cs_run(struct cs_probe *p, struct pt_regs *regs,
				  void *data, bool ret_handler)
{
	u64 now = ktime_get_ns();
	/* Handlers run with preemption off: this CPU's throughout. */
	struct cs_probe_stats *stats = this_cpu_ptr(p->stats);
	struct cs_call_stats *cs = ret_handler ? &stats->ret : &stats->entry;
	cs_handler_fn fn = ret_handler ? p->ret : p->entry;
	bool timed = cs_cost_sampled(cs->calls++);
	struct cs_hctx ctx = {
		.regs = regs,
		.data = data,
		.arg = p->arg,
		.now = now,
		.timed = timed,
	};
	u64 cost;
	int ret;

	ret = fn(&ctx);
	if (!ctx.timed)
		return ret;
	/* From the context: now need not be kept across the handler. */
	cost = ktime_get_ns() - ctx.now;
	cs->timed++;
	cs->timed_ns += cost;
	if (ctx.cost_sink)
		*ctx.cost_sink += cost;
	return ret;
}

/*
 * A hit that p->wanted turned away, before any clock read.  Probes with a
 * wanted have entry points of their own: the others do not even test it.
 */
static __always_inline bool cs_unwanted(struct cs_probe *p, struct pt_regs *regs,
					bool has_wanted)
{
	if (!has_wanted || p->wanted(regs))
		return false;
	this_cpu_inc(p->stats->unwanted);
	return true;
}

static __always_inline int cs_kprobe_run(struct kprobe *kp, struct pt_regs *regs,
					 bool has_wanted)
{
	struct cs_probe *p = container_of(kp, struct cs_probe, krp.kp);

	if (!cs_unwanted(p, regs, has_wanted))
		cs_run(p, regs, NULL, false);
	return 0;
}

static __no_stack_protector int cs_kprobe_pre(struct kprobe *kp,
					      struct pt_regs *regs)
{
	return cs_kprobe_run(kp, regs, false);
}
NOKPROBE_SYMBOL(cs_kprobe_pre);

static __no_stack_protector int cs_kprobe_pre_wanted(struct kprobe *kp,
						     struct pt_regs *regs)
{
	return cs_kprobe_run(kp, regs, true);
}
NOKPROBE_SYMBOL(cs_kprobe_pre_wanted);

static __always_inline int cs_kretprobe_entry_run(struct kretprobe_instance *ri,
						  struct pt_regs *regs,
						  bool has_wanted)
{
	struct cs_probe *p = container_of(cs_get_kretprobe(ri), struct cs_probe, krp);

	if (cs_unwanted(p, regs, has_wanted))
		return 1;	/* no return handler either */
	return cs_run(p, regs, ri->data, false);
}

static __no_stack_protector int cs_kretprobe_entry(struct kretprobe_instance *ri,
						   struct pt_regs *regs)
{
	return cs_kretprobe_entry_run(ri, regs, false);
}
NOKPROBE_SYMBOL(cs_kretprobe_entry);

static __no_stack_protector int
cs_kretprobe_entry_wanted(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return cs_kretprobe_entry_run(ri, regs, true);
}
NOKPROBE_SYMBOL(cs_kretprobe_entry_wanted);

static __no_stack_protector int cs_kretprobe_ret(struct kretprobe_instance *ri,
						 struct pt_regs *regs)
{
	struct kretprobe *rp = cs_get_kretprobe(ri);
	struct cs_probe *p;

	if (unlikely(!rp))
		return 0;
	p = container_of(rp, struct cs_probe, krp);
	cs_run(p, regs, ri->data, true);
	return 0;
}
NOKPROBE_SYMBOL(cs_kretprobe_ret);

/* null_handlers: a call is counted, and that is all. */
static __always_inline void cs_null_run(struct cs_probe *p, bool ret_handler)
{
	struct cs_probe_stats *stats = this_cpu_ptr(p->stats);

	(ret_handler ? &stats->ret : &stats->entry)->calls++;
}

static int cs_null_kprobe_pre(struct kprobe *kp, struct pt_regs *regs)
{
	cs_null_run(container_of(kp, struct cs_probe, krp.kp), false);
	return 0;
}
NOKPROBE_SYMBOL(cs_null_kprobe_pre);

static int cs_null_kretprobe_entry(struct kretprobe_instance *ri,
				   struct pt_regs *regs)
{
	cs_null_run(container_of(cs_get_kretprobe(ri), struct cs_probe, krp), false);
	return 0;
}
NOKPROBE_SYMBOL(cs_null_kretprobe_entry);

static int cs_null_kretprobe_ret(struct kretprobe_instance *ri,
				 struct pt_regs *regs)
{
	struct kretprobe *rp = cs_get_kretprobe(ri);

	if (likely(rp))
		cs_null_run(container_of(rp, struct cs_probe, krp), true);
	return 0;
}
NOKPROBE_SYMBOL(cs_null_kretprobe_ret);

static __always_inline void cs_tracepoint_run(struct cs_probe *p, void *args)
{
	if (unlikely(null_handlers))
		cs_null_run(p, false);
	else
		cs_run(p, NULL, args, false);
}

__no_stack_protector void cs_tracepoint_hit(void *data, void *args)
{
	cs_tracepoint_run(data, args);
}
NOKPROBE_SYMBOL(cs_tracepoint_hit);

__no_stack_protector void cs_tracepoint_hit_arg(void *data, void *arg)
{
	cs_tracepoint_run(data, &arg);
}
NOKPROBE_SYMBOL(cs_tracepoint_hit_arg);

static void cs_match_tracepoint(struct tracepoint *tp, void *priv)
{
	struct cs_probe *p = priv;

	if (!p->tp && !strcmp(tp->name, p->symbols[0]))
		p->tp = tp;
}

static int cs_probe_try(struct cs_probe *p, const char *symbol)
{
	if (p->tracepoint_probe) {
		p->tp = NULL;
		for_each_kernel_tracepoint(cs_match_tracepoint, p);
		return p->tp ? 0 : -ENOENT;
	}
	memset(&p->krp, 0, sizeof(p->krp));
	p->krp.kp.symbol_name = symbol;
	/* Registered disarmed: a probe costs nothing until tracing starts. */
	p->krp.kp.flags = KPROBE_FLAG_DISABLED;
	/* The entry points that do only what this probe needs. */
	if (!p->ret) {
		p->krp.kp.pre_handler = null_handlers ? cs_null_kprobe_pre :
					p->wanted ? cs_kprobe_pre_wanted :
					cs_kprobe_pre;
		return register_kprobe(&p->krp.kp);
	}
	if (p->entry)
		p->krp.entry_handler = null_handlers ? cs_null_kretprobe_entry :
				       p->wanted ? cs_kretprobe_entry_wanted :
				       cs_kretprobe_entry;
	p->krp.handler = null_handlers ? cs_null_kretprobe_ret : cs_kretprobe_ret;
	p->krp.data_size = p->data_size;
	p->krp.maxactive = p->maxactive ?: maxactive;
	return register_kretprobe(&p->krp);
}

static int cs_tracepoint_attach(struct cs_probe *p, bool on)
{
	int err;

	if (on == p->tp_attached)
		return 0;
	err = on ? tracepoint_probe_register(p->tp, p->tracepoint_probe, p) :
		   tracepoint_probe_unregister(p->tp, p->tracepoint_probe, p);
	if (!err)
		p->tp_attached = on;
	return err;
}

static void cs_probe_unregister(struct cs_probe *p)
{
	if (p->state != CLONESCOPE_PROBE_REGISTERED)
		return;
	if (p->tracepoint_probe)
		cs_tracepoint_attach(p, false);
	else if (p->ret)
		unregister_kretprobe(&p->krp);
	else
		unregister_kprobe(&p->krp.kp);
	p->state = 0;
}

static int cs_probe_register(struct cs_probe *p)
{
	const char *const *sym;
	int err = -ENOENT;

	p->stats = alloc_percpu(struct cs_probe_stats);
	if (!p->stats)
		return -ENOMEM;
	if (p->fallback_for && cs_probe_registered(p->fallback_for)) {
		p->symbol = p->symbols[0];
		p->state = CLONESCOPE_PROBE_STANDBY;
		return 0;
	}
	for (sym = p->symbols; *sym; sym++) {
		err = cs_probe_try(p, *sym);
		if (!err) {
			p->symbol = *sym;
			p->state = CLONESCOPE_PROBE_REGISTERED;
			p->error = 0;
			return 0;
		}
	}
	p->symbol = p->symbols[0];
	p->state = err == -ENOENT ? CLONESCOPE_PROBE_UNAVAILABLE :
				    CLONESCOPE_PROBE_FAILED;
	p->error = err;
	if (p->required) {
		pr_err("cannot probe %s (%s): %d\n", p->symbol, p->role, err);
		return err;
	}
	pr_info("optional probe %s (%s) not available: %d\n",
		p->symbol, p->role, err);
	return 0;
}

/*
 * Symbols can name one function (__ia32_sys_vfork is __x64_sys_vfork on
 * x86_64): a second probe there would run the handlers twice per call.
 */
static void cs_probe_drop_alias(struct cs_probe *probes, unsigned int i)
{
	struct cs_probe *p = &probes[i];
	unsigned int j;

	if (p->state != CLONESCOPE_PROBE_REGISTERED || p->tracepoint_probe)
		return;
	for (j = 0; j < i; j++) {
		if (probes[j].state == CLONESCOPE_PROBE_REGISTERED &&
		    !probes[j].tracepoint_probe &&
		    probes[j].krp.kp.addr == p->krp.kp.addr) {
			cs_probe_unregister(p);
			p->state = CLONESCOPE_PROBE_ALIAS;
			return;
		}
	}
}

/*
 * Unregisters the kprobes of @probes in one unregister_kprobes() call and
 * the kretprobes in one unregister_kretprobes(): each call waits for one
 * RCU grace period however many probes it takes, where a call per probe
 * waits for one per probe (kernel/kprobes.c).  Without the memory for the
 * lists, one by one.
 */
static void cs_table_unregister_kprobes(struct cs_probe *probes, unsigned int nr)
{
	struct kretprobe **rps;
	struct kprobe **kps;
	unsigned int i, nr_k = 0, nr_r = 0;

	kps = kmalloc_array(nr, sizeof(*kps), GFP_KERNEL);
	rps = kmalloc_array(nr, sizeof(*rps), GFP_KERNEL);
	for (i = 0; kps && rps && i < nr; i++) {
		struct cs_probe *p = &probes[i];

		if (p->state != CLONESCOPE_PROBE_REGISTERED || p->tracepoint_probe)
			continue;
		if (p->ret)
			rps[nr_r++] = &p->krp;
		else
			kps[nr_k++] = &p->krp.kp;
		p->state = 0;
	}
	if (nr_k)
		unregister_kprobes(kps, nr_k);
	if (nr_r)
		unregister_kretprobes(rps, nr_r);
	kfree(rps);
	kfree(kps);
}

static void cs_table_unregister(struct cs_probe *probes, unsigned int nr)
{
	unsigned int i;

	cs_table_unregister_kprobes(probes, nr);
	for (i = 0; i < nr; i++) {
		/* The tracepoints, and the kprobes left when memory was short. */
		cs_probe_unregister(&probes[i]);
		free_percpu(probes[i].stats);
		probes[i].stats = NULL;
	}
}

int cs_probes_register(struct cs_probe *probes, unsigned int nr)
{
	unsigned int t = cs_nr_tables, i;
	int err;

	if (WARN_ON(t == CS_MAX_PROBE_TABLES))
		return -ENOSPC;
	/* Listed from the start, so a fallback sees what registered before. */
	cs_tables[t].probes = probes;
	cs_tables[t].nr = 0;
	cs_nr_tables++;
	for (i = 0; i < nr; i++) {
		err = cs_probe_register(&probes[i]);
		if (err)
			goto err_unregister;
		cs_tables[t].nr = i + 1;
		cs_probe_drop_alias(probes, i);
	}
	return 0;

err_unregister:
	free_percpu(probes[i].stats);
	probes[i].stats = NULL;
	cs_table_unregister(probes, i);
	cs_nr_tables--;
	return err;
}

void cs_probes_unregister(struct cs_probe *probes)
{
	unsigned int t;

	for (t = 0; t < cs_nr_tables && cs_tables[t].probes != probes; t++)
		;
	if (WARN_ON(t == cs_nr_tables))
		return;
	cs_table_unregister(probes, cs_tables[t].nr);
	cs_nr_tables--;
	memmove(&cs_tables[t], &cs_tables[t + 1],
		(cs_nr_tables - t) * sizeof(cs_tables[0]));
	/* No tracepoint probe of ours still runs: its code may go away. */
	tracepoint_synchronize_unregister();
}

static int cs_probe_arm(struct cs_probe *p, u32 groups)
{
	bool on = p->group & groups;
	int err;

	if (p->state != CLONESCOPE_PROBE_REGISTERED)
		return 0;
	if (p->tracepoint_probe)
		err = cs_tracepoint_attach(p, on);
	else if (on != !kprobe_disabled(&p->krp.kp))
		err = on ? enable_kprobe(&p->krp.kp) : disable_kprobe(&p->krp.kp);
	else
		err = 0;
	if (err)
		pr_warn_ratelimited("cannot %s probe %s: %d\n",
				    on ? "arm" : "disarm", p->symbol, err);
	return p->required && on ? err : 0;
}

/*
 * Tables list outer functions before inner ones (kernel_clone before
 * copy_process): arming inner ones first means a clone caught mid-way by
 * arming lacks its outer span, not its inner detail; disarming goes the
 * other way.
 */
int cs_probes_arm(u32 groups)
{
	unsigned int t, i;
	int err = 0;

	if (!groups) {
		for (t = 0; t < cs_nr_tables; t++)
			for (i = 0; i < cs_tables[t].nr; i++)
				cs_probe_arm(&cs_tables[t].probes[i], 0);
		return 0;
	}
	for (t = cs_nr_tables; t-- > 0; )
		for (i = cs_tables[t].nr; i-- > 0; )
			err = cs_probe_arm(&cs_tables[t].probes[i], groups) ?: err;
	return err;
}

void cs_probes_reset_stats_all(bool sampled)
{
	struct cs_probe *p;
	unsigned int i;
	int cpu;

	WRITE_ONCE(cs_cost_sample_mask,
		   sampled ? CLONESCOPE_COST_SAMPLE_INTERVAL - 1 : 0);
	for_each_cs_probe(p, i)
		for_each_possible_cpu(cpu)
			memset(per_cpu_ptr(p->stats, cpu), 0,
			       sizeof(struct cs_probe_stats));
}

static void cs_calls_add(struct cs_call_stats *sum, const struct cs_call_stats *c)
{
	sum->calls += READ_ONCE(c->calls);
	sum->timed += READ_ONCE(c->timed);
	sum->timed_ns += READ_ONCE(c->timed_ns);
}

static void cs_probe_sum(struct cs_probe *p, struct cs_probe_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct cs_probe_stats *s = per_cpu_ptr(p->stats, cpu);

		cs_calls_add(&sum->entry, &s->entry);
		cs_calls_add(&sum->ret, &s->ret);
		sum->unwanted += READ_ONCE(s->unwanted);
	}
}

/* The time of all of @c's calls: its timed calls' time, scaled. */
static u64 cs_calls_ns(const struct cs_call_stats *c)
{
	if (!c->timed)
		return 0;
	if (c->timed == c->calls)
		return c->timed_ns;
	return mul_u64_u64_div_u64(c->timed_ns, c->calls, c->timed);
}

static u64 cs_probe_ns(const struct cs_probe_stats *s)
{
	return cs_calls_ns(&s->entry) + cs_calls_ns(&s->ret);
}

static u64 cs_probe_hits(const struct cs_probe_stats *s)
{
	return s->entry.calls + s->ret.calls + s->unwanted;
}

void cs_probes_totals(struct clonescope_stats *st)
{
	struct cs_probe_stats sum;
	struct cs_probe *p;
	unsigned int i;

	for_each_cs_probe(p, i) {
		cs_probe_sum(p, &sum);
		st->handler_calls += cs_probe_hits(&sum);
		st->handler_ns += cs_probe_ns(&sum);
		st->timed_calls += sum.entry.timed + sum.ret.timed;
	}
	st->cost_sampled = READ_ONCE(cs_cost_sample_mask) != 0;
}

unsigned int cs_probes_count(void)
{
	unsigned int t, nr = 0;

	for (t = 0; t < cs_nr_tables; t++)
		nr += cs_tables[t].nr;
	return nr;
}

bool cs_probe_registered(const char *symbol)
{
	struct cs_probe *p;
	unsigned int i;

	for_each_cs_probe(p, i)
		if (p->state == CLONESCOPE_PROBE_REGISTERED &&
		    !strcmp(p->symbol, symbol))
			return true;
	return false;
}

int cs_probe_info_at(unsigned int index, struct clonescope_probe_info *info)
{
	struct cs_probe *p = cs_probe_at(index);
	struct cs_probe_stats sum;

	if (!p)
		return -ENOENT;
	cs_probe_sum(p, &sum);
	info->state = p->state;
	info->error = p->error;
	info->hits = cs_probe_hits(&sum);
	info->handler_ns = cs_probe_ns(&sum);
	info->timed_calls = sum.entry.timed + sum.ret.timed;
	info->timed_ns = sum.entry.timed_ns + sum.ret.timed_ns;
	if (!p->tracepoint_probe)
		info->nmissed = p->krp.kp.nmissed;
	if (p->ret)
		info->nmissed += p->krp.nmissed;
	if (p->tracepoint_probe)
		info->flags |= CLONESCOPE_PROBE_F_TRACEPOINT;
	if (p->ret)
		info->flags |= CLONESCOPE_PROBE_F_RETURN;
	if (p->state == CLONESCOPE_PROBE_REGISTERED && !p->tracepoint_probe &&
	    kprobe_ftrace(&p->krp.kp))
		info->flags |= CLONESCOPE_PROBE_F_FTRACE;
	strscpy(info->symbol, p->symbol, sizeof(info->symbol));
	strscpy(info->role, p->role, sizeof(info->role));
	return 0;
}

/* Whether @p, or a probe of @probes that falls back for it, registered. */
static bool cs_probe_covered(const struct cs_probe *probes, unsigned int nr,
			     const struct cs_probe *p)
{
	unsigned int i;

	if (p->state == CLONESCOPE_PROBE_REGISTERED)
		return true;
	for (i = 0; i < nr; i++)
		if (probes[i].fallback_for &&
		    !strcmp(probes[i].fallback_for, p->symbol) &&
		    probes[i].state == CLONESCOPE_PROBE_REGISTERED)
			return true;
	return false;
}

u64 cs_probes_table_features(const struct cs_probe *probes, unsigned int nr)
{
	u64 wanted = 0, missing = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		const struct cs_probe *p = &probes[i];

		wanted |= p->feature;
		/* A fallback stands for its primary, judged there. */
		if (p->feature && !p->fallback_for &&
		    !cs_probe_covered(probes, nr, p))
			missing |= p->feature;
	}
	return wanted & ~missing;
}

u64 cs_probes_features(void)
{
	unsigned int t;
	u64 features = 0;

	for (t = 0; t < cs_nr_tables; t++)
		features |= cs_probes_table_features(cs_tables[t].probes,
						     cs_tables[t].nr);
	return features;
}
