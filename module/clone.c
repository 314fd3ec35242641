// SPDX-License-Identifier: GPL-2.0
/*
 * The clone path tracer.
 *
 * A clone is followed from kernel_clone()'s entry to its return, in an
 * in-flight slot keyed by the forking task; the syscall it came from is
 * read from the task's saved registers.  The probes in between stamp
 * landmarks into the slot: functions that copy_process() calls in a fixed
 * order, and the kernel's tracepoints on the clone path (task_newtask,
 * sched_wakeup_new), which cost far less per hit than a kprobe.  The
 * default group takes three kprobe hits per clone (kernel_clone entry and
 * return, the child's schedule_tail) and two tracepoint hits: since ABI
 * 1.7, kernel_clone's entry also starts copy_process's phases and
 * task_newtask also starts the wake-up.  Inner steps such as
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
#include <linux/nsproxy.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/sem.h>
#include <linux/signal.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <asm/syscall.h>
#include <asm/unistd.h>
#ifdef CONFIG_IA32_EMULATION
#include <asm/unistd_32_ia32.h>
#endif
#include <linux/clonescope.h>

#include "agg.h"
#include "clone.h"
#include "compat.h"
#include "filter.h"
#include "pidns.h"
#include "keytab.h"
#include "lifecycle.h"
#include "probes.h"
#include "cow.h"
#include "session.h"

/* Landmarks: where the clone path was at a given time. */
enum cs_landmark {
	LM_KC_ENTRY,		/* also where copy_process()'s phases start */
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
	LM_WAKE_RET,
	LM_KC_RET,
	NR_LANDMARKS,
	LM_NONE = 0xff,
};

struct cs_span {
	u8 start;
	u8 end;
};

/*
 * The landmark that ends each tiled phase (CLONESCOPE_TILED_PHASES): each
 * starts where the one before it in index order ends, the first at
 * kernel_clone()'s entry (cs_refusable_before_copy_process() says why),
 * and the last ends at copy_process()'s return.
 */
static const u8 cs_tiled_end[CLONESCOPE_NR_PHASES] = {
	[CLONESCOPE_PHASE_DUP_TASK]		= LM_CREDS_ENTRY,
	[CLONESCOPE_PHASE_COPY_CREDS]		= LM_CREDS_RET,
	[CLONESCOPE_PHASE_SCHED_FORK]		= LM_SCHED_FORK_RET,
	[CLONESCOPE_PHASE_TASK_INIT]		= LM_SEMUNDO_RET,
	[CLONESCOPE_PHASE_FILES_TO_MM]		= LM_NS_ENTRY,
	[CLONESCOPE_PHASE_COPY_NAMESPACES]	= LM_NS_RET,
	[CLONESCOPE_PHASE_COPY_IO]		= LM_THREAD_ENTRY,
	[CLONESCOPE_PHASE_COPY_THREAD]		= LM_PID_ENTRY,
	[CLONESCOPE_PHASE_ALLOC_PID]		= LM_CGCAN_ENTRY,
	[CLONESCOPE_PHASE_CGROUP_CAN_FORK]	= LM_CGCAN_RET,
	[CLONESCOPE_PHASE_ATTACH]		= LM_CP_RET,
};

/* The phases that overlap the tiled ones, or enclose them. */
static const struct cs_span cs_other_span[CLONESCOPE_NR_PHASES] = {
	/*
	 * dup_mmap() returns through dup_mm() and copy_mm() straight into the
	 * call of copy_namespaces(): what lies between is a few stores and
	 * reference counts (hiwater marks, the binfmt module, 6.4+'s
	 * sched_mm_cid_fork(), 7.x's sched_cache_fork()), so the entry of
	 * copy_namespaces() ends DUP_MMAP and dup_mmap() needs no return
	 * probe.  A failed dup_mmap() never gets there: it is FILES_TO_MM's
	 * failure, as its return probe used to say, and DUP_MMAP is absent.
	 */
	[CLONESCOPE_PHASE_DUP_MMAP]		= { LM_DUP_MMAP_ENTRY, LM_NS_ENTRY },
	[CLONESCOPE_PHASE_COPY_PAGE_RANGE]	= { LM_NONE, LM_NONE }, /* summed */
	[CLONESCOPE_PHASE_COPY_PROCESS]		= { LM_KC_ENTRY, LM_CP_RET },
	/*
	 * From the end of copy_process() (task_newtask), not from
	 * sched_process_fork: what lies between is copy_process()'s tail
	 * (uprobe_copy_process(), user_events_fork(), copy_oom_score_adj(),
	 * each a few tests unless the parent has uretprobes pending, user
	 * events, or clones CLONE_VM without CLONE_THREAD or CLONE_VFORK) and
	 * add_latent_entropy(), from 5.10 to 7.3: a tracepoint hit saved.
	 */
	[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK]	= { LM_CP_RET, LM_WAKE_RET },
	[CLONESCOPE_PHASE_KERNEL_CLONE]		= { LM_KC_ENTRY, LM_KC_RET },
};

/* Each phase runs from one landmark to another: set by cs_spans_init(). */
static struct cs_span cs_phase_span[CLONESCOPE_NR_PHASES];

/*
 * A landmark probe's arg: the landmarks its entry and return stamp (or
 * LM_NONE), and the phase to blame when the function returns an error (or
 * CLONESCOPE_PHASE_NONE).  Every probe of this tracer with an arg is one.
 */
struct cs_landmarks {
	u8 entry;
	u8 ret;
	u32 err_phase;
};

#define CS_SLOT_BITS		10
#define CS_NR_SLOTS		(1U << CS_SLOT_BITS)
#define CS_CHILD_BITS		10
#define CS_NR_CHILDREN		(1U << CS_CHILD_BITS)

/*
 * A clone in flight.  cs_slot_begin() sets only what a clone needs set:
 * a landmark is valid where its bit in lm_set is (cs_lm()).  Its record
 * is written in place in the ring at its end (cs_write_clone()), from
 * the fields below that the record names alike and from the landmarks.
 */
struct cs_slot {
	bool cp_failed;			/* copy_process() was called and failed */
	bool refusable;			/* see cs_refusable_before_copy_process() */
	bool timed;			/* its handlers' cost is measured */
	u32 lm_set;			/* BIT(landmark) of those stamped */
	long child_idx;			/* in child_keys, or -1 */
	u32 failed_phase;
	u64 lm[NR_LANDMARKS];
	u64 cpr_start;
	u64 cpr_total;

	u64 clone_flags;
	u64 self_cost_ns;
	u32 parent_pid;
	u32 parent_tgid;
	u32 child_pid;
	u32 child_tgid;
	u32 ns_child_pid;
	u32 ns_child_tgid;
	u32 child_pidns;
	u32 syscall;
	s32 exit_signal;
	u32 copy_page_range_calls;
	u32 clone3_size;
	u32 set_tid_size;
	char comm[TASK_COMM_LEN];
};

/* The tracer's tables, one allocation. */
struct cs_clone_tables {
	/* In-flight clones, keyed by the forking task. */
	unsigned long slot_keys[CS_NR_SLOTS];
	struct cs_slot slots[CS_NR_SLOTS];
	/* Children created by a traced clone that have not run yet. */
	unsigned long child_keys[CS_NR_CHILDREN];
	/* When each one was made: where its wake-up latency starts. */
	u64 child_wake_ns[CS_NR_CHILDREN];
};
static struct cs_clone_tables *cs_tab;

static_assert(NR_LANDMARKS <= 32);

/* Landmarks some armed probe stamps, as BIT(landmark): set by reset. */
static u32 cs_live_landmarks;
/* Phases whose start landmark is live, as BIT_ULL(phase): set by reset. */
static u64 cs_live_phases;

/* A phase both of whose landmarks are live, so it can be measured. */
struct cs_measurable {
	u8 phase;
	u8 start;
	u8 end;
	u32 landmarks;		/* BIT(start) | BIT(end) */
};

/* Those phases, in index order: set by reset. */
static struct cs_measurable cs_measurable[CLONESCOPE_NR_PHASES];
static unsigned int cs_nr_measurable;
static DEFINE_PER_CPU(u64, cs_clones);
static DEFINE_PER_CPU(u64, cs_timed_clones);
/* Clones begun on each CPU: which of them are timed (cs_cost_sampled()). */
static DEFINE_PER_CPU(u64, cs_clones_begun);
/*
 * The record of a clone that is aggregated but not in the ring, built
 * and read by its kernel_clone() return handler (process context, with
 * preemption off: one at a time per CPU).  Not on the stack, where the
 * kernel's automatic variable initialisation would zero it first.
 */
static DEFINE_PER_CPU(struct clonescope_clone_event, cs_agg_scratch);

/* current's slot, live or left stale by a missed return; or NULL. */
static nokprobe_inline struct cs_slot *cs_slot_of_current(void)
{
	if (!cs_tracing())
		return NULL;
	return cs_key_value(cs_tab->slot_keys, CS_SLOT_BITS, cs_tab->slots, current);
}

/*
 * Whether @s is the slot of the clone current is in.  A slot leaked by a
 * missed return of a task whose task_struct was then reused has another
 * pid.
 */
static nokprobe_inline bool cs_slot_is_current(const struct cs_slot *s)
{
	return READ_ONCE(cs_tab->slot_keys[s - cs_tab->slots]) ==
	       (unsigned long)current && s->parent_pid == current->pid;
}

/* The slot of the clone current is in, if it is traced. */
static nokprobe_inline struct cs_slot *cs_slot_current(void)
{
	struct cs_slot *s = cs_slot_of_current();

	if (!s || s->parent_pid != current->pid)
		return NULL;
	return s;
}

/* A handler working on @s is timed with it, into its self_cost_ns. */
static nokprobe_inline void cs_charge_slot(struct cs_hctx *ctx, struct cs_slot *s)
{
	cs_charge(ctx, s->timed, &s->self_cost_ns);
}

/* The same, for a handler working on the slot: charged to the clone. */
static nokprobe_inline struct cs_slot *cs_slot_charged(struct cs_hctx *ctx)
{
	struct cs_slot *s = cs_slot_current();

	if (s)
		cs_charge_slot(ctx, s);
	return s;
}

static nokprobe_inline void cs_lm_set(struct cs_slot *s, unsigned int lm, u64 now)
{
	s->lm[lm] = now;
	s->lm_set |= BIT(lm);
}

/* When @s passed landmark @lm, or 0 if it did not. */
static nokprobe_inline u64 cs_lm(const struct cs_slot *s, unsigned int lm)
{
	return s->lm_set & BIT(lm) ? s->lm[lm] : 0;
}

/* Stamps landmark @lm (unless LM_NONE) into current's slot, if traced. */
static nokprobe_inline struct cs_slot *cs_stamp(struct cs_hctx *ctx, unsigned int lm)
{
	struct cs_slot *s = cs_slot_charged(ctx);

	if (s && lm != LM_NONE)
		cs_lm_set(s, lm, ctx->now);
	return s;
}

static nokprobe_inline void cs_slot_release(struct cs_slot *s)
{
	cs_key_release(cs_tab->slot_keys, s - cs_tab->slots);
}

/*
 * Starts tracing a clone of current at @now: in a fresh slot, or in one a
 * missed return left (one clone at a time: it is stale).
 */
static struct cs_slot *cs_slot_begin(u64 now)
{
	struct cs_slot *s;
	long idx;

	if (!cs_filter_match(current))
		return NULL;
	idx = cs_key_find_or_claim(cs_tab->slot_keys, CS_SLOT_BITS,
				   (unsigned long)current);
	if (idx < 0) {
		cs_count_overflow();
		return NULL;
	}
	s = &cs_tab->slots[idx];
	s->cp_failed = false;
	s->timed = cs_cost_sampled(this_cpu_inc_return(cs_clones_begun) - 1);
	s->lm_set = 0;
	s->child_idx = -1;
	s->failed_phase = CLONESCOPE_PHASE_NONE;
	s->cpr_total = 0;
	cs_lm_set(s, LM_KC_ENTRY, now);

	s->self_cost_ns = 0;
	s->parent_pid = current->pid;
	s->parent_tgid = current->tgid;
	s->child_pid = 0;
	s->child_tgid = 0;
	s->ns_child_pid = 0;
	s->ns_child_tgid = 0;
	s->child_pidns = 0;
	s->copy_page_range_calls = 0;
	/* As set_task_comm() leaves it: NUL-padded, ending in one. */
	memcpy(s->comm, current->comm, sizeof(s->comm));
	s->comm[sizeof(s->comm) - 1] = '\0';
	return s;
}
NOKPROBE_SYMBOL(cs_slot_begin);

static nokprobe_inline void cs_set_phase(struct clonescope_clone_event *ev, u64 *mask,
			 unsigned int phase, u64 start, u64 duration)
{
	ev->phases[phase].start_ns = start;
	ev->phases[phase].duration_ns = duration;
	*mask |= BIT_ULL(phase);
}

/* The last tiled phase of @s that started, or CLONESCOPE_PHASE_NONE. */
static u32 cs_last_started(const struct cs_slot *s)
{
	u64 todo = cs_live_phases & CLONESCOPE_TILED_PHASES;

	while (todo) {
		unsigned int i = fls64(todo) - 1;

		if (cs_lm(s, cs_phase_span[i].start))
			return i;
		todo &= ~BIT_ULL(i);
	}
	return CLONESCOPE_PHASE_NONE;
}
NOKPROBE_SYMBOL(cs_last_started);

/*
 * copy_process() failed: blame the function that returned an error, else
 * the phase it was in, if that phase could have been seen to end (its end
 * landmark is armed): with a landmark missing, the last phase started is
 * not where it failed.  The failed phase ends at the return of
 * copy_process(), so the phases still tile it; later ones did not happen.
 * Returns @mask, the phases measured, so amended.
 */
static u64 cs_fill_failure(struct clonescope_clone_event *ev,
			   const struct cs_slot *s, u64 mask)
{
	u32 failed = s->failed_phase;
	u64 start;

	if (failed == CLONESCOPE_PHASE_NONE) {
		u32 last = cs_last_started(s);

		if (last != CLONESCOPE_PHASE_NONE &&
		    (cs_live_landmarks & BIT(cs_phase_span[last].end)))
			failed = last;
	}
	ev->failed_phase = failed;
	if (failed == CLONESCOPE_PHASE_NONE)
		return mask;
	start = cs_lm(s, cs_phase_span[failed].start);
	if (start && cs_lm(s, LM_CP_RET) >= start)
		cs_set_phase(ev, &mask, failed, start, cs_lm(s, LM_CP_RET) - start);
	return mask & ~(CLONESCOPE_TILED_PHASES & ~GENMASK_ULL(failed, 0));
}
NOKPROBE_SYMBOL(cs_fill_failure);

/* phases, phase_mask and failed_phase of @ev, which holds stale bytes. */
static void cs_fill_phases(struct clonescope_clone_event *ev,
			   const struct cs_slot *s)
{
	unsigned int i;
	u64 mask = 0;

	/* The phases not measured read as zero. */
	memset(ev->phases, 0, sizeof(ev->phases));
	for (i = 0; i < cs_nr_measurable; i++) {
		const struct cs_measurable *m = &cs_measurable[i];
		u64 start = s->lm[m->start], end = s->lm[m->end];

		if ((s->lm_set & m->landmarks) == m->landmarks && end >= start)
			cs_set_phase(ev, &mask, m->phase, start, end - start);
	}
	if (s->copy_page_range_calls)
		cs_set_phase(ev, &mask, CLONESCOPE_PHASE_COPY_PAGE_RANGE,
			     s->cpr_start, s->cpr_total);
	ev->failed_phase = CLONESCOPE_PHASE_NONE;
	if (s->cp_failed)
		mask = cs_fill_failure(ev, s, mask);
	ev->phase_mask = mask;
}
NOKPROBE_SYMBOL(cs_fill_phases);

/*
 * Every field of the record of @s, ended by kernel_clone()'s return at
 * @now with @result, in @ev: its place in the ring or a scratch copy.
 */
static void cs_write_clone(struct clonescope_clone_event *ev, struct cs_slot *s,
			   u64 now, long result)
{
	u32 flags = s->timed ? CLONESCOPE_CLONE_TIMED : 0;

	if (result < 0) {
		flags |= CLONESCOPE_CLONE_FAILED;
		if (result == -ERESTARTNOINTR)
			flags |= CLONESCOPE_CLONE_RESTART;
	}
	/*
	 * self_cost_ns covers the handlers inside [start_ns, end_ns]; this
	 * one's time from end_ns on counts in the probe's totals only.  The
	 * record is stamped with the handler's one clock read.
	 */
	ev->hdr.timestamp_ns = now;
	ev->clone_flags = s->clone_flags;
	ev->start_ns = s->lm[LM_KC_ENTRY];
	ev->end_ns = now;
	ev->self_cost_ns = s->self_cost_ns;
	ev->result = result;
	ev->parent_pid = s->parent_pid;
	ev->parent_tgid = s->parent_tgid;
	ev->child_pid = s->child_pid;
	ev->child_tgid = s->child_tgid;
	ev->syscall = s->syscall;
	ev->exit_signal = s->exit_signal;
	ev->flags = flags;
	ev->copy_page_range_calls = s->copy_page_range_calls;
	ev->clone3_size = s->clone3_size;
	ev->set_tid_size = s->set_tid_size;
	ev->__reserved = 0;
	memcpy(ev->comm, s->comm, sizeof(ev->comm));
	/* current is the parent, whose pids do not change while it clones. */
	cs_pidns_of(current, &ev->ns_parent_pid, &ev->ns_parent_tgid,
		    &ev->parent_pidns);
	ev->ns_child_pid = s->ns_child_pid;
	ev->ns_child_tgid = s->ns_child_tgid;
	ev->child_pidns = s->child_pidns;
	cs_fill_phases(ev, s);
}
NOKPROBE_SYMBOL(cs_write_clone);

static void cs_emit_clone(struct cs_slot *s, struct cs_hctx *ctx, long result)
{
	struct clonescope_clone_event *ev = NULL;
	bool aggregating = cs_aggregating();
	struct cs_ring_res res;

	if (cs_recording())
		ev = cs_emit_reserve(CLONESCOPE_RECORD_CLONE, sizeof(*ev), &res);
	if (ev) {
		cs_write_clone(ev, s, ctx->now, result);
		if (aggregating)
			cs_agg_clone(ev);
		cs_emit_commit(&res);
	} else if (aggregating) {
		/*
		 * Not recorded (or dropped), it still counts: built where
		 * no other clone's return on this CPU can be meanwhile.
		 */
		ev = this_cpu_ptr(&cs_agg_scratch);
		cs_write_clone(ev, s, ctx->now, result);
		cs_agg_clone(ev);
	}
	this_cpu_inc(cs_clones);
	if (s->timed)
		this_cpu_inc(cs_timed_clones);
	cs_slot_release(s);
}
NOKPROBE_SYMBOL(cs_emit_clone);

/*
 * The clone syscall current is in, from the syscall number in its saved
 * registers, so no probe on the syscall wrappers is needed.  A kernel
 * thread's clone (kthreadd), or one made inside another syscall (an
 * io_uring worker), is CLONESCOPE_SYSCALL_UNKNOWN.
 */
static nokprobe_inline u32 cs_syscall_of_current(struct pt_regs *uregs)
{
	long nr;

	if (current->flags & PF_KTHREAD)
		return CLONESCOPE_SYSCALL_UNKNOWN;
	nr = syscall_get_nr(current, uregs);
#ifdef CONFIG_IA32_EMULATION
	if (in_ia32_syscall()) {
		switch (nr) {
		case __NR_ia32_clone:
			return CLONESCOPE_SYSCALL_CLONE;
		case __NR_ia32_clone3:
			return CLONESCOPE_SYSCALL_CLONE3;
		case __NR_ia32_fork:
			return CLONESCOPE_SYSCALL_FORK;
		case __NR_ia32_vfork:
			return CLONESCOPE_SYSCALL_VFORK;
		}
		return CLONESCOPE_SYSCALL_UNKNOWN;
	}
#endif
#ifdef __X32_SYSCALL_BIT
	nr &= ~__X32_SYSCALL_BIT;
#endif
	switch (nr) {
	case __NR_clone:
		return CLONESCOPE_SYSCALL_CLONE;
	case __NR_clone3:
		return CLONESCOPE_SYSCALL_CLONE3;
#ifdef __NR_fork
	case __NR_fork:
		return CLONESCOPE_SYSCALL_FORK;
#endif
#ifdef __NR_vfork
	case __NR_vfork:
		return CLONESCOPE_SYSCALL_VFORK;
#endif
	}
	return CLONESCOPE_SYSCALL_UNKNOWN;
}

/*
 * Whether kernel_clone(@args) returns -EINVAL before it calls
 * copy_process(), if it fails with that: CLONE_PIDFD with
 * CLONE_PARENT_SETTID at the same address (5.10 to 7.3), or an exit signal
 * that is no signal (upstream 09e7827e7857 moved that check there from
 * clone3's argument checks: 7.2, 7.3 and stable kernels that took it, not
 * Debian's 5.10.223, 6.1 or 6.12.117, where such a clone() is made).  On a
 * kernel without it, a clone() with such a signal that copy_process()
 * refuses with -EINVAL for another reason is taken as refused before it.
 * Besides these checks kernel_clone() only tests flags before it calls
 * copy_process() (7.2 and 7.3 also turn CLONE_EMPTY_MNTNS into
 * CLONE_NEWNS), so its entry starts copy_process()'s phases and no probe
 * on copy_process() is needed.
 */
static nokprobe_inline bool cs_refusable_before_copy_process(const struct kernel_clone_args *args)
{
	return ((args->flags & CLONE_PIDFD) && (args->flags & CLONE_PARENT_SETTID) &&
		args->pidfd == args->parent_tid) ||
	       !valid_signal(args->exit_signal);
}

static int cs_kernel_clone_entry(struct cs_hctx *ctx)
{
	struct kernel_clone_args *args;
	struct pt_regs *uregs = task_pt_regs(current);
	struct cs_slot *s;

	if (!cs_tracing())
		return 1;
	s = cs_slot_begin(ctx->now);
	if (!s)
		return 1;
	args = (struct kernel_clone_args *)regs_get_kernel_argument(ctx->regs, 0);
	s->clone_flags = args->flags;
	s->exit_signal = args->exit_signal;
	s->set_tid_size = args->set_tid_size;
	s->refusable = cs_refusable_before_copy_process(args);
	s->syscall = cs_syscall_of_current(uregs);
	s->clone3_size = 0;
	if (s->syscall == CLONESCOPE_SYSCALL_CLONE3) {
		unsigned long sargs[6];

		syscall_get_arguments(current, uregs, sargs);
		s->clone3_size = sargs[1];
	}
	/* The return needs no lookup: a slot is only released there. */
	*(struct cs_slot **)ctx->data = s;
	cs_charge_slot(ctx, s);
	return 0;
}
NOKPROBE_SYMBOL(cs_kernel_clone_entry);

static int cs_kernel_clone_return(struct cs_hctx *ctx)
{
	struct cs_slot *s = *(struct cs_slot **)ctx->data;
	long result;

	/*
	 * The entry's slot, unless reset since (a session ended while this
	 * clone was in flight): then it is no longer current's.
	 */
	if (!cs_tracing() || !cs_slot_is_current(s))
		return 0;
	/* Timed with the clone, but after its record's self_cost_ns. */
	cs_charge(ctx, s->timed, NULL);
	cs_lm_set(s, LM_KC_RET, ctx->now);
	result = (int)regs_return_value(ctx->regs);
	/*
	 * task_newtask marks the end of a successful copy_process(); a
	 * failed one returns straight to kernel_clone(), which returns its
	 * error with nothing in between but add_latent_entropy().
	 */
	if (result < 0 && !cs_lm(s, LM_CP_RET) &&
	    !(result == -EINVAL && s->refusable)) {
		s->cp_failed = true;
		cs_lm_set(s, LM_CP_RET, ctx->now);
	}
	cs_emit_clone(s, ctx, result);
	return 0;
}
NOKPROBE_SYMBOL(cs_kernel_clone_return);

/*
 * task_newtask: copy_process() has made the child and is about to return
 * it; the child is not yet woken up, so alive.  Its wake-up (and wake-up
 * latency) starts here.
 */
static int cs_task_newtask(struct cs_hctx *ctx)
{
	struct task_struct *child = CS_TP_ARG(ctx, 0);
	struct cs_slot *s = cs_slot_charged(ctx);

	if (!s)
		return 0;
	cs_lm_set(s, LM_CP_RET, ctx->now);
	/* Its first run reports itself. */
	s->child_pid = child->pid;
	s->child_tgid = child->tgid;
	cs_pidns_of(child, &s->ns_child_pid, &s->ns_child_tgid, &s->child_pidns);
	s->child_idx = cs_key_claim(cs_tab->child_keys, CS_CHILD_BITS,
				    (unsigned long)child);
	if (s->child_idx < 0)
		cs_count_overflow();
	else
		cs_tab->child_wake_ns[s->child_idx] = ctx->now;
	if (child->mm && child->mm != current->mm)
		cs_cow_fork(child, ctx->now);
	cs_lifecycle_fork(child, s->clone_flags, ctx->now);
	return 0;
}
NOKPROBE_SYMBOL(cs_task_newtask);

static void cs_tp_task_newtask(void *data, struct task_struct *task,
			       cs_clone_flags_t clone_flags)
{
	cs_tracepoint_hit_arg(data, task);
}
NOKPROBE_SYMBOL(cs_tp_task_newtask);

/* In wake_up_new_task(), in the parent: the child is on a run queue. */
static void cs_tp_sched_wakeup_new(void *data, struct task_struct *p)
{
	cs_tracepoint_hit(data, NULL);
}
NOKPROBE_SYMBOL(cs_tp_sched_wakeup_new);

static int cs_landmark_entry(struct cs_hctx *ctx)
{
	const struct cs_landmarks *lm = ctx->arg;

	return cs_stamp(ctx, lm->entry) ? 0 : 1;
}
NOKPROBE_SYMBOL(cs_landmark_entry);

static int cs_landmark_return(struct cs_hctx *ctx)
{
	const struct cs_landmarks *lm = ctx->arg;
	struct cs_slot *s = cs_stamp(ctx, lm->ret);

	if (s && (int)regs_return_value(ctx->regs) < 0 &&
	    lm->err_phase != CLONESCOPE_PHASE_NONE &&
	    s->failed_phase == CLONESCOPE_PHASE_NONE)
		s->failed_phase = lm->err_phase;
	return 0;
}
NOKPROBE_SYMBOL(cs_landmark_return);

/* Whether copy_semundo(@flags, ...) allocates current's undo list. */
static nokprobe_inline bool cs_semundo_allocates(unsigned long flags)
{
#ifdef CONFIG_SYSVIPC
	return (flags & CLONE_SYSVSEM) && !current->sysvsem.undo_list;
#else
	return false;	/* no copy_semundo() to probe */
#endif
}

/*
 * A return landmark that the function's entry can stamp when the call is
 * one that cannot fail and takes a few instructions: then the kretprobe's
 * entry handler stamps both of its landmarks and returns 1, so this call
 * takes no return hit; every other call is followed to its return, which
 * stamps the landmark and blames a failure as cs_landmark_return() does.
 */
static int cs_landmark_entry_or_return(struct cs_hctx *ctx, bool trivial)
{
	const struct cs_landmarks *lm = ctx->arg;
	struct cs_slot *s = cs_stamp(ctx, lm->entry);

	if (!s)
		return 1;
	if (!trivial)
		return 0;
	cs_lm_set(s, lm->ret, ctx->now);
	return 1;
}
NOKPROBE_SYMBOL(cs_landmark_entry_or_return);

/*
 * copy_semundo(clone_flags, tsk) without CLONE_SYSVSEM only clears the
 * child's undo list; with it, it shares the parent's list, which it
 * allocates first if the parent has none: only that allocation can take
 * time or fail (ipc/sem.c, the same from 5.10 to 7.3).
 */
static int cs_copy_semundo_entry(struct cs_hctx *ctx)
{
	unsigned long flags = regs_get_kernel_argument(ctx->regs, 0);

	return cs_landmark_entry_or_return(ctx, !cs_semundo_allocates(flags));
}
NOKPROBE_SYMBOL(cs_copy_semundo_entry);

/*
 * copy_namespaces(flags, tsk) asked for no new namespace, while the
 * parent's children get its own time namespace, only takes a reference on
 * the parent's nsproxy and returns 0 (kernel/nsproxy.c, 5.10 to 7.3; 6.12
 * and 7.x take that path for any CLONE_VM clone too: here such a clone is
 * followed to its return, which costs a hit, not accuracy).
 * COPY_NAMESPACES then measures 0.
 */
static int cs_copy_namespaces_entry(struct cs_hctx *ctx)
{
	unsigned long flags = regs_get_kernel_argument(ctx->regs, 0);
	struct task_struct *tsk = (void *)regs_get_kernel_argument(ctx->regs, 1);
	const struct nsproxy *ns = tsk->nsproxy;

	return cs_landmark_entry_or_return(ctx,
		!(flags & CS_CLONE_NEW_NAMESPACES) &&
		ns->time_ns_for_children == ns->time_ns);
}
NOKPROBE_SYMBOL(cs_copy_namespaces_entry);

/*
 * dup_mmap() calls copy_page_range() for every VMA, and it returns at once
 * for most (file mappings never written: the child faults them in).  Every
 * call is counted, but only those that copy get a return probe and are
 * timed: the others' time was the probes' own.
 */
static int cs_copy_page_range_entry(struct cs_hctx *ctx)
{
	struct vm_area_struct *dst = (void *)regs_get_kernel_argument(ctx->regs, 0);
	struct vm_area_struct *src = (void *)regs_get_kernel_argument(ctx->regs, 1);
	struct cs_slot *s = cs_slot_charged(ctx);

	if (!s)
		return 1;
	if (!s->copy_page_range_calls++)
		s->cpr_start = ctx->now;
	if (!cs_vma_needs_copy(dst, src))
		return 1;
	*(u64 *)ctx->data = ctx->now;
	return 0;
}
NOKPROBE_SYMBOL(cs_copy_page_range_entry);

static int cs_copy_page_range_return(struct cs_hctx *ctx)
{
	struct cs_slot *s = cs_slot_charged(ctx);
	u64 start = *(u64 *)ctx->data;

	if (!s)
		return 0;
	s->cpr_total += ctx->now - start;
	return 0;
}
NOKPROBE_SYMBOL(cs_copy_page_range_return);

static int cs_child_start(struct cs_hctx *ctx)
{
	struct clonescope_child_start_event *ev;
	struct cs_ring_res res;
	u64 wake_ns;
	long idx;

	if (!cs_tracing())
		return 0;
	idx = cs_key_find(cs_tab->child_keys, CS_CHILD_BITS, (unsigned long)current);
	if (idx < 0)
		return 0;
	wake_ns = cs_tab->child_wake_ns[idx];
	cs_key_release(cs_tab->child_keys, idx);
	if (cs_aggregating() && ctx->now >= wake_ns)
		cs_agg_wakeup(current->comm, ctx->now - wake_ns);
	if (!cs_recording())
		return 0;
	ev = cs_emit_reserve(CLONESCOPE_RECORD_CHILD_START, sizeof(*ev), &res);
	if (!ev)
		return 0;
	ev->hdr.timestamp_ns = ctx->now;
	ev->pid = current->pid;
	ev->tgid = current->tgid;
	/* A handler runs with preemption off: an RCU read-side section. */
	ev->parent_tgid = rcu_dereference_sched(current->real_parent)->tgid;
	ev->__reserved = 0;
	cs_emit_commit(&res);
	return 0;
}
NOKPROBE_SYMBOL(cs_child_start);

#define CS_LANDMARKS(entry_lm, ret_lm, err_phase_)			\
	(&(const struct cs_landmarks){					\
		.entry = (entry_lm), .ret = (ret_lm), .err_phase = (err_phase_) })

/*
 * In a struct cs_probe: a landmark probe on @syms whose entry runs @entry_
 * and stamps @entry_lm, and whose return (a kretprobe unless @ret_lm is
 * LM_NONE) stamps @ret_lm.
 */
#define CS_LANDMARK(syms, role_, group_, entry_, entry_lm, ret_lm, err_phase) \
	.symbols = (syms), .role = role_, .group = group_,		\
	.entry = (entry_),						\
	.ret = (ret_lm) == LM_NONE ? NULL : cs_landmark_return,	\
	.arg = CS_LANDMARKS(entry_lm, ret_lm, err_phase)

#define CS_LANDMARK_PROBE(sym, role_, group_, entry_lm, ret_lm, err_phase) { \
	CS_LANDMARK(CS_SYMS(sym), role_, group_, cs_landmark_entry,	\
		    entry_lm, ret_lm, err_phase) }

static struct cs_probe cs_probes[] = {
	{
		/* Renamed from _do_fork in 5.10. */
		.symbols = CS_SYMS("kernel_clone", "_do_fork"),
		.role = "clone",
		.group = CLONESCOPE_PROBES_CLONE,
		.entry = cs_kernel_clone_entry,
		.ret = cs_kernel_clone_return,
		.data_size = sizeof(struct cs_slot *),
		.required = true,
	},
	{
		CS_TRACEPOINT("task_newtask", "tracepoint: child made",
			      CLONESCOPE_PROBES_CLONE,
			      cs_tp_task_newtask, cs_task_newtask),
		.required = true,
	},
	CS_LANDMARK_PROBE("copy_creds", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_CREDS_ENTRY, LM_CREDS_RET,
			  CLONESCOPE_PHASE_COPY_CREDS),
#if CS_PERF_EVENTS_FTRACE
	/*
	 * sched_fork() returns into copy_process()'s call of
	 * perf_event_init_task() with nothing in between (kernel/fork.c, 5.10
	 * to 7.3): that entry ends SCHED_FORK, one ftrace hit where a
	 * kretprobe on sched_fork() takes two.  A failed sched_fork() never
	 * gets there, so the last landmark reached, its start, blames it.
	 */
	CS_LANDMARK_PROBE("perf_event_init_task", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_SCHED_FORK_RET, LM_NONE, CLONESCOPE_PHASE_NONE),
#endif
	{
		/* Where perf_event_init_task() is not an ftrace site, or absent. */
		CS_LANDMARK(CS_SYMS("sched_fork"), "phase landmark",
			    CLONESCOPE_PROBES_PHASES, cs_landmark_entry,
			    LM_NONE, LM_SCHED_FORK_RET,
			    CLONESCOPE_PHASE_SCHED_FORK),
		.fallback_for = "perf_event_init_task",
	},
	{
		CS_LANDMARK(CS_SYMS("copy_semundo"), "phase landmark",
			    CLONESCOPE_PROBES_PHASES, cs_copy_semundo_entry,
			    LM_NONE, LM_SEMUNDO_RET,
			    CLONESCOPE_PHASE_TASK_INIT),
	},
	{
		CS_LANDMARK(CS_SYMS("copy_namespaces"), "phase landmark",
			    CLONESCOPE_PROBES_PHASES, cs_copy_namespaces_entry,
			    LM_NS_ENTRY, LM_NS_RET,
			    CLONESCOPE_PHASE_COPY_NAMESPACES),
	},
	CS_LANDMARK_PROBE("copy_thread", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_THREAD_ENTRY, LM_NONE, CLONESCOPE_PHASE_NONE),
	CS_LANDMARK_PROBE("alloc_pid", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_PID_ENTRY, LM_NONE, CLONESCOPE_PHASE_NONE),
	CS_LANDMARK_PROBE("cgroup_can_fork", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_CGCAN_ENTRY, LM_CGCAN_RET,
			  CLONESCOPE_PHASE_CGROUP_CAN_FORK),
	/* Its end is copy_namespaces()'s entry: see cs_other_span[]. */
	CS_LANDMARK_PROBE("dup_mmap", "phase landmark",
			  CLONESCOPE_PROBES_PHASES,
			  LM_DUP_MMAP_ENTRY, LM_NONE, CLONESCOPE_PHASE_NONE),
	{
		.symbols = CS_SYMS("copy_page_range"),
		.role = "page table copy",
		.group = CLONESCOPE_PROBES_PAGE_TABLES,
		.entry = cs_copy_page_range_entry,
		.ret = cs_copy_page_range_return,
		.data_size = sizeof(u64),
	},
	{
		CS_TRACEPOINT("sched_wakeup_new", "tracepoint: child queued",
			      CLONESCOPE_PROBES_CLONE,
			      cs_tp_sched_wakeup_new, cs_landmark_entry),
		.arg = CS_LANDMARKS(LM_WAKE_RET, LM_NONE, CLONESCOPE_PHASE_NONE),
	},
	{
		/* The first thing a new task runs, with its rq lock held. */
		CS_KPROBE(CS_SYMS("schedule_tail"), "child first run",
			  CLONESCOPE_PROBES_CLONE, cs_child_start),
		.feature = CLONESCOPE_FEAT_CHILD_START,
	},
};

static bool cs_probe_live(const struct cs_probe *p, u32 armed)
{
	return p->state == CLONESCOPE_PROBE_REGISTERED && (p->group & armed);
}

/* Only while no handler runs: tracing is off and was waited out. */
static void cs_clone_reset(u32 armed)
{
	unsigned int i;
	int cpu;

	cs_live_landmarks = 0;
	for (i = 0; i < ARRAY_SIZE(cs_probes); i++) {
		const struct cs_landmarks *lm = cs_probes[i].arg;

		if (!lm || !cs_probe_live(&cs_probes[i], armed))
			continue;
		if (lm->entry != LM_NONE)
			cs_live_landmarks |= BIT(lm->entry);
		if (lm->ret != LM_NONE)
			cs_live_landmarks |= BIT(lm->ret);
	}
	/*
	 * copy_process's return is stamped by task_newtask or, failed, by
	 * kernel_clone's return; kernel_clone's, always armed, by its own.
	 */
	cs_live_landmarks |= BIT(LM_CP_RET) | BIT(LM_KC_ENTRY) | BIT(LM_KC_RET);
	cs_live_phases = 0;
	cs_nr_measurable = 0;
	for (i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		const struct cs_span *sp = &cs_phase_span[i];

		if (sp->start == LM_NONE || !(cs_live_landmarks & BIT(sp->start)))
			continue;
		cs_live_phases |= BIT_ULL(i);
		if (sp->end == LM_NONE || !(cs_live_landmarks & BIT(sp->end)))
			continue;
		cs_measurable[cs_nr_measurable++] = (struct cs_measurable){
			.phase = i, .start = sp->start, .end = sp->end,
			.landmarks = BIT(sp->start) | BIT(sp->end),
		};
	}

	memset(cs_tab->slot_keys, 0, sizeof(cs_tab->slot_keys));
	memset(cs_tab->child_keys, 0, sizeof(cs_tab->child_keys));
	for_each_possible_cpu(cpu) {
		per_cpu(cs_clones, cpu) = 0;
		per_cpu(cs_timed_clones, cpu) = 0;
		per_cpu(cs_clones_begun, cpu) = 0;
	}
}

static void cs_clone_stats(struct clonescope_stats *st)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		st->clones += READ_ONCE(per_cpu(cs_clones, cpu));
		st->timed_clones += READ_ONCE(per_cpu(cs_timed_clones, cpu));
	}
}

/* Chains the tiled phases: they tile copy_process() by construction. */
static int cs_spans_init(void)
{
	u8 start = LM_KC_ENTRY;
	unsigned int i;

	for (i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (!(CLONESCOPE_TILED_PHASES & BIT_ULL(i))) {
			cs_phase_span[i] = cs_other_span[i];
			continue;
		}
		cs_phase_span[i].start = start;
		start = cs_tiled_end[i];
		cs_phase_span[i].end = start;
	}
	return WARN_ON(start != LM_CP_RET) ? -EINVAL : 0;
}

struct cs_tracer cs_clone_tracer = {
	.name = "clone",
	/* CLONESCOPE_FEAT_SYSCALL: from the syscall number, see cs_syscall_of_current(). */
	.features = CLONESCOPE_FEAT_KERNEL_CLONE | CLONESCOPE_FEAT_PHASES |
		    CLONESCOPE_FEAT_FILTER | CLONESCOPE_FEAT_SELF_COST |
		    CLONESCOPE_FEAT_NS_PIDS | CLONESCOPE_FEAT_SYSCALL,
	CS_TRACER_PROBES(cs_probes),
	CS_TRACER_TABLES(cs_tab),
	.init = cs_spans_init,
	.reset = cs_clone_reset, .stats = cs_clone_stats,
};
