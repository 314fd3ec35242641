// SPDX-License-Identifier: GPL-2.0
/*
 * The tracing session: see session.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/clonescope.h>

#include "agg.h"
#include "filter.h"
#include "probes.h"
#include "ring.h"
#include "session.h"

#define CS_MAX_PAGES_PER_CPU	1024

/* What the session provides whatever tracers registered. */
#define CS_SESSION_FEATURES	(CLONESCOPE_FEAT_LOST_RECORDS |		\
				 CLONESCOPE_FEAT_OPTIONS |		\
				 CLONESCOPE_FEAT_TIMED_WAKEUP |		\
				 CLONESCOPE_FEAT_AGGREGATE |		\
				 CLONESCOPE_FEAT_PROBE_FLAGS |		\
				 CLONESCOPE_FEAT_SAMPLED_COST |		\
				 CLONESCOPE_FEAT_WAKEUP_LATENCY)

static unsigned int buffer_pages = 64;
module_param(buffer_pages, uint, 0444);
MODULE_PARM_DESC(buffer_pages,
		 "record buffer per CPU, in pages, rounded up to a power of two (default 64)");

static unsigned int wakeup_ms = 100;
module_param(wakeup_ms, uint, 0444);
MODULE_PARM_DESC(wakeup_ms,
		 "longest a record waits before a blocked reader is woken, in ms, unless the reader chooses (CLONESCOPE_OPT_WAKEUP_MS); sooner when a buffer is half full; 0: at the first record (default 100)");

/* The probe groups a session arms until its owner sets its own. */
static u32 default_probes = CLONESCOPE_PROBES_ALL;
module_param_named(probes, default_probes, uint, 0444);
MODULE_PARM_DESC(probes,
		 "probe groups a session arms unless its owner chooses (CLONESCOPE_IOC_SET_OPTIONS): CLONESCOPE_PROBES_* bits (default 0x1f, all)");

/* Serializes tracing on/off, the options, the filter and buffer changes. */
static DEFINE_MUTEX(cs_session_lock);
/* One read() at a time walks the buffers. */
static DEFINE_MUTEX(cs_read_lock);
static DECLARE_WAIT_QUEUE_HEAD(cs_readers);
static struct cs_ring __rcu *cs_ring;
static LIST_HEAD(cs_tracers);
bool cs_tracing_on;
u32 cs_session_flags;
/* The reader's wake-up latency: its CLONESCOPE_OPT_WAKEUP_MS, else wakeup_ms. */
static unsigned int cs_session_wakeup_ms;
/* The probe groups ENABLE arms: the owner's choice, else default_probes. */
static u32 cs_armed_probes;
DEFINE_PER_CPU(u64, cs_inflight_overflow);

int cs_emit(void *rec)
{
	int ret;

	preempt_disable_notrace();
	ret = cs_ring_write(rcu_dereference_sched(cs_ring), rec);
	preempt_enable_notrace();
	return ret;
}
NOKPROBE_SYMBOL(cs_emit);

void *cs_emit_reserve(unsigned int type, unsigned int size,
		      struct cs_ring_res *res)
{
	void *rec;

	/* Enabled again by the commit: the ring outlives the record. */
	preempt_disable_notrace();
	rec = cs_ring_reserve(rcu_dereference_sched(cs_ring), type, size, res);
	if (!rec)
		preempt_enable_notrace();
	return rec;
}
NOKPROBE_SYMBOL(cs_emit_reserve);

void cs_emit_commit(struct cs_ring_res *res)
{
	cs_ring_commit(res);
	preempt_enable_notrace();
}
NOKPROBE_SYMBOL(cs_emit_commit);

static struct cs_ring *cs_ring_locked(void)
{
	return rcu_dereference_protected(cs_ring,
					 lockdep_is_held(&cs_session_lock) ||
					 lockdep_is_held(&cs_read_lock));
}

static void cs_tracer_free_tables(struct cs_tracer *t)
{
	if (t->tables) {
		vfree(*t->tables);
		*t->tables = NULL;
	}
}

int cs_tracer_register(struct cs_tracer *t)
{
	int err;

	if (t->tables) {
		*t->tables = vzalloc(t->tables_size);
		if (!*t->tables)
			return -ENOMEM;
	}
	err = t->init ? t->init() : 0;
	if (err)
		goto err_free_tables;
	err = cs_probes_register(t->probes, t->nr_probes);
	if (err)
		goto err_exit;
	mutex_lock(&cs_session_lock);
	list_add_tail(&t->node, &cs_tracers);
	mutex_unlock(&cs_session_lock);
	return 0;

err_exit:
	if (t->exit)
		t->exit();
err_free_tables:
	cs_tracer_free_tables(t);
	return err;
}

/* Tracing is off: an open fd pins the module, and its release stopped it. */
void cs_tracer_unregister(struct cs_tracer *t)
{
	mutex_lock(&cs_session_lock);
	list_del(&t->node);
	mutex_unlock(&cs_session_lock);
	/* Then no handler of @t runs, and its tables can go. */
	cs_probes_unregister(t->probes);
	if (t->exit)
		t->exit();
	cs_tracer_free_tables(t);
}

/*
 * Whether records wait to be read.  Asks writers for a wakeup first, so a
 * record written after this look wakes the caller.
 */
static bool cs_have_records(void)
{
	struct cs_ring *ring;
	bool empty;

	rcu_read_lock();
	ring = rcu_dereference(cs_ring);
	cs_ring_want_wakeup(ring);
	empty = cs_ring_empty(ring);
	rcu_read_unlock();
	return !empty;
}

/* Whether a blocked reader has something to do: records, or EOF. */
static bool cs_readable(void)
{
	return !cs_tracing() || cs_have_records();
}

ssize_t cs_session_read(char __user *buf, size_t count, bool nonblock)
{
	ssize_t ret;

	for (;;) {
		mutex_lock(&cs_read_lock);
		ret = cs_ring_read(cs_ring_locked(), buf, count);
		mutex_unlock(&cs_read_lock);
		if (ret)
			return ret;
		if (!cs_tracing())
			return 0;
		if (nonblock)
			return -EAGAIN;
		if (wait_event_interruptible(cs_readers, cs_readable()))
			return -ERESTARTSYS;
	}
}

__poll_t cs_session_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &cs_readers, wait);
	if (cs_have_records())
		return EPOLLIN | EPOLLRDNORM;
	return cs_tracing() ? 0 : EPOLLHUP;
}

static void cs_stop_locked(void)
{
	struct cs_tracer *t;

	lockdep_assert_held(&cs_session_lock);
	if (!cs_tracing())
		return;
	WRITE_ONCE(cs_tracing_on, false);
	cs_probes_arm(0);
	/* Handlers run with preemption off: wait for any still running. */
	synchronize_rcu();
	list_for_each_entry(t, &cs_tracers, node)
		if (t->flush)
			t->flush();
	/* Blocked readers now get what is left, then EOF. */
	wake_up_interruptible(&cs_readers);
}

void cs_session_disable(void)
{
	mutex_lock(&cs_session_lock);
	cs_stop_locked();
	mutex_unlock(&cs_session_lock);
}

/*
 * Options last as long as their owner: every owner starts with what the
 * module's parameters say, records and all, whatever the last one chose.
 */
static void cs_options_reset(void)
{
	WRITE_ONCE(cs_armed_probes, default_probes);
	WRITE_ONCE(cs_session_flags, 0);
	cs_session_wakeup_ms = wakeup_ms;
}

void cs_session_end(void)
{
	mutex_lock(&cs_session_lock);
	cs_stop_locked();
	cs_options_reset();
	mutex_unlock(&cs_session_lock);
}

int cs_session_enable(void)
{
	struct cs_tracer *t;
	int cpu, err = 0;

	mutex_lock(&cs_session_lock);
	if (cs_tracing())
		goto out;
	mutex_lock(&cs_read_lock);
	cs_ring_reset(cs_ring_locked());
	cs_ring_set_wakeup_ms(cs_ring_locked(), cs_session_wakeup_ms);
	mutex_unlock(&cs_read_lock);
	list_for_each_entry(t, &cs_tracers, node)
		if (t->reset)
			t->reset(cs_armed_probes);
	for_each_possible_cpu(cpu)
		per_cpu(cs_inflight_overflow, cpu) = 0;
	cs_agg_reset();
	cs_probes_reset_stats_all(cs_session_flags & CLONESCOPE_OPT_SAMPLED_COST);
	/* Handlers that see tracing on see the tables reset. */
	smp_store_release(&cs_tracing_on, true);
	err = cs_probes_arm(cs_armed_probes);
	if (err)
		cs_stop_locked();
out:
	mutex_unlock(&cs_session_lock);
	return err;
}

int cs_session_set_filter(const struct clonescope_filter *f)
{
	int err = -EBUSY;

	mutex_lock(&cs_session_lock);
	if (!cs_tracing())
		err = cs_filter_set(f);
	mutex_unlock(&cs_session_lock);
	return err;
}

static bool cs_probes_valid(u32 probes)
{
	return !(probes & ~CLONESCOPE_PROBES_ALL) &&
	       (probes & CLONESCOPE_PROBES_CLONE);
}

int cs_session_set_options(u32 probes, u32 flags, u32 reader_wakeup_ms)
{
	int err = 0;

	if (!cs_probes_valid(probes) || (flags & ~CLONESCOPE_OPT_ALL))
		return -EINVAL;
	/* Without its flag the field is reserved, as before 1.6. */
	if (flags & CLONESCOPE_OPT_WAKEUP_MS ?
	    reader_wakeup_ms > CLONESCOPE_MAX_WAKEUP_MS : reader_wakeup_ms)
		return -EINVAL;
	/* Neither records nor aggregates: nothing to read. */
	if ((flags & CLONESCOPE_OPT_NO_RECORDS) &&
	    !(flags & CLONESCOPE_OPT_AGGREGATE))
		return -EINVAL;
	mutex_lock(&cs_session_lock);
	if (cs_tracing()) {
		err = -EBUSY;
	} else {
		WRITE_ONCE(cs_armed_probes, probes);
		WRITE_ONCE(cs_session_flags, flags);
		cs_session_wakeup_ms = flags & CLONESCOPE_OPT_WAKEUP_MS ?
				       reader_wakeup_ms : wakeup_ms;
	}
	mutex_unlock(&cs_session_lock);
	return err;
}

int cs_session_set_buffer(u32 pages_per_cpu)
{
	struct cs_ring *old, *new;
	int err = 0;

	if (!pages_per_cpu || pages_per_cpu > CS_MAX_PAGES_PER_CPU)
		return -EINVAL;
	mutex_lock(&cs_session_lock);
	if (cs_tracing()) {
		err = -EBUSY;
		goto out;
	}
	new = cs_ring_alloc(pages_per_cpu, &cs_readers, wakeup_ms);
	if (!new) {
		err = -ENOMEM;
		goto out;
	}
	mutex_lock(&cs_read_lock);
	old = cs_ring_locked();
	rcu_assign_pointer(cs_ring, new);
	mutex_unlock(&cs_read_lock);
	/* No one still looks at the old buffers: poll() and writers use RCU. */
	synchronize_rcu();
	cs_ring_free(old);
out:
	mutex_unlock(&cs_session_lock);
	return err;
}

u64 cs_session_features(void)
{
	struct cs_tracer *t;
	u64 features = CS_SESSION_FEATURES | cs_probes_features();

	list_for_each_entry(t, &cs_tracers, node)
		features |= t->features;
	return features;
}

void cs_session_stats(struct clonescope_stats *st)
{
	struct cs_ring_counters counters;
	struct cs_tracer *t;
	struct cs_ring *ring;
	int cpu;

	memset(st, 0, sizeof(*st));
	st->enabled = cs_tracing();
	for_each_possible_cpu(cpu)
		st->inflight_overflow += READ_ONCE(per_cpu(cs_inflight_overflow, cpu));
	list_for_each_entry(t, &cs_tracers, node)
		if (t->stats)
			t->stats(st);
	cs_probes_totals(st);
	st->nr_probes = cs_probes_count();
	st->probes = READ_ONCE(cs_armed_probes);
	rcu_read_lock();
	ring = rcu_dereference(cs_ring);
	cs_ring_counters(ring, &counters);
	st->pages_per_cpu = cs_ring_pages_per_cpu(ring);
	rcu_read_unlock();
	st->nr_cpus = num_possible_cpus();
	st->produced = counters.produced;
	st->delivered = counters.delivered;
	st->dropped = counters.dropped;
}

int cs_session_init(void)
{
	struct cs_ring *ring;
	int err;

	if (!buffer_pages || buffer_pages > CS_MAX_PAGES_PER_CPU) {
		pr_err("buffer_pages must be 1..%u\n", CS_MAX_PAGES_PER_CPU);
		return -EINVAL;
	}
	if (wakeup_ms > CLONESCOPE_MAX_WAKEUP_MS) {
		pr_err("wakeup_ms must be 0..%u\n", CLONESCOPE_MAX_WAKEUP_MS);
		return -EINVAL;
	}
	if (!cs_probes_valid(default_probes)) {
		pr_err("probes must include CLONESCOPE_PROBES_CLONE (1) and be within 0x%x\n",
		       CLONESCOPE_PROBES_ALL);
		return -EINVAL;
	}
	ring = cs_ring_alloc(buffer_pages, &cs_readers, wakeup_ms);
	if (!ring)
		return -ENOMEM;
	RCU_INIT_POINTER(cs_ring, ring);
	cs_options_reset();
	err = cs_agg_init();
	if (err)
		goto err_free_ring;
	return 0;

err_free_ring:
	RCU_INIT_POINTER(cs_ring, NULL);
	cs_ring_free(ring);
	return err;
}

/* After every tracer unregistered: no handler can run. */
void cs_session_exit(void)
{
	cs_agg_exit();
	cs_ring_free(rcu_dereference_protected(cs_ring, true));
	RCU_INIT_POINTER(cs_ring, NULL);
}
