/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Table-driven kprobes, kretprobes and kernel tracepoints.  Kprobes are
 * registered disarmed at load time and armed only while tracing; a
 * tracepoint is looked up at load time and attached only while tracing.
 * Each probe names candidate symbols, tried in order, so a kernel that
 * renamed or inlined a function falls back to the next candidate; what
 * registered (or why nothing did) is kept for the status interfaces.
 * Handler calls are timed, every one or a sample of them, so the module
 * can say what it costs.  This unit knows nothing of clone.
 */
#ifndef CLONESCOPE_PROBES_H
#define CLONESCOPE_PROBES_H

#include <linux/kprobes.h>
#include <linux/types.h>

/* A probe's candidate symbols, in the order they are tried. */
#define CS_SYMS(...)	((const char *const []){ __VA_ARGS__, NULL })

/* In a struct cs_probe: a kprobe on @syms (CS_SYMS) of @group_, running @entry_. */
#define CS_KPROBE(syms, role_, group_, entry_)				\
	.symbols = (syms), .role = role_, .group = (group_), .entry = (entry_)

/*
 * In a struct cs_probe: the kernel tracepoint @name of probe group @group_;
 * @tp_probe, of its prototype, hands the arguments to @entry_.
 */
#define CS_TRACEPOINT(name, role_, group_, tp_probe, entry_)		\
	.symbols = CS_SYMS(name), .role = role_, .group = (group_),	\
	.tracepoint_probe = (tp_probe), .entry = (entry_)

struct clonescope_probe_info;
struct clonescope_stats;

struct cs_hctx {
	struct pt_regs *regs;	/* NULL for a tracepoint */
	void *data;		/* kretprobe instance data, tracepoint args */
	const void *arg;	/* cs_probe.arg */
	u64 now;		/* ktime_get_ns() when the handler started */
	/*
	 * Whether the call is timed, and where its cost goes besides its
	 * probe's counters: the probe's sample's verdict and NULL unless
	 * cs_charge() says otherwise.
	 */
	u64 *cost_sink;
	bool timed;
};

/*
 * The one clock read a handler call cannot do without is ctx->now; its
 * end is read only for a timed call.  With sampling on (the session's
 * CLONESCOPE_OPT_SAMPLED_COST) a call is timed when the user of this unit
 * says so with cs_charge(), else when it is its probe's first call on
 * this CPU or every CLONESCOPE_COST_SAMPLE_INTERVAL-th after it; with
 * sampling off, every call is timed.
 */
extern u32 cs_cost_sample_mask;

/* Whether the @n-th event of a sampled series (from 0) is timed. */
static nokprobe_inline bool cs_cost_sampled(u64 n)
{
	return !(n & READ_ONCE(cs_cost_sample_mask));
}

/*
 * The handler works for something sampled on its own terms (a clone): the
 * call is timed if @timed, and its cost then added to *@sink unless NULL.
 */
static nokprobe_inline void cs_charge(struct cs_hctx *ctx, bool timed, u64 *sink)
{
	ctx->timed = timed;
	ctx->cost_sink = sink;
}

/*
 * An entry handler of a kretprobe returns non-zero when the return is of
 * no interest: then no return handler runs for this call.
 */
typedef int (*cs_handler_fn)(struct cs_hctx *ctx);

/* The calls of one handler; what is sampled is each handler's calls. */
struct cs_call_stats {
	u64 calls;
	u64 timed;		/* calls that were timed */
	u64 timed_ns;		/* their time */
};

struct cs_probe_stats {
	struct cs_call_stats entry;	/* a kprobe's or tracepoint's handler */
	struct cs_call_stats ret;	/* a kretprobe's return handler */
	u64 unwanted;			/* hits cs_probe.wanted turned away */
};

struct cs_probe {
	/* Set by the user of this unit. */
	const char *const *symbols;	/* NULL-terminated candidates */
	const char *role;
	/*
	 * Non-NULL: a tracepoint named by symbols[0].  Its probe has the
	 * tracepoint's prototype, the cs_probe as its data, and calls
	 * cs_tracepoint_hit() with its arguments.
	 */
	void *tracepoint_probe;
	u32 group;			/* CLONESCOPE_PROBES_*: armed with it */
	cs_handler_fn entry;
	cs_handler_fn ret;		/* non-NULL: a kretprobe */
	/* What the handlers need to know of this probe, as ctx->arg. */
	const void *arg;
	/*
	 * The CLONESCOPE_FEAT_* bits this probe is needed for: a feature is
	 * there when every probe naming it registered (or a fallback for it
	 * did).
	 */
	u64 feature;
	/*
	 * Optional, kprobes only: whether this hit is worth the entry
	 * handler, decided before the handler is timed.  False ends the
	 * hit with no clock read (and no return handler): for a probe that
	 * fires for every task but cares about a few, one lookup and out.
	 * Such hits count in the probe's hits, not in its calls or time.
	 */
	bool (*wanted)(struct pt_regs *regs);
	size_t data_size;
	int maxactive;			/* 0: the maxactive parameter */
	bool required;
	/* A fallback: registered only if this symbol's probe was not. */
	const char *fallback_for;

	/* Kept by this unit. */
	struct kretprobe krp;		/* krp.kp alone for a plain kprobe */
	struct tracepoint *tp;
	bool tp_attached;
	const char *symbol;		/* the candidate that registered */
	int state;			/* CLONESCOPE_PROBE_* */
	int error;
	struct cs_probe_stats __percpu *stats;
};

/*
 * The module's probes are the union of the tables registered here: status,
 * arming and counters cover all of them, numbered in registration order.
 */
int cs_probes_register(struct cs_probe *probes, unsigned int nr);
/* Unregisters a table cs_probes_register() took; no handler runs after. */
void cs_probes_unregister(struct cs_probe *probes);
/* What a tracepoint probe calls: runs @data's entry with @args as data. */
void cs_tracepoint_hit(void *data, void *args);
/*
 * The same for a handler that needs the tracepoint's one argument @arg:
 * a tail call for the tracepoint probe, which then needs no frame.
 */
void cs_tracepoint_hit_arg(void *data, void *arg);

/* A tracepoint handler's argument @n, as its probe passed them. */
#define CS_TP_ARG(ctx, n)	(((void **)(ctx)->data)[n])

/*
 * Arms the probes of @groups (CLONESCOPE_PROBES_*), or disarms all (0).
 * Fails when a required probe cannot be armed.
 */
int cs_probes_arm(u32 groups);
/* Only while no handler runs: zeroes the counters, sets the sampling. */
void cs_probes_reset_stats_all(bool sampled);
/* Handler calls and their time (estimated if sampled), over all probes. */
void cs_probes_totals(struct clonescope_stats *st);
unsigned int cs_probes_count(void);
int cs_probe_info_at(unsigned int index, struct clonescope_probe_info *info);
bool cs_probe_registered(const char *symbol);
/* The cs_probe.feature bits whose probes all registered, over all tables. */
u64 cs_probes_features(void);
/* The same for one table of @nr probes. */
u64 cs_probes_table_features(const struct cs_probe *probes, unsigned int nr);

#endif
