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
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>
#include <linux/clonescope.h>

#include "compat.h"
#include "keytab.h"
#include "lifecycle.h"
#include "probes.h"
#include "session.h"

#define CS_LIFE_BITS		12
#define CS_NR_LIVES		(1U << CS_LIFE_BITS)

/* Children followed, keyed by task_struct, and what happened to them. */
static unsigned long *cs_life_keys;
static struct clonescope_lifecycle_event *cs_lives;
/* Whether this session follows children, and whether it sees reaps. */
static bool cs_life_armed;
static bool cs_life_reap_armed;
static DEFINE_PER_CPU(u64, cs_life_overflow);

void cs_lifecycle_fork(struct task_struct *child, u64 clone_flags, u64 now)
{
	struct clonescope_lifecycle_event *ev;
	long idx;

	if (!READ_ONCE(cs_life_armed) || !cs_recording())
		return;
	idx = cs_key_claim(cs_life_keys, CS_LIFE_BITS, (unsigned long)child);
	if (idx < 0) {
		this_cpu_inc(cs_life_overflow);
		return;
	}
	/* The child has not run yet: its wake-up publishes this. */
	ev = &cs_lives[idx];
	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = CLONESCOPE_RECORD_LIFECYCLE;
	ev->hdr.size = sizeof(*ev);
	ev->fork_ns = now;
	ev->pid = child->pid;
	ev->tgid = child->tgid;
	ev->parent_tgid = current->tgid;
	if (clone_flags & CLONE_THREAD)
		ev->flags |= CLONESCOPE_LIFE_THREAD;
	strscpy_pad(ev->comm, child->comm, sizeof(ev->comm));
}
NOKPROBE_SYMBOL(cs_lifecycle_fork);

static long cs_life_find(struct task_struct *task)
{
	if (!cs_tracing())
		return -1;
	return cs_key_find(cs_life_keys, CS_LIFE_BITS, (unsigned long)task);
}
NOKPROBE_SYMBOL(cs_life_find);

static void cs_life_emit(long idx, u64 now)
{
	struct clonescope_lifecycle_event *ev = &cs_lives[idx];

	ev->hdr.timestamp_ns = now;
	cs_emit(ev);
	cs_key_release(cs_life_keys, idx);
}
NOKPROBE_SYMBOL(cs_life_emit);

/* sched_process_exec: current's execve() succeeded; comm is the new one. */
static int cs_life_exec(struct cs_hctx *ctx)
{
	struct task_struct *task = CS_TP_ARG(ctx, 0);
	long idx = cs_life_find(task);

	if (idx < 0)
		return 0;
	if (!cs_lives[idx].execs++)
		cs_lives[idx].exec_ns = ctx->now;
	strscpy_pad(cs_lives[idx].comm, task->comm, sizeof(cs_lives[idx].comm));
	return 0;
}
NOKPROBE_SYMBOL(cs_life_exec);

static void cs_tp_sched_process_exec(void *data, struct task_struct *p,
				     pid_t old_pid, struct linux_binprm *bprm)
{
	void *args[] = { p };

	cs_tracepoint_hit(data, args);
}
NOKPROBE_SYMBOL(cs_tp_sched_process_exec);

/*
 * sched_process_exit: do_exit() has set the exit code and released the
 * mm; what is left is the reap.
 */
static int cs_life_exit(struct cs_hctx *ctx)
{
	struct task_struct *task = CS_TP_ARG(ctx, 0);
	long idx = cs_life_find(task);

	if (idx < 0)
		return 0;
	cs_lives[idx].exit_ns = ctx->now;
	cs_lives[idx].exit_code = task->exit_code;
	if (!READ_ONCE(cs_life_reap_armed)) {
		cs_lives[idx].flags |= CLONESCOPE_LIFE_NO_REAP_PROBE;
		cs_life_emit(idx, ctx->now);
	}
	return 0;
}
NOKPROBE_SYMBOL(cs_life_exit);

static void cs_tp_sched_process_exit(void *data,
				     CS_SCHED_PROCESS_EXIT_PROTO(p))
{
	void *args[] = { p };

	cs_tracepoint_hit(data, args);
}
NOKPROBE_SYMBOL(cs_tp_sched_process_exit);

/* release_task(p): the zombie is reaped, by current. */
static int cs_life_reap(struct cs_hctx *ctx)
{
	struct task_struct *task = (void *)regs_get_kernel_argument(ctx->regs, 0);
	long idx = cs_life_find(task);

	if (idx < 0)
		return 0;
	cs_lives[idx].reap_ns = ctx->now;
	cs_lives[idx].reaper_pid = current->pid;
	/* A group exit's code is the group's, as wait reports it. */
	cs_lives[idx].exit_code = task->exit_code;
	cs_life_emit(idx, ctx->now);
	return 0;
}
NOKPROBE_SYMBOL(cs_life_reap);

/* The reap is only seen when the child's exec and exit are. */
static struct cs_probe cs_life_probes[] = {
	{
		.symbols = CS_SYMS("sched_process_exec"),
		.role = "tracepoint: child exec",
		.group = CLONESCOPE_PROBES_LIFECYCLE,
		.tracepoint_probe = cs_tp_sched_process_exec,
		.entry = cs_life_exec,
		.feature = CLONESCOPE_FEAT_LIFECYCLE | CLONESCOPE_FEAT_LIFECYCLE_REAP,
	},
	{
		.symbols = CS_SYMS("sched_process_exit"),
		.role = "tracepoint: child exit",
		.group = CLONESCOPE_PROBES_LIFECYCLE,
		.tracepoint_probe = cs_tp_sched_process_exit,
		.entry = cs_life_exit,
		.feature = CLONESCOPE_FEAT_LIFECYCLE | CLONESCOPE_FEAT_LIFECYCLE_REAP,
	},
	{
		.symbols = CS_SYMS("release_task"),
		.role = "child reaped",
		.group = CLONESCOPE_PROBES_LIFECYCLE,
		.entry = cs_life_reap,
		.feature = CLONESCOPE_FEAT_LIFECYCLE_REAP,
	},
};

/* Only while no handler runs: tracing is off and was waited out. */
static void cs_lifecycle_reset(u32 armed)
{
	u64 features = cs_probes_table_features(cs_life_probes, ARRAY_SIZE(cs_life_probes));
	int cpu;

	memset(cs_life_keys, 0, CS_NR_LIVES * sizeof(*cs_life_keys));
	for_each_possible_cpu(cpu)
		per_cpu(cs_life_overflow, cpu) = 0;
	WRITE_ONCE(cs_life_armed, (armed & CLONESCOPE_PROBES_LIFECYCLE) &&
		   (features & CLONESCOPE_FEAT_LIFECYCLE));
	WRITE_ONCE(cs_life_reap_armed, !!(features & CLONESCOPE_FEAT_LIFECYCLE_REAP));
}

static void cs_lifecycle_flush(void)
{
	unsigned int i;
	u64 now = ktime_get_ns();

	for (i = 0; i < CS_NR_LIVES; i++) {
		if (!READ_ONCE(cs_life_keys[i]))
			continue;
		cs_lives[i].flags |= CLONESCOPE_LIFE_UNFINISHED;
		cs_life_emit(i, now);
	}
}

static void cs_lifecycle_stats(struct clonescope_stats *st)
{
	int cpu;

	for_each_possible_cpu(cpu)
		st->inflight_overflow += READ_ONCE(per_cpu(cs_life_overflow, cpu));
}

static int cs_lifecycle_init(void)
{
	int err;

	cs_life_keys = vzalloc(CS_NR_LIVES * sizeof(*cs_life_keys));
	cs_lives = vzalloc(CS_NR_LIVES * sizeof(*cs_lives));
	if (!cs_life_keys || !cs_lives) {
		err = -ENOMEM;
		goto err_free;
	}
	err = cs_probes_register(cs_life_probes, ARRAY_SIZE(cs_life_probes));
	if (err)
		goto err_free;
	return 0;

err_free:
	vfree(cs_lives);
	vfree(cs_life_keys);
	return err;
}

static void cs_lifecycle_exit(void)
{
	/* Then no handler can run. */
	cs_probes_unregister(cs_life_probes);
	vfree(cs_lives);
	vfree(cs_life_keys);
}

struct cs_tracer cs_lifecycle_tracer = {
	.name = "lifecycle",
	.init = cs_lifecycle_init,
	.exit = cs_lifecycle_exit,
	.reset = cs_lifecycle_reset,
	.flush = cs_lifecycle_flush,
	.stats = cs_lifecycle_stats,
};
