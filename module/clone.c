// SPDX-License-Identifier: GPL-2.0
/*
 * The clone path tracer.
 *
 * A clone is followed from its outermost traced function (the clone
 * syscall, or kernel_clone when the kernel clones on its own) to that
 * function's return, in an in-flight slot keyed by the forking task.  The
 * probes in between stamp landmarks into the slot: functions that
 * copy_process() calls in a fixed order.  Inner steps such as
 * dup_task_struct() or copy_mm() are inlined on the kernels we support, so
 * a phase is the interval between two landmarks and is named after what
 * that interval contains (Documentation/clonescope.rst).  A phase whose
 * landmarks did not fire is left out of phase_mask, never reported as 0.
 *
 * Handlers run with preemption disabled and never sleep or take a lock;
 * slots are claimed with cmpxchg and only the owning task touches one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/errno.h>
#include <linux/err.h>
#include <linux/kprobes.h>
#include <linux/percpu.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>
#include <asm/syscall.h>
#include <linux/clonescope.h>

#include "clone.h"
#include "filter.h"
#include "keytab.h"
#include "probes.h"
#include "cow.h"
#include "tracing.h"

/* Landmarks: where the clone path was at a given time. */
enum cs_landmark {
	LM_KC_ENTRY,
	LM_CP_ENTRY,
	LM_CREDS_ENTRY,
	LM_CREDS_RET,
	LM_SCHED_FORK_RET,
	LM_SEMUNDO_RET,
	LM_NS_ENTRY,
	LM_NS_RET,
	LM_THREAD_ENTRY,
	LM_PID_ENTRY,
	LM_CGCAN_ENTRY,
	LM_CGCAN_RET,
	LM_CP_RET,
	LM_DUP_MMAP_ENTRY,
	LM_DUP_MMAP_RET,
	LM_WAKE_ENTRY,
	LM_WAKE_RET,
	LM_KC_RET,
	NR_LANDMARKS,
	LM_NONE = 0xff,
};

/* Each phase runs from one landmark to another. */
static const struct {
	u8 start;
	u8 end;
} cs_phase_span[CLONESCOPE_NR_PHASES] = {
	[CLONESCOPE_PHASE_DUP_TASK]		= { LM_CP_ENTRY, LM_CREDS_ENTRY },
	[CLONESCOPE_PHASE_COPY_CREDS]		= { LM_CREDS_ENTRY, LM_CREDS_RET },
	[CLONESCOPE_PHASE_SCHED_FORK]		= { LM_CREDS_RET, LM_SCHED_FORK_RET },
	[CLONESCOPE_PHASE_TASK_INIT]		= { LM_SCHED_FORK_RET, LM_SEMUNDO_RET },
	[CLONESCOPE_PHASE_FILES_TO_MM]		= { LM_SEMUNDO_RET, LM_NS_ENTRY },
	[CLONESCOPE_PHASE_COPY_NAMESPACES]	= { LM_NS_ENTRY, LM_NS_RET },
	[CLONESCOPE_PHASE_COPY_IO]		= { LM_NS_RET, LM_THREAD_ENTRY },
	[CLONESCOPE_PHASE_COPY_THREAD]		= { LM_THREAD_ENTRY, LM_PID_ENTRY },
	[CLONESCOPE_PHASE_ALLOC_PID]		= { LM_PID_ENTRY, LM_CGCAN_ENTRY },
	[CLONESCOPE_PHASE_CGROUP_CAN_FORK]	= { LM_CGCAN_ENTRY, LM_CGCAN_RET },
	[CLONESCOPE_PHASE_ATTACH]		= { LM_CGCAN_RET, LM_CP_RET },
	[CLONESCOPE_PHASE_DUP_MMAP]		= { LM_DUP_MMAP_ENTRY, LM_DUP_MMAP_RET },
	[CLONESCOPE_PHASE_COPY_PAGE_RANGE]	= { LM_NONE, LM_NONE }, /* summed */
	[CLONESCOPE_PHASE_COPY_PROCESS]		= { LM_CP_ENTRY, LM_CP_RET },
	[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK]	= { LM_WAKE_ENTRY, LM_WAKE_RET },
	[CLONESCOPE_PHASE_KERNEL_CLONE]		= { LM_KC_ENTRY, LM_KC_RET },
};

/* Phases up to this one tile copy_process() from entry to return. */
#define CS_LAST_TILED_PHASE	CLONESCOPE_PHASE_ATTACH

/*
 * A landmark probe's cookie: the landmarks its entry and return stamp, and
 * the phase to blame when the function returns an error.
 */
#define CS_LM(entry, ret, err_phase) \
	((unsigned long)(entry) | (unsigned long)(ret) << 8 | \
	 (unsigned long)(err_phase) << 16)
#define CS_LM_ENTRY(c)		((c) & 0xff)
#define CS_LM_RET(c)		(((c) >> 8) & 0xff)
#define CS_LM_ERR_PHASE(c)	((u32)(c) >> 16 == 0xffff ? \
				 CLONESCOPE_PHASE_NONE : (u32)(c) >> 16)
#define CS_NO_PHASE		0xffff

#define CS_SLOT_BITS		10
#define CS_NR_SLOTS		(1U << CS_SLOT_BITS)
#define CS_CHILD_BITS		10
#define CS_NR_CHILDREN		(1U << CS_CHILD_BITS)

enum cs_outer {
	CS_OUTER_SYSCALL = 1,
	CS_OUTER_KERNEL_CLONE,
};

struct cs_slot {
	enum cs_outer outer;
	bool cp_failed;
	u32 failed_phase;
	u64 lm[NR_LANDMARKS];
	u64 cpr_start;
	u64 cpr_total;
	struct clonescope_clone_event ev;
};

/* In-flight clones, keyed by the forking task. */
static unsigned long *cs_slot_keys;
static struct cs_slot *cs_slots;
/* Children created by a traced clone that have not run yet. */
static unsigned long *cs_child_keys;

static_assert(NR_LANDMARKS <= 32);

/* Landmarks some armed probe stamps, as BIT(landmark): set by reset. */
static u32 cs_live_landmarks;
static DEFINE_PER_CPU(u64, cs_clones);
static DEFINE_PER_CPU(u64, cs_overflow);

/* current's slot, live or left stale by a missed return; or NULL. */
static struct cs_slot *cs_slot_of_current(void)
{
	long idx;

	if (!cs_tracing())
		return NULL;
	idx = cs_key_find(cs_slot_keys, CS_SLOT_BITS, (unsigned long)current);
	return idx < 0 ? NULL : &cs_slots[idx];
}
NOKPROBE_SYMBOL(cs_slot_of_current);

/* The slot of the clone current is in, if it is traced. */
static struct cs_slot *cs_slot_current(void)
{
	struct cs_slot *s = cs_slot_of_current();

	/* A slot leaked by a missed return of a task whose task_struct was
	 * then reused has another pid.
	 */
	if (!s || s->ev.parent_pid != current->pid)
		return NULL;
	return s;
}
NOKPROBE_SYMBOL(cs_slot_current);

static void cs_slot_release(struct cs_slot *s)
{
	cs_key_release(cs_slot_keys, s - cs_slots);
}
NOKPROBE_SYMBOL(cs_slot_release);

/* Starts tracing a clone of current at @now: a fresh or reused slot. */
static struct cs_slot *cs_slot_begin(struct cs_slot *s, enum cs_outer outer,
				     u64 now)
{
	struct clonescope_clone_event *ev;
	long idx;

	if (!s) {
		if (!cs_filter_match(current))
			return NULL;
		idx = cs_key_claim(cs_slot_keys, CS_SLOT_BITS,
				   (unsigned long)current);
		if (idx < 0) {
			this_cpu_inc(cs_overflow);
			return NULL;
		}
		s = &cs_slots[idx];
	}
	memset(s, 0, offsetof(struct cs_slot, ev));
	s->outer = outer;
	s->failed_phase = CLONESCOPE_PHASE_NONE;

	ev = &s->ev;
	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = CLONESCOPE_RECORD_CLONE;
	ev->hdr.size = sizeof(*ev);
	ev->start_ns = now;
	ev->parent_pid = current->pid;
	ev->parent_tgid = current->tgid;
	ev->failed_phase = CLONESCOPE_PHASE_NONE;
	strscpy_pad(ev->comm, current->comm, sizeof(ev->comm));
	return s;
}
NOKPROBE_SYMBOL(cs_slot_begin);

static void cs_set_phase(struct clonescope_clone_event *ev, unsigned int phase,
			 u64 start, u64 duration)
{
	ev->phases[phase].start_ns = start;
	ev->phases[phase].duration_ns = duration;
	ev->phase_mask |= 1ULL << phase;
}
NOKPROBE_SYMBOL(cs_set_phase);

static void cs_fill_phases(struct cs_slot *s)
{
	struct clonescope_clone_event *ev = &s->ev;
	u32 last_started = CLONESCOPE_PHASE_NONE;
	unsigned int i;
	u64 start;

	for (i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		u64 end;

		if (cs_phase_span[i].start == LM_NONE)
			continue;
		start = s->lm[cs_phase_span[i].start];
		end = s->lm[cs_phase_span[i].end];
		if (!start)
			continue;
		if (i <= CS_LAST_TILED_PHASE)
			last_started = i;
		if (end >= start)
			cs_set_phase(ev, i, start, end - start);
	}
	if (ev->copy_page_range_calls)
		cs_set_phase(ev, CLONESCOPE_PHASE_COPY_PAGE_RANGE,
			     s->cpr_start, s->cpr_total);

	if (!s->cp_failed)
		return;
	/*
	 * copy_process() failed: blame the function that returned an error,
	 * else the phase it was in, if that phase could have been seen to
	 * end (its end landmark is armed): with a landmark missing, the last
	 * phase started is not where it failed.  The failed phase ends at the
	 * return of copy_process(), so the phases still tile it; later ones
	 * did not happen.
	 */
	if (s->failed_phase == CLONESCOPE_PHASE_NONE &&
	    last_started != CLONESCOPE_PHASE_NONE &&
	    (cs_live_landmarks & BIT(cs_phase_span[last_started].end)))
		s->failed_phase = last_started;
	ev->failed_phase = s->failed_phase;
	if (ev->failed_phase == CLONESCOPE_PHASE_NONE)
		return;
	start = s->lm[cs_phase_span[ev->failed_phase].start];
	if (start && s->lm[LM_CP_RET] >= start)
		cs_set_phase(ev, ev->failed_phase, start, s->lm[LM_CP_RET] - start);
	for (i = ev->failed_phase + 1; i <= CS_LAST_TILED_PHASE; i++)
		ev->phase_mask &= ~(1ULL << i);
}
NOKPROBE_SYMBOL(cs_fill_phases);

static void cs_emit_clone(struct cs_slot *s, struct cs_hctx *ctx)
{
	struct clonescope_clone_event *ev = &s->ev;

	ev->end_ns = ctx->now;
	cs_fill_phases(s);
	if (ev->result < 0) {
		ev->flags |= CLONESCOPE_CLONE_FAILED;
		if (ev->result == -ERESTARTNOINTR)
			ev->flags |= CLONESCOPE_CLONE_RESTART;
	}
	/*
	 * self_cost_ns covers the handlers inside [start_ns, end_ns]; this
	 * one's time from end_ns on counts in the probe's totals only.
	 */
	ev->hdr.timestamp_ns = ktime_get_ns();
	cs_emit(ev);
	this_cpu_inc(cs_clones);
	cs_slot_release(s);
}
NOKPROBE_SYMBOL(cs_emit_clone);

static int cs_syscall_entry(struct cs_hctx *ctx)
{
	struct cs_slot *s;

	if (!cs_tracing())
		return 1;
	/* A slot of current already here is stale: one clone at a time. */
	s = cs_slot_begin(cs_slot_of_current(), CS_OUTER_SYSCALL, ctx->now);
	if (!s)
		return 1;
	s->ev.syscall = ctx->cookie;
	if (ctx->cookie == CLONESCOPE_SYSCALL_CLONE3) {
		unsigned long args[6];

		syscall_get_arguments(current, task_pt_regs(current), args);
		s->ev.clone3_size = args[1];
	}
	ctx->cost_sink = &s->ev.self_cost_ns;
	return 0;
}
NOKPROBE_SYMBOL(cs_syscall_entry);

static int cs_syscall_return(struct cs_hctx *ctx)
{
	struct cs_slot *s = cs_slot_current();

	if (!s)
		return 0;
	s->ev.result = regs_return_value(ctx->regs);
	/* Judged by both: kernel_clone's entry may be a missed kretprobe. */
	if (!s->lm[LM_KC_ENTRY] && !s->lm[LM_CP_ENTRY])
		s->ev.flags |= CLONESCOPE_CLONE_NO_KERNEL_CLONE;
	cs_emit_clone(s, ctx);
	return 0;
}
NOKPROBE_SYMBOL(cs_syscall_return);

static int cs_kernel_clone_entry(struct cs_hctx *ctx)
{
	struct kernel_clone_args *args;
	struct cs_slot *s = cs_slot_current();

	if (!cs_tracing())
		return 1;
	/* Inside a traced clone syscall, or a clone of the kernel's own. */
	if (!s || s->outer != CS_OUTER_SYSCALL || s->lm[LM_KC_ENTRY])
		s = cs_slot_begin(cs_slot_of_current(), CS_OUTER_KERNEL_CLONE,
				  ctx->now);
	if (!s)
		return 1;
	args = (struct kernel_clone_args *)regs_get_kernel_argument(ctx->regs, 0);
	s->ev.clone_flags = args->flags;
	s->ev.exit_signal = args->exit_signal;
	s->ev.set_tid_size = args->set_tid_size;
	s->lm[LM_KC_ENTRY] = ctx->now;
	ctx->cost_sink = &s->ev.self_cost_ns;
	return 0;
}
NOKPROBE_SYMBOL(cs_kernel_clone_entry);

static int cs_kernel_clone_return(struct cs_hctx *ctx)
{
	struct cs_slot *s = cs_slot_current();

	if (!s)
		return 0;
	s->lm[LM_KC_RET] = ctx->now;
	s->ev.result = (int)regs_return_value(ctx->regs);
	if (s->outer == CS_OUTER_KERNEL_CLONE)
		cs_emit_clone(s, ctx);
	else
		ctx->cost_sink = &s->ev.self_cost_ns;
	return 0;
}
NOKPROBE_SYMBOL(cs_kernel_clone_return);

static int cs_copy_process_return(struct cs_hctx *ctx)
{
	unsigned long ret = regs_return_value(ctx->regs);
	struct cs_slot *s = cs_slot_current();
	struct task_struct *child;

	if (!s)
		return 0;
	s->lm[LM_CP_RET] = ctx->now;
	ctx->cost_sink = &s->ev.self_cost_ns;
	if (IS_ERR_VALUE(ret)) {
		s->cp_failed = true;
		return 0;
	}
	/* Not yet woken up, so alive; its first run reports itself. */
	child = (struct task_struct *)ret;
	s->ev.child_pid = child->pid;
	s->ev.child_tgid = child->tgid;
	if (cs_key_claim(cs_child_keys, CS_CHILD_BITS, ret) < 0)
		this_cpu_inc(cs_overflow);
	/* Not from clone_flags: kernel_clone's entry may have been missed. */
	if (child->mm && child->mm != current->mm)
		cs_cow_fork(child, ctx->now);
	return 0;
}
NOKPROBE_SYMBOL(cs_copy_process_return);

static int cs_landmark_entry(struct cs_hctx *ctx)
{
	struct cs_slot *s = cs_slot_current();
	unsigned int lm = CS_LM_ENTRY(ctx->cookie);

	if (!s)
		return 1;
	if (lm != LM_NONE)
		s->lm[lm] = ctx->now;
	ctx->cost_sink = &s->ev.self_cost_ns;
	return 0;
}
NOKPROBE_SYMBOL(cs_landmark_entry);

static int cs_landmark_return(struct cs_hctx *ctx)
{
	struct cs_slot *s = cs_slot_current();
	u32 err_phase = CS_LM_ERR_PHASE(ctx->cookie);

	if (!s)
		return 0;
	s->lm[CS_LM_RET(ctx->cookie)] = ctx->now;
	if ((int)regs_return_value(ctx->regs) < 0 &&
	    err_phase != CLONESCOPE_PHASE_NONE &&
	    s->failed_phase == CLONESCOPE_PHASE_NONE)
		s->failed_phase = err_phase;
	ctx->cost_sink = &s->ev.self_cost_ns;
	return 0;
}
NOKPROBE_SYMBOL(cs_landmark_return);

static int cs_copy_page_range_entry(struct cs_hctx *ctx)
{
	struct cs_slot *s = cs_slot_current();

	if (!s)
		return 1;
	*(u64 *)ctx->data = ctx->now;
	ctx->cost_sink = &s->ev.self_cost_ns;
	return 0;
}
NOKPROBE_SYMBOL(cs_copy_page_range_entry);

static int cs_copy_page_range_return(struct cs_hctx *ctx)
{
	struct cs_slot *s = cs_slot_current();
	u64 start = *(u64 *)ctx->data;

	if (!s)
		return 0;
	if (!s->ev.copy_page_range_calls++)
		s->cpr_start = start;
	s->cpr_total += ctx->now - start;
	ctx->cost_sink = &s->ev.self_cost_ns;
	return 0;
}
NOKPROBE_SYMBOL(cs_copy_page_range_return);

static int cs_child_start(struct cs_hctx *ctx)
{
	struct clonescope_child_start_event ev = {
		.hdr.type = CLONESCOPE_RECORD_CHILD_START,
		.hdr.size = sizeof(ev),
		.hdr.timestamp_ns = ctx->now,
		.pid = current->pid,
		.tgid = current->tgid,
	};
	long idx;

	if (!cs_tracing())
		return 0;
	idx = cs_key_find(cs_child_keys, CS_CHILD_BITS, (unsigned long)current);
	if (idx < 0)
		return 0;
	cs_key_release(cs_child_keys, idx);
	rcu_read_lock();
	ev.parent_tgid = rcu_dereference(current->real_parent)->tgid;
	rcu_read_unlock();
	cs_emit(&ev);
	return 0;
}
NOKPROBE_SYMBOL(cs_child_start);

#define CS_SYSCALL_PROBE(sym, nr) {					\
	.symbols = CS_SYMS(sym), .role = "syscall entry",		\
	.group = CLONESCOPE_PROBES_CLONE,				\
	.entry = cs_syscall_entry, .ret = cs_syscall_return,		\
	.cookie = (nr) }

#define CS_LANDMARK_PROBE(sym, role_, group_, entry_lm, ret_lm, err_phase) { \
	.symbols = CS_SYMS(sym), .role = role_, .group = group_,	\
	.entry = cs_landmark_entry,					\
	.ret = (ret_lm) == LM_NONE ? NULL : cs_landmark_return,	\
	.cookie = CS_LM(entry_lm, ret_lm, err_phase) }

static struct cs_probe cs_probes[] = {
	CS_SYSCALL_PROBE("__x64_sys_clone", CLONESCOPE_SYSCALL_CLONE),
	CS_SYSCALL_PROBE("__x64_sys_clone3", CLONESCOPE_SYSCALL_CLONE3),
	CS_SYSCALL_PROBE("__x64_sys_fork", CLONESCOPE_SYSCALL_FORK),
	CS_SYSCALL_PROBE("__x64_sys_vfork", CLONESCOPE_SYSCALL_VFORK),
	CS_SYSCALL_PROBE("__ia32_sys_clone", CLONESCOPE_SYSCALL_CLONE),
	CS_SYSCALL_PROBE("__ia32_sys_clone3", CLONESCOPE_SYSCALL_CLONE3),
	CS_SYSCALL_PROBE("__ia32_sys_fork", CLONESCOPE_SYSCALL_FORK),
	CS_SYSCALL_PROBE("__ia32_sys_vfork", CLONESCOPE_SYSCALL_VFORK),
	{
		/* Renamed from _do_fork in 5.10. */
		.symbols = CS_SYMS("kernel_clone", "_do_fork"),
		.role = "clone",
		.group = CLONESCOPE_PROBES_CLONE,
		.entry = cs_kernel_clone_entry,
		.ret = cs_kernel_clone_return,
		.required = true,
	},
	{
		.symbols = CS_SYMS("copy_process"),
		.role = "copy_process",
		.group = CLONESCOPE_PROBES_CLONE,
		.entry = cs_landmark_entry,
		.ret = cs_copy_process_return,
		.cookie = CS_LM(LM_CP_ENTRY, LM_NONE, CS_NO_PHASE),
		.required = true,
	},
	CS_LANDMARK_PROBE("copy_creds", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_CREDS_ENTRY, LM_CREDS_RET,
			  CLONESCOPE_PHASE_COPY_CREDS),
	CS_LANDMARK_PROBE("sched_fork", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_NONE, LM_SCHED_FORK_RET,
			  CLONESCOPE_PHASE_SCHED_FORK),
	CS_LANDMARK_PROBE("copy_semundo", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_NONE, LM_SEMUNDO_RET,
			  CLONESCOPE_PHASE_TASK_INIT),
	CS_LANDMARK_PROBE("copy_namespaces", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_NS_ENTRY, LM_NS_RET,
			  CLONESCOPE_PHASE_COPY_NAMESPACES),
	CS_LANDMARK_PROBE("copy_thread", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_THREAD_ENTRY, LM_NONE, CS_NO_PHASE),
	CS_LANDMARK_PROBE("alloc_pid", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_PID_ENTRY, LM_NONE, CS_NO_PHASE),
	CS_LANDMARK_PROBE("cgroup_can_fork", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_CGCAN_ENTRY, LM_CGCAN_RET,
			  CLONESCOPE_PHASE_CGROUP_CAN_FORK),
	CS_LANDMARK_PROBE("dup_mmap", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_DUP_MMAP_ENTRY, LM_DUP_MMAP_RET,
			  CLONESCOPE_PHASE_FILES_TO_MM),
	{
		.symbols = CS_SYMS("copy_page_range"),
		.role = "page table copy",
		.group = CLONESCOPE_PROBES_PAGE_TABLES,
		.entry = cs_copy_page_range_entry,
		.ret = cs_copy_page_range_return,
		.data_size = sizeof(u64),
	},
	CS_LANDMARK_PROBE("wake_up_new_task", "child wake-up",
			  CLONESCOPE_PROBES_CLONE,
			  LM_WAKE_ENTRY, LM_WAKE_RET, CS_NO_PHASE),
	{
		/* The first thing a new task runs, with its rq lock held. */
		.symbols = CS_SYMS("schedule_tail"),
		.role = "child first run",
		.group = CLONESCOPE_PROBES_CLONE,
		.entry = cs_child_start,
	},
};

u64 cs_clone_features(void)
{
	u64 features = CLONESCOPE_FEAT_KERNEL_CLONE | CLONESCOPE_FEAT_PHASES |
		       CLONESCOPE_FEAT_LOST_RECORDS | CLONESCOPE_FEAT_FILTER |
		       CLONESCOPE_FEAT_SELF_COST;

	if (cs_probe_registered("__x64_sys_clone"))
		features |= CLONESCOPE_FEAT_SYSCALL;
	if (cs_probe_registered("schedule_tail"))
		features |= CLONESCOPE_FEAT_CHILD_START;
	return features;
}

static bool cs_probe_live(const struct cs_probe *p, u32 armed)
{
	return p->state == CLONESCOPE_PROBE_REGISTERED && (p->group & armed);
}

/* Only while no handler runs: tracing is off and was waited out. */
void cs_clone_reset(u32 armed)
{
	unsigned int i;
	int cpu;

	cs_live_landmarks = 0;
	for (i = 0; i < ARRAY_SIZE(cs_probes); i++) {
		unsigned long c = cs_probes[i].cookie;

		if (!cs_probe_live(&cs_probes[i], armed) ||
		    cs_probes[i].entry != cs_landmark_entry)
			continue;
		if (CS_LM_ENTRY(c) != LM_NONE)
			cs_live_landmarks |= BIT(CS_LM_ENTRY(c));
		if (cs_probes[i].ret && CS_LM_RET(c) != LM_NONE)
			cs_live_landmarks |= BIT(CS_LM_RET(c));
	}
	/* copy_process's return is stamped by its own return handler. */
	cs_live_landmarks |= BIT(LM_CP_RET);

	memset(cs_slot_keys, 0, CS_NR_SLOTS * sizeof(*cs_slot_keys));
	memset(cs_child_keys, 0, CS_NR_CHILDREN * sizeof(*cs_child_keys));
	for_each_possible_cpu(cpu) {
		per_cpu(cs_clones, cpu) = 0;
		per_cpu(cs_overflow, cpu) = 0;
	}
}

void cs_clone_stats(struct clonescope_stats *st)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		st->clones += READ_ONCE(per_cpu(cs_clones, cpu));
		st->inflight_overflow += READ_ONCE(per_cpu(cs_overflow, cpu));
	}
}

int cs_clone_init(void)
{
	int err;

	cs_slot_keys = vzalloc(CS_NR_SLOTS * sizeof(*cs_slot_keys));
	cs_slots = vzalloc(CS_NR_SLOTS * sizeof(*cs_slots));
	cs_child_keys = vzalloc(CS_NR_CHILDREN * sizeof(*cs_child_keys));
	if (!cs_slot_keys || !cs_slots || !cs_child_keys) {
		err = -ENOMEM;
		goto err_free;
	}
	err = cs_probes_register(cs_probes, ARRAY_SIZE(cs_probes));
	if (err)
		goto err_free;
	return 0;

err_free:
	vfree(cs_child_keys);
	vfree(cs_slots);
	vfree(cs_slot_keys);
	return err;
}

/* After cs_probes_unregister_all(): no handler can run. */
void cs_clone_exit(void)
{
	vfree(cs_child_keys);
	vfree(cs_slots);
	vfree(cs_slot_keys);
	cs_child_keys = NULL;
	cs_slots = NULL;
	cs_slot_keys = NULL;
}
