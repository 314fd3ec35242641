// SPDX-License-Identifier: GPL-2.0
/*
 * The process lifecycle after a traced clone, as forkstat and perf sched
 * show it, for the children clonescope traced: the clone tracer hands
 * each new child over at task_newtask, and the kernel's tracepoints
 * sched_process_exec and sched_process_exit stamp its exec and exit in a
 * slot keyed by its task_struct.  The reap is release_task(), called by
 * the parent's wait for a zombie and by the exiting task itself when
 * nobody waits (a thread, a child of a parent that ignores SIGCHLD):
 * there is no tracepoint there (sched_process_free fires an RCU grace
 * period later, sched_process_wait when a wait starts, not when it reaps),
 * so it is a kprobe.  The record is written at the reap, when the slot
 * is released and the task_struct may be freed.
 *
 * Each hook runs in the task it stamps (exec, exit) or holds a reference
 * on it (release_task()'s caller): a slot is only touched by the one task
 * it follows until release_task() ends it.  No locks, no sleeping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/binfmts.h>
#include <linux/kprobes.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/clonescope.h>

#include "compat.h"
#include "keytab.h"
#include "lifecycle.h"
#include "probes.h"
#include "session.h"

#define CS_LIFE_BITS		12
#define CS_NR_LIVES		(1U << CS_LIFE_BITS)

/* Children followed, keyed by task_struct, and what happened to them. */
static struct {
	unsigned long keys[CS_NR_LIVES];
	struct clonescope_lifecycle_event lives[CS_NR_LIVES];
} *cs_life_tab;
/* Whether this session follows children, and whether it sees reaps. */
static bool cs_life_armed;
static bool cs_life_reap_armed;

void cs_lifecycle_fork(struct task_struct *child, u64 clone_flags, u64 now)
{
	struct clonescope_lifecycle_event *ev;
	long idx;

	if (!READ_ONCE(cs_life_armed) || !cs_recording())
		return;
	idx = cs_key_claim(cs_life_tab->keys, CS_LIFE_BITS, (unsigned long)child);
	if (idx < 0) {
		cs_count_overflow();
		return;
	}
	/* The child has not run yet: its wake-up publishes this. */
	ev = &cs_life_tab->lives[idx];
	cs_record_init(ev, CLONESCOPE_RECORD_LIFECYCLE);
	ev->fork_ns = now;
	ev->pid = child->pid;
	ev->tgid = child->tgid;
	ev->parent_tgid = current->tgid;
	if (clone_flags & CLONE_THREAD)
		ev->flags |= CLONESCOPE_LIFE_THREAD;
	strscpy_pad(ev->comm, child->comm, sizeof(ev->comm));
}
NOKPROBE_SYMBOL(cs_lifecycle_fork);

/* The record of @task if it is followed (tracing on), else NULL. */
static struct clonescope_lifecycle_event *cs_life_of(struct task_struct *task)
{
	if (!cs_tracing())
		return NULL;
	return cs_key_value(cs_life_tab->keys, CS_LIFE_BITS, cs_life_tab->lives, task);
}
NOKPROBE_SYMBOL(cs_life_of);

/* Writes @ev at @now and stops following its task. */
static void cs_life_emit(struct clonescope_lifecycle_event *ev, u64 now)
{
	ev->hdr.timestamp_ns = now;
	cs_emit(ev);
	cs_key_release(cs_life_tab->keys, ev - cs_life_tab->lives);
}
NOKPROBE_SYMBOL(cs_life_emit);

/* sched_process_exec: current's execve() succeeded; comm is the new one. */
static int cs_life_exec(struct cs_hctx *ctx)
{
	/* The tracepoint's task is current: exec_binprm() passes it. */
	struct clonescope_lifecycle_event *ev = cs_life_of(current);

	if (!ev)
		return 0;
	if (!ev->execs++)
		ev->exec_ns = ctx->now;
	strscpy_pad(ev->comm, current->comm, sizeof(ev->comm));
	return 0;
}
NOKPROBE_SYMBOL(cs_life_exec);

static void cs_tp_sched_process_exec(void *data, struct task_struct *p,
				     pid_t old_pid, struct linux_binprm *bprm)
{
	cs_tracepoint_hit_arg(data, p);
}
NOKPROBE_SYMBOL(cs_tp_sched_process_exec);

/*
 * sched_process_exit: do_exit() has set the exit code and released the
 * mm; what is left is the reap.
 */
static int cs_life_exit(struct cs_hctx *ctx)
{
	struct task_struct *task = CS_TP_ARG(ctx, 0);
	struct clonescope_lifecycle_event *ev = cs_life_of(task);

	if (ev) {
		ev->exit_ns = ctx->now;
		ev->exit_code = task->exit_code;
		if (!READ_ONCE(cs_life_reap_armed)) {
			ev->flags |= CLONESCOPE_LIFE_NO_REAP_PROBE;
			cs_life_emit(ev, ctx->now);
		}
	}
	return 0;
}
NOKPROBE_SYMBOL(cs_life_exit);

static void cs_tp_sched_process_exit(void *data,
				     CS_SCHED_PROCESS_EXIT_PROTO(p))
{
	cs_tracepoint_hit_arg(data, p);
}
NOKPROBE_SYMBOL(cs_tp_sched_process_exit);

/* release_task(p): the zombie is reaped, by current. */
static int cs_life_reap(struct cs_hctx *ctx)
{
	struct task_struct *task = (void *)regs_get_kernel_argument(ctx->regs, 0);
	struct clonescope_lifecycle_event *ev = cs_life_of(task);

	if (!ev)
		return 0;
	ev->reap_ns = ctx->now;
	ev->reaper_pid = current->pid;
	/* A group exit's code is the group's, as wait reports it. */
	ev->exit_code = task->exit_code;
	cs_life_emit(ev, ctx->now);
	return 0;
}
NOKPROBE_SYMBOL(cs_life_reap);

/* The reap is only seen when the child's exec and exit are. */
static struct cs_probe cs_life_probes[] = {
	{
		CS_TRACEPOINT("sched_process_exec", "tracepoint: child exec",
			      CLONESCOPE_PROBES_LIFECYCLE,
			      cs_tp_sched_process_exec, cs_life_exec),
		.feature = CLONESCOPE_FEAT_LIFECYCLE | CLONESCOPE_FEAT_LIFECYCLE_REAP,
	},
	{
		CS_TRACEPOINT("sched_process_exit", "tracepoint: child exit",
			      CLONESCOPE_PROBES_LIFECYCLE,
			      cs_tp_sched_process_exit, cs_life_exit),
		.feature = CLONESCOPE_FEAT_LIFECYCLE | CLONESCOPE_FEAT_LIFECYCLE_REAP,
	},
	{
		CS_KPROBE(CS_SYMS("release_task"), "child reaped",
			  CLONESCOPE_PROBES_LIFECYCLE, cs_life_reap),
		.feature = CLONESCOPE_FEAT_LIFECYCLE_REAP,
	},
};

/* Only while no handler runs: tracing is off and was waited out. */
static void cs_lifecycle_reset(u32 armed)
{
	u64 features = cs_probes_table_features(cs_life_probes, ARRAY_SIZE(cs_life_probes));

	memset(cs_life_tab->keys, 0, sizeof(cs_life_tab->keys));
	WRITE_ONCE(cs_life_armed, (armed & CLONESCOPE_PROBES_LIFECYCLE) &&
		   (features & CLONESCOPE_FEAT_LIFECYCLE));
	WRITE_ONCE(cs_life_reap_armed, !!(features & CLONESCOPE_FEAT_LIFECYCLE_REAP));
}

static void cs_lifecycle_flush(void)
{
	unsigned int i;
	u64 now = ktime_get_ns();

	for (i = 0; i < CS_NR_LIVES; i++) {
		if (!READ_ONCE(cs_life_tab->keys[i]))
			continue;
		cs_life_tab->lives[i].flags |= CLONESCOPE_LIFE_UNFINISHED;
		cs_life_emit(&cs_life_tab->lives[i], now);
	}
}

struct cs_tracer cs_lifecycle_tracer = {
	.name = "lifecycle",
	CS_TRACER_PROBES(cs_life_probes),
	CS_TRACER_TABLES(cs_life_tab),
	.reset = cs_lifecycle_reset, .flush = cs_lifecycle_flush,
};
