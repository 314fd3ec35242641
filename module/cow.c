// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write cost of each fork.
 *
 * After a fork (a clone without CLONE_VM) the child's and the parent's
 * anonymous pages are shared read-only, and whichever writes first pays
 * for a copy.  From the fork until the child's memory image goes away
 * (exec or exit: exit_mmap()), the child's mm is watched as the child of
 * that fork and the parent's mm as its parent, and write-protect faults in
 * a watched mm are counted for the fork.  An mm is only compared as a key,
 * never dereferenced after the fork.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/kprobes.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>
#include <linux/clonescope.h>

#include "agg.h"
#include "compat.h"
#include "cow.h"
#include "keytab.h"
#include "probes.h"
#include "session.h"

/* Indexes of the u64 fields of struct clonescope_cow_counts, in order. */
enum cs_cow_count {
	CS_COW_COPIED,
	CS_COW_REUSED,
	CS_COW_ZERO_COPIED,
	CS_COW_COPY_NS,
	CS_COW_THP_FAULTS,
	CS_COW_THP_FALLBACK,
	CS_COW_HUGETLB_FAULTS,
	CS_COW_HUGETLB_COPIED,
	CS_COW_HUGETLB_BYTES,
	CS_NR_COW_COUNTS,
};
static_assert(sizeof(struct clonescope_cow_counts) ==
	      CS_NR_COW_COUNTS * sizeof(u64));

enum cs_cow_role {
	CS_ROLE_CHILD,
	CS_ROLE_PARENT,
	CS_NR_ROLES,
};

struct cs_cow {
	atomic64_t counts[CS_NR_ROLES][CS_NR_COW_COUNTS];
	unsigned long parent_mm;	/* key of the parent's mm */
	long parent_place;		/* in cs_parent_mms, or -1 */
	char comm[TASK_COMM_LEN];	/* the parent's, for the aggregates */
	struct clonescope_cow_event ev;
};

#define CS_COW_BITS		10
#define CS_NR_COWS		(1U << CS_COW_BITS)

/* Watched child mms; a child's fork is cs_cows[] at the same index. */
static unsigned long *cs_child_mms;
static struct cs_cow *cs_cows;
/*
 * The generation of each cs_cows[] entry: odd while its fork is live, made
 * even when its window ends, and not cleared when the entry is reused, so
 * that a tag (cs_fork_tag(): generation and index) names one fork.
 */
static unsigned long *cs_cow_gens;
/*
 * Watched parent mms; for each place, the tag of the parent's latest live
 * fork (or CS_NO_FORK) and how many live forks hold the place.
 */
static unsigned long *cs_parent_mms;
static unsigned long *cs_parent_fork;
static atomic_t *cs_parent_live;
#define CS_NO_FORK		0UL	/* no tag: generations are odd */
/* Bounds the retries of the lock-free steps below. */
#define CS_PARENT_TRIES		4
/*
 * How many watched mms hash to each slot, children in the low half and
 * parents in the high half (each table holds fewer than 2^16): the fault
 * handlers' first test, one read, so that a fault in an mm nobody watches
 * costs one lookup and no clock read, and a table that cannot hold the mm
 * is not searched.  Kept with the keys, by cs_watch_claim() and
 * cs_watch_release().
 */
#define CS_WATCH_BITS		12
#define CS_WATCH_CHILD		1U
#define CS_WATCH_PARENT		(1U << 16)
static_assert(CS_NR_COWS < CS_WATCH_PARENT);
static atomic_t *cs_watch_counts;
/* Whether this session counts COW: its probes armed, and able to end. */
static bool cs_cow_on;

/*
 * Where a fault in a watched mm is counted: the mm's places as a child (its
 * fork) and as a parent, looked up once per fault.  A fork whose child
 * faults stays: exit_mmap() cannot run while a fault holds the mm.
 */
struct cs_cow_places {
	long child;
	long parent;
};

/* What a wp_page_copy() call copies, judged at its entry. */
enum cs_copy_kind {
	CS_COPY_ANON = 1,
	CS_COPY_ZERO,
};

struct cs_fault_data {
	struct mm_struct *mm;
	struct cs_cow_places at;	/* where its mm's faults are counted */
	u64 start;
	enum cs_copy_kind kind;
	/* do_wp_page fallbacks: what the probes inside the call saw. */
	long wp_idx;		/* its place in cs_wp_tasks */
	bool reused;		/* wp_page_reuse ran */
	bool copy_called;	/* the copy path ran: wp_page_copy, an allocation */
};

/*
 * The do_wp_page() calls in flight, keyed by the faulting task (one fault
 * at a time), so the probes inside one (wp_page_reuse, wp_page_copy, the
 * new page's allocation) find its data.  Not a per-CPU slot: the task can
 * be preempted in between (on PREEMPT_RT the page table lock leaves
 * preemption on) and, once the lock is dropped, migrate.
 */
#define CS_WP_BITS		8
static unsigned long *cs_wp_tasks;
static struct cs_fault_data **cs_wp_data;
/* How many of them: the allocation probe's test, as cs_watch_counts. */
static atomic_t cs_wp_in_flight;

/* Which outcome of do_wp_page() its probe decides: what is inlined. */
static bool cs_wp_copy_inlined;
static bool cs_wp_reuse_inlined;

static atomic_t *cs_watch_count(unsigned long mm)
{
	return &cs_watch_counts[hash_long(mm, CS_WATCH_BITS)];
}
NOKPROBE_SYMBOL(cs_watch_count);

/*
 * Claims a place for @mm in @keys: cs_child_mms (@unit CS_WATCH_CHILD) or
 * cs_parent_mms (CS_WATCH_PARENT).
 */
static long cs_watch_claim(unsigned long *keys, unsigned int unit,
			   unsigned long mm)
{
	atomic_t *count = cs_watch_count(mm);
	long i;

	/* Counted before the key shows (cmpxchg orders it). */
	atomic_add(unit, count);
	i = cs_key_claim(keys, CS_COW_BITS, mm);
	if (i < 0)
		atomic_sub(unit, count);
	return i;
}
NOKPROBE_SYMBOL(cs_watch_claim);

/* Only the one who clears the key uncounts it, even in a race. */
static void cs_watch_release(unsigned long *keys, unsigned int unit, long i)
{
	unsigned long mm = READ_ONCE(keys[i]);

	if (mm && cmpxchg(&keys[i], mm, 0) == mm)
		atomic_sub(unit, cs_watch_count(mm));
}
NOKPROBE_SYMBOL(cs_watch_release);

/* @mm's place in @keys, searched only if @counts (its slot's) allow one. */
static long cs_watch_find(const unsigned long *keys, unsigned int unit,
			  unsigned int counts, unsigned long mm)
{
	if (!(counts & (unit * 0xffffU)))
		return -1;
	return cs_key_find(keys, CS_COW_BITS, mm);
}
NOKPROBE_SYMBOL(cs_watch_find);

/* False: @mm is not watched.  True: it may be (cs_cow_find() tells). */
static bool cs_mm_maybe_watched(struct mm_struct *mm)
{
	return cs_tracing() && mm &&
	       atomic_read(cs_watch_count((unsigned long)mm));
}
NOKPROBE_SYMBOL(cs_mm_maybe_watched);

static unsigned long cs_fork_tag(long i, unsigned long gen)
{
	return gen << CS_COW_BITS | i;
}
NOKPROBE_SYMBOL(cs_fork_tag);

static long cs_tag_index(unsigned long tag)
{
	return tag & (CS_NR_COWS - 1);
}
NOKPROBE_SYMBOL(cs_tag_index);

/* Whether the fork @tag names is still live. */
static bool cs_tag_live(unsigned long tag)
{
	return READ_ONCE(cs_cow_gens[cs_tag_index(tag)]) == tag >> CS_COW_BITS;
}
NOKPROBE_SYMBOL(cs_tag_live);

/* Finds @mm's places; false if it has none. */
static bool cs_cow_find(struct mm_struct *mm, struct cs_cow_places *at)
{
	unsigned long key = (unsigned long)mm;
	unsigned int counts = atomic_read(cs_watch_count(key));

	at->child = cs_watch_find(cs_child_mms, CS_WATCH_CHILD, counts, key);
	at->parent = cs_watch_find(cs_parent_mms, CS_WATCH_PARENT, counts, key);
	return at->child >= 0 || at->parent >= 0;
}
NOKPROBE_SYMBOL(cs_cow_find);

static void cs_cow_add(struct mm_struct *mm, const struct cs_cow_places *at,
		       enum cs_cow_count what, u64 n)
{
	unsigned long fork;

	if (at->child >= 0)
		atomic64_add(n, &cs_cows[at->child].counts[CS_ROLE_CHILD][what]);
	if (at->parent < 0)
		return;
	/*
	 * The parent's latest fork now.  Its place may have been freed and
	 * taken by another mm since the lookup: the key, read after the tag,
	 * says whether the tag is @mm's (its owner writes the key first).
	 */
	fork = READ_ONCE(cs_parent_fork[at->parent]);
	smp_rmb();	/* the tag before the key */
	if (fork != CS_NO_FORK &&
	    READ_ONCE(cs_parent_mms[at->parent]) == (unsigned long)mm)
		atomic64_add(n, &cs_cows[cs_tag_index(fork)].counts[CS_ROLE_PARENT][what]);
}
NOKPROBE_SYMBOL(cs_cow_add);

static void cs_cow_count(struct mm_struct *mm, enum cs_cow_count what, u64 n)
{
	struct cs_cow_places at;

	if (cs_cow_find(mm, &at))
		cs_cow_add(mm, &at, what, n);
}
NOKPROBE_SYMBOL(cs_cow_count);

/* The mm of a fault handler's struct vm_fault, its first argument. */
static struct mm_struct *cs_fault_mm(struct pt_regs *regs)
{
	struct vm_fault *vmf = (void *)regs_get_kernel_argument(regs, 0);

	return vmf->vma->vm_mm;
}
NOKPROBE_SYMBOL(cs_fault_mm);

/* The probes' cs_probe.wanted: the faults of a watched mm. */
static bool cs_fault_wanted(struct pt_regs *regs)
{
	return cs_mm_maybe_watched(cs_fault_mm(regs));
}
NOKPROBE_SYMBOL(cs_fault_wanted);

/*
 * The parent's side, lock-free.  A parent's place in cs_parent_mms is held
 * by its live forks, counted in cs_parent_live: a fork joins the place (the
 * first one claims the key; later ones atomic_inc_not_zero(), then check
 * that the key is still their mm's, and put back a place freed and taken by
 * another mm in between), and the fork whose end drops the count to zero
 * releases it.  So the end of a parent's only live fork touches no other
 * fork; only when the ending fork is the parent's latest and others are
 * live does it scan cs_cows[] for the next latest.  The latest is a tag,
 * so that a cmpxchg never takes a later fork in the same entry for it.
 *
 * - Fork J while fork I ends: J takes its count before it writes its tag,
 *   I moves the parent on only by cmpxchg from its own tag and drops its
 *   count after: J, the latest, ends up the parent's in either order, and
 *   the place is not released under it.
 * - I ends and moves the parent on to K while K ends: K makes its
 *   generation even, then (smp_mb()) reads the parent's latest; I, after
 *   the cmpxchg (a full barrier) that made K the latest, reads K's
 *   generation.  At least one of the two sees the other's store, and
 *   whichever does moves on from K; if both do, one cmpxchg fails.
 * - A place just claimed counts zero until its claimer's increment, and
 *   one whose count reached zero is being released: a joiner retries, at
 *   most CS_PARENT_TRIES times (then the fork is an overflow and the
 *   parent's faults are not charged to it).
 * - The parent's mm goes (exit_mmap): no fork of it can come any more; its
 *   forks stop matching scans and its latest is cleared, by cmpxchg after
 *   reading the key, so a place freed and retaken meanwhile is left alone.
 *   The place is released by its last fork's end, as always.
 * Two threads of one mm forking at once may both claim a place: faults go
 * to the first place's latest fork until that place is released.
 */

/* Drops a live fork's hold on the parent place @p: the last one frees it. */
static void cs_cow_parent_put(long p)
{
	if (!atomic_dec_and_test(&cs_parent_live[p]))
		return;
	WRITE_ONCE(cs_parent_fork[p], CS_NO_FORK);
	cs_watch_release(cs_parent_mms, CS_WATCH_PARENT, p);
}
NOKPROBE_SYMBOL(cs_cow_parent_put);

/* Makes fork @tag of the parent @mm its latest: returns its place, or -1. */
static long cs_cow_parent_join(unsigned long mm, unsigned long tag)
{
	unsigned int tries;
	long p;

	for (tries = 0; tries < CS_PARENT_TRIES; tries++) {
		p = cs_watch_find(cs_parent_mms, CS_WATCH_PARENT,
				  atomic_read(cs_watch_count(mm)), mm);
		if (p < 0) {
			p = cs_watch_claim(cs_parent_mms, CS_WATCH_PARENT, mm);
			if (p < 0)
				break;
			atomic_inc(&cs_parent_live[p]);
		} else if (!atomic_inc_not_zero(&cs_parent_live[p])) {
			continue;	/* being claimed or released */
		} else if (READ_ONCE(cs_parent_mms[p]) != mm) {
			cs_cow_parent_put(p);
			continue;
		}
		WRITE_ONCE(cs_parent_fork[p], tag);
		return p;
	}
	cs_count_overflow();
	return -1;
}
NOKPROBE_SYMBOL(cs_cow_parent_join);

void cs_cow_fork(struct task_struct *child, u64 now)
{
	struct mm_struct *mm = current->mm;
	struct clonescope_cow_event *ev;
	unsigned long gen;
	struct cs_cow *c;
	long i;

	if (!READ_ONCE(cs_cow_on) || !mm || !child->mm)
		return;
	i = cs_watch_claim(cs_child_mms, CS_WATCH_CHILD, (unsigned long)child->mm);
	if (i < 0) {
		cs_count_overflow();
		return;
	}
	c = &cs_cows[i];
	memset(c, 0, sizeof(*c));
	c->parent_mm = (unsigned long)mm;
	memcpy(c->comm, current->comm, sizeof(c->comm));
	ev = &c->ev;
	ev->hdr.type = CLONESCOPE_RECORD_COW;
	ev->hdr.size = sizeof(*ev);
	ev->fork_ns = now;
	ev->rss_anon_pages = get_mm_counter(mm, MM_ANONPAGES);
	ev->rss_file_pages = get_mm_counter(mm, MM_FILEPAGES);
	ev->map_count = mm->map_count;
	ev->child_pid = child->pid;
	ev->child_tgid = child->tgid;
	ev->parent_pid = current->pid;
	ev->parent_tgid = current->tgid;
	gen = cs_cow_gens[i] + 1;
	/* Live for scans (cs_latest_live_fork()) once its fields are set. */
	smp_store_release(&cs_cow_gens[i], gen);
	/* Before the child ends: it has not run yet. */
	c->parent_place = cs_cow_parent_join(c->parent_mm, cs_fork_tag(i, gen));
}
NOKPROBE_SYMBOL(cs_cow_fork);

/*
 * Entry @i's generation if it is a live fork of @parent_mm, else 0 (a live
 * generation is odd).
 */
static unsigned long cs_live_fork_of(long i, unsigned long parent_mm)
{
	/* Its fields as set before it was made live. */
	unsigned long gen = smp_load_acquire(&cs_cow_gens[i]);

	if (!(gen & 1) || READ_ONCE(cs_cows[i].parent_mm) != parent_mm)
		return 0;
	return gen;
}
NOKPROBE_SYMBOL(cs_live_fork_of);

/* The tag of @parent_mm's latest live fork, or CS_NO_FORK: a scan. */
static unsigned long cs_latest_live_fork(unsigned long parent_mm)
{
	unsigned long gen, latest = CS_NO_FORK;
	u64 latest_ns = 0;
	long i;

	for (i = 0; i < CS_NR_COWS; i++) {
		gen = cs_live_fork_of(i, parent_mm);
		if (!gen)
			continue;
		if (latest == CS_NO_FORK || cs_cows[i].ev.fork_ns > latest_ns) {
			latest = cs_fork_tag(i, gen);
			latest_ns = cs_cows[i].ev.fork_ns;
		}
	}
	return latest;
}
NOKPROBE_SYMBOL(cs_latest_live_fork);

/*
 * Fork @tag, the latest of the parent @parent_mm at place @p, has ended:
 * the parent's faults go to its latest live fork, or to none.  Again if
 * the fork chosen has ended meanwhile.
 */
static void cs_cow_parent_move_on(long p, unsigned long parent_mm,
				  unsigned long tag)
{
	unsigned long next;
	unsigned int tries;

	for (tries = 0; tries < CS_PARENT_TRIES; tries++) {
		next = CS_NO_FORK;
		/* The caller's count alone: no other fork holds the place. */
		if (parent_mm && atomic_read(&cs_parent_live[p]) > 1)
			next = cs_latest_live_fork(parent_mm);
		if (cmpxchg(&cs_parent_fork[p], tag, next) != tag ||
		    next == CS_NO_FORK || cs_tag_live(next))
			return;
		tag = next;
	}
	cs_count_overflow();
}
NOKPROBE_SYMBOL(cs_cow_parent_move_on);

/* Fork @i ends: the parent moves on if it was its latest, and lets go. */
static void cs_cow_parent_leave(struct cs_cow *c, long i)
{
	unsigned long gen = cs_cow_gens[i];
	long p = c->parent_place;

	WRITE_ONCE(cs_cow_gens[i], gen + 1);
	if (p < 0)
		return;
	smp_mb();	/* the generation before the parent's latest */
	if (READ_ONCE(cs_parent_fork[p]) == cs_fork_tag(i, gen))
		cs_cow_parent_move_on(p, READ_ONCE(c->parent_mm),
				      cs_fork_tag(i, gen));
	cs_cow_parent_put(p);
}
NOKPROBE_SYMBOL(cs_cow_parent_leave);

/* Fork @i's window ended at @now, for @reason: its record. */
static void cs_cow_finish(long i, u32 reason, u64 now)
{
	struct cs_cow *c = &cs_cows[i];
	struct clonescope_cow_event *ev = &c->ev;
	u64 *child = (u64 *)&ev->child, *parent = (u64 *)&ev->parent;
	unsigned int n;

	cs_cow_parent_leave(c, i);
	for (n = 0; n < CS_NR_COW_COUNTS; n++) {
		child[n] = atomic64_read(&c->counts[CS_ROLE_CHILD][n]);
		parent[n] = atomic64_read(&c->counts[CS_ROLE_PARENT][n]);
	}
	ev->end_reason = reason;
	ev->hdr.timestamp_ns = now;
	if (cs_aggregating())
		cs_agg_cow(c->comm, ev->child.copied + ev->parent.copied);
	if (cs_recording())
		cs_emit(ev);
	cs_watch_release(cs_child_mms, CS_WATCH_CHILD, i);
}
NOKPROBE_SYMBOL(cs_cow_finish);

/*
 * Whether a write fault on a private mapping of a watched mm may copy a
 * page that the fork shared (or the zero page); fills @d.
 */
static bool cs_wp_fault_begin(struct cs_hctx *ctx, struct cs_fault_data *d)
{
	struct vm_fault *vmf = (void *)regs_get_kernel_argument(ctx->regs, 0);
	unsigned long pfn = pte_pfn(vmf->orig_pte);
	struct page *page;

	/* Shared and raw-PFN mappings are not COW of anonymous memory. */
	if (!cs_tracing() || (vmf->flags & CS_FAULT_FLAG_UNSHARE) ||
	    (vmf->vma->vm_flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP |
				   VM_MIXEDMAP)) ||
	    !cs_cow_find(vmf->vma->vm_mm, &d->at))
		return false;
	page = pfn_valid(pfn) ? pfn_to_page(pfn) : NULL;
	if (is_zero_pfn(pfn))
		d->kind = CS_COPY_ZERO;
	else if (page && cs_page_anon_not_ksm(page))
		d->kind = CS_COPY_ANON;
	else
		return false;	/* file or KSM page: not a cost of the fork */
	d->mm = vmf->vma->vm_mm;
	d->start = ctx->now;
	d->reused = false;
	d->copy_called = false;
	return true;
}
NOKPROBE_SYMBOL(cs_wp_fault_begin);

static void cs_wp_fault_copied(struct cs_hctx *ctx, struct cs_fault_data *d)
{
	if (d->kind == CS_COPY_ZERO) {
		cs_cow_add(d->mm, &d->at, CS_COW_ZERO_COPIED, 1);
		return;
	}
	cs_cow_add(d->mm, &d->at, CS_COW_COPIED, 1);
	cs_cow_add(d->mm, &d->at, CS_COW_COPY_NS, ctx->now - d->start);
}
NOKPROBE_SYMBOL(cs_wp_fault_copied);

/* The do_wp_page() call current is in, if a do_wp_page probe traces it. */
static struct cs_fault_data *cs_wp_outer(void)
{
	long i = cs_key_find(cs_wp_tasks, CS_WP_BITS, (unsigned long)current);

	return i < 0 ? NULL : READ_ONCE(cs_wp_data[i]);
}
NOKPROBE_SYMBOL(cs_wp_outer);

/* Where wp_page_reuse is inlined, do_wp_page learns of a copy this way. */
static void cs_wp_copy_seen(void)
{
	struct cs_fault_data *outer = cs_wp_reuse_inlined ? cs_wp_outer() : NULL;

	if (outer)
		outer->copy_called = true;
}
NOKPROBE_SYMBOL(cs_wp_copy_seen);

static int cs_wp_page_copy_entry(struct cs_hctx *ctx)
{
	if (!cs_wp_fault_begin(ctx, ctx->data))
		return 1;
	cs_wp_copy_seen();
	return 0;
}
NOKPROBE_SYMBOL(cs_wp_page_copy_entry);

static int cs_wp_page_copy_return(struct cs_hctx *ctx)
{
	vm_fault_t ret = (vm_fault_t)regs_return_value(ctx->regs);

	if (cs_tracing() && cs_wp_fault_done(ret))
		cs_wp_fault_copied(ctx, ctx->data);
	return 0;
}
NOKPROBE_SYMBOL(cs_wp_page_copy_return);

/*
 * The copy path allocates the new page (vma_alloc_folio); the reuse path
 * never does.  Probed only where wp_page_reuse is inlined: with
 * wp_page_copy inlined too (6.12 PREEMPT_RT), nothing else tells them
 * apart.
 */
static int cs_wp_alloc(struct cs_hctx *ctx)
{
	if (cs_tracing())
		cs_wp_copy_seen();
	return 0;
}
NOKPROBE_SYMBOL(cs_wp_alloc);

/* Every page allocation passes: only those inside a traced fault matter. */
static bool cs_wp_alloc_wanted(struct pt_regs *regs)
{
	return atomic_read(&cs_wp_in_flight) && cs_tracing();
}
NOKPROBE_SYMBOL(cs_wp_alloc_wanted);

/*
 * do_wp_page() is probed where what it calls is inlined into it (reuse on
 * 5.10, the copy from 6.12 on, both on 6.12 PREEMPT_RT): a write fault on a
 * private anonymous or zero page either reuses the page or copies it, so
 * the call's outcome tells which one the inlined part did when the other
 * part is seen by its own probe.  Measured against wp_page_copy on 6.1 in
 * ../shared/kernel-notes.md: 1590 vs 1589 copies for one workload.
 */
static int cs_do_wp_page_entry(struct cs_hctx *ctx)
{
	struct cs_fault_data *d = ctx->data;

	if (!cs_wp_fault_begin(ctx, d))
		return 1;
	d->wp_idx = cs_key_claim(cs_wp_tasks, CS_WP_BITS, (unsigned long)current);
	if (d->wp_idx < 0) {
		cs_count_overflow();
		return 1;
	}
	WRITE_ONCE(cs_wp_data[d->wp_idx], d);
	atomic_inc(&cs_wp_in_flight);
	return 0;
}
NOKPROBE_SYMBOL(cs_do_wp_page_entry);

static int cs_do_wp_page_return(struct cs_hctx *ctx)
{
	struct cs_fault_data *d = ctx->data;
	bool done = cs_wp_fault_done((vm_fault_t)regs_return_value(ctx->regs));

	bool copied;

	cs_key_release(cs_wp_tasks, d->wp_idx);
	atomic_dec(&cs_wp_in_flight);
	if (!cs_tracing() || !done)
		return 0;
	/* What the probes of the parts not inlined saw. */
	copied = cs_wp_reuse_inlined ? d->copy_called : !d->reused;
	if (copied && cs_wp_copy_inlined)
		cs_wp_fault_copied(ctx, d);
	else if (!copied && cs_wp_reuse_inlined && d->kind == CS_COPY_ANON)
		cs_cow_add(d->mm, &d->at, CS_COW_REUSED, 1);
	return 0;
}
NOKPROBE_SYMBOL(cs_do_wp_page_return);

static int cs_wp_page_reuse(struct cs_hctx *ctx)
{
	struct vm_fault *vmf = (void *)regs_get_kernel_argument(ctx->regs, 0);
	struct cs_fault_data *outer;

	if (!cs_tracing())
		return 0;
	outer = cs_wp_copy_inlined ? cs_wp_outer() : NULL;
	if (outer)
		outer->reused = true;
	/* Shared mappings also get here; only private ones are COW. */
	if (!(vmf->vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		cs_cow_count(vmf->vma->vm_mm, CS_COW_REUSED, 1);
	return 0;
}
NOKPROBE_SYMBOL(cs_wp_page_reuse);

static int cs_thp_wp_entry(struct cs_hctx *ctx)
{
	struct cs_fault_data *d = ctx->data;

	if (!cs_tracing())
		return 1;
	d->mm = cs_fault_mm(ctx->regs);
	return !cs_cow_find(d->mm, &d->at);
}
NOKPROBE_SYMBOL(cs_thp_wp_entry);

static int cs_thp_wp_return(struct cs_hctx *ctx)
{
	struct cs_fault_data *d = ctx->data;
	vm_fault_t ret = (vm_fault_t)regs_return_value(ctx->regs);

	if (!cs_tracing())
		return 0;
	cs_cow_add(d->mm, &d->at, CS_COW_THP_FAULTS, 1);
	if (ret & VM_FAULT_FALLBACK)
		cs_cow_add(d->mm, &d->at, CS_COW_THP_FALLBACK, 1);
	return 0;
}
NOKPROBE_SYMBOL(cs_thp_wp_return);

static int cs_hugetlb_wp(struct cs_hctx *ctx)
{
	struct mm_struct *mm = cs_hugetlb_wp_mm(ctx->regs);

	/* 0 is the free key of the tables: never look it up. */
	if (cs_tracing() && mm)
		cs_cow_count(mm, CS_COW_HUGETLB_FAULTS, 1);
	return 0;
}
NOKPROBE_SYMBOL(cs_hugetlb_wp);

static bool cs_hugetlb_wp_wanted(struct pt_regs *regs)
{
	return cs_mm_maybe_watched(cs_hugetlb_wp_mm(regs));
}
NOKPROBE_SYMBOL(cs_hugetlb_wp_wanted);

static int cs_hugetlb_copy(struct cs_hctx *ctx)
{
	struct mm_struct *mm;
	u64 bytes;

	if (!cs_tracing())
		return 0;
	mm = cs_hugetlb_copy_mm(ctx->regs, &bytes);
	cs_cow_count(mm, CS_COW_HUGETLB_COPIED, 1);
	cs_cow_count(mm, CS_COW_HUGETLB_BYTES, bytes);
	return 0;
}
NOKPROBE_SYMBOL(cs_hugetlb_copy);

static bool cs_hugetlb_copy_wanted(struct pt_regs *regs)
{
	u64 bytes;

	return cs_mm_maybe_watched(cs_hugetlb_copy_mm(regs, &bytes));
}
NOKPROBE_SYMBOL(cs_hugetlb_copy_wanted);

/* Clears place @p's latest fork if the place is still @mm's. */
static void cs_cow_parent_clear(long p, unsigned long mm)
{
	unsigned long fork;
	unsigned int tries;

	for (tries = 0; tries < CS_PARENT_TRIES; tries++) {
		fork = READ_ONCE(cs_parent_fork[p]);
		smp_rmb();	/* a new owner writes the key, then its tag */
		if (fork == CS_NO_FORK || READ_ONCE(cs_parent_mms[p]) != mm ||
		    cmpxchg(&cs_parent_fork[p], fork, CS_NO_FORK) == fork)
			return;
	}
}
NOKPROBE_SYMBOL(cs_cow_parent_clear);

/* A parent that went away: its live forks have no parent left. */
static void cs_cow_parent_gone(unsigned long mm)
{
	long i, p;

	for (i = 0; i < CS_NR_COWS; i++) {
		if (!cs_live_fork_of(i, mm))
			continue;
		WRITE_ONCE(cs_cows[i].parent_mm, 0);
		p = READ_ONCE(cs_cows[i].parent_place);
		if (p >= 0)
			cs_cow_parent_clear(p, mm);
	}
}
NOKPROBE_SYMBOL(cs_cow_parent_gone);

/*
 * exit_mmap() runs in the task that drops the last user of the mm: the
 * child itself when it execs or exits, else (a /proc reader, an async
 * mmput) the window ends as if the child had exited.
 */
static int cs_exit_mmap(struct cs_hctx *ctx)
{
	struct mm_struct *mm = (void *)regs_get_kernel_argument(ctx->regs, 0);
	struct cs_cow_places at;

	if (!cs_tracing() || !cs_cow_find(mm, &at))
		return 0;
	if (at.child >= 0) {
		bool exec = current->in_execve &&
			    current->tgid == cs_cows[at.child].ev.child_tgid;

		cs_cow_finish(at.child, exec ? CLONESCOPE_COW_END_EXEC :
					       CLONESCOPE_COW_END_EXIT, ctx->now);
	}
	if (at.parent >= 0)
		cs_cow_parent_gone((unsigned long)mm);
	return 0;
}
NOKPROBE_SYMBOL(cs_exit_mmap);

static bool cs_exit_mmap_wanted(struct pt_regs *regs)
{
	return cs_mm_maybe_watched((void *)regs_get_kernel_argument(regs, 0));
}
NOKPROBE_SYMBOL(cs_exit_mmap_wanted);

/*
 * A kretprobe whose entry judges a write fault into its struct
 * cs_fault_data, after one look at whether the faulting mm is watched;
 * with @fallback, registered only if that symbol's probe was not.
 */
#define CS_FAULT_PROBE(sym, role_, feature_, entry_, ret_, fallback) {	\
	.symbols = CS_SYMS(sym), .role = role_,				\
	.group = CLONESCOPE_PROBES_COW, .feature = feature_,		\
	.entry = entry_, .ret = ret_, .wanted = cs_fault_wanted,	\
	.data_size = sizeof(struct cs_fault_data), .fallback_for = fallback }

static struct cs_probe cs_cow_probes[] = {
	CS_FAULT_PROBE("wp_page_copy", "COW page copy", CLONESCOPE_FEAT_COW,
		       cs_wp_page_copy_entry, cs_wp_page_copy_return, NULL),
	{
		CS_KPROBE(CS_SYMS("wp_page_reuse"), "COW reuse", CLONESCOPE_PROBES_COW,
			  cs_wp_page_reuse),
		.wanted = cs_fault_wanted,
	},
	/* One handler for both: on a kernel inlining both, one registers. */
	CS_FAULT_PROBE("do_wp_page", "COW (copy inlined)", CLONESCOPE_FEAT_COW,
		       cs_do_wp_page_entry, cs_do_wp_page_return, "wp_page_copy"),
	CS_FAULT_PROBE("do_wp_page", "COW reuse inlined", 0,
		       cs_do_wp_page_entry, cs_do_wp_page_return, "wp_page_reuse"),
	{
		/* _noprof: 6.10's allocation profiling renamed it. */
		CS_KPROBE(CS_SYMS("vma_alloc_folio_noprof", "vma_alloc_folio"),
			  "COW copy (alloc)", CLONESCOPE_PROBES_COW, cs_wp_alloc),
		.wanted = cs_wp_alloc_wanted,
		.fallback_for = "wp_page_reuse",
	},
	CS_FAULT_PROBE("do_huge_pmd_wp_page", "COW on THP", CLONESCOPE_FEAT_COW_THP,
		       cs_thp_wp_entry, cs_thp_wp_return, NULL),
	{
		CS_KPROBE(CS_SYMS("hugetlb_wp", "hugetlb_cow"), "COW on hugetlb",
			  CLONESCOPE_PROBES_COW, cs_hugetlb_wp),
		.feature = CLONESCOPE_FEAT_COW_HUGETLB,
		.wanted = cs_hugetlb_wp_wanted,
	},
	{
		CS_KPROBE(CS_SYMS(CS_HUGETLB_COPY_SYMBOL), "hugetlb page copy",
			  CLONESCOPE_PROBES_COW, cs_hugetlb_copy),
		.feature = CLONESCOPE_FEAT_COW_HUGETLB,
		.wanted = cs_hugetlb_copy_wanted,
	},
	{
		CS_KPROBE(CS_SYMS("exit_mmap"), "end of COW window",
			  CLONESCOPE_PROBES_COW, cs_exit_mmap),
		/* Without it no window would ever end. */
		.feature = CLONESCOPE_FEAT_COW,
		.wanted = cs_exit_mmap_wanted,
	},
};

static void cs_cow_reset(u32 armed)
{
	memset(cs_child_mms, 0, CS_NR_COWS * sizeof(*cs_child_mms));
	memset(cs_cow_gens, 0, CS_NR_COWS * sizeof(*cs_cow_gens));
	memset(cs_parent_mms, 0, CS_NR_COWS * sizeof(*cs_parent_mms));
	memset(cs_parent_fork, 0, CS_NR_COWS * sizeof(*cs_parent_fork));
	memset(cs_parent_live, 0, CS_NR_COWS * sizeof(*cs_parent_live));
	memset(cs_wp_tasks, 0, (1U << CS_WP_BITS) * sizeof(*cs_wp_tasks));
	atomic_set(&cs_wp_in_flight, 0);
	memset(cs_watch_counts, 0, (1U << CS_WATCH_BITS) * sizeof(*cs_watch_counts));
	cs_wp_copy_inlined = !cs_probe_registered("wp_page_copy");
	cs_wp_reuse_inlined = !cs_probe_registered("wp_page_reuse");
	cs_cow_on = (armed & CLONESCOPE_PROBES_COW) &&
		    (cs_probes_table_features(cs_cow_probes, ARRAY_SIZE(cs_cow_probes)) &
		     CLONESCOPE_FEAT_COW);
}

static void cs_cow_flush(void)
{
	unsigned int i;

	for (i = 0; i < CS_NR_COWS; i++)
		if (cs_child_mms[i])
			cs_cow_finish(i, CLONESCOPE_COW_END_STOP, ktime_get_ns());
}

/* vfree() of NULL does nothing: also undoes a partial cs_cow_init(). */
static void cs_cow_exit(void)
{
	vfree(cs_watch_counts);
	vfree(cs_wp_data);
	vfree(cs_wp_tasks);
	vfree(cs_parent_live);
	vfree(cs_parent_fork);
	vfree(cs_parent_mms);
	vfree(cs_cow_gens);
	vfree(cs_cows);
	vfree(cs_child_mms);
}

static int cs_cow_init(void)
{
	cs_child_mms = vzalloc(CS_NR_COWS * sizeof(*cs_child_mms));
	cs_cows = vzalloc(CS_NR_COWS * sizeof(*cs_cows));
	cs_cow_gens = vzalloc(CS_NR_COWS * sizeof(*cs_cow_gens));
	cs_parent_mms = vzalloc(CS_NR_COWS * sizeof(*cs_parent_mms));
	cs_parent_fork = vzalloc(CS_NR_COWS * sizeof(*cs_parent_fork));
	cs_parent_live = vzalloc(CS_NR_COWS * sizeof(*cs_parent_live));
	cs_wp_tasks = vzalloc((1U << CS_WP_BITS) * sizeof(*cs_wp_tasks));
	cs_wp_data = vzalloc((1U << CS_WP_BITS) * sizeof(*cs_wp_data));
	cs_watch_counts = vzalloc((1U << CS_WATCH_BITS) * sizeof(*cs_watch_counts));
	if (cs_child_mms && cs_cows && cs_cow_gens && cs_parent_mms &&
	    cs_parent_fork && cs_parent_live && cs_wp_tasks && cs_wp_data && cs_watch_counts)
		return 0;
	cs_cow_exit();
	return -ENOMEM;
}

struct cs_tracer cs_cow_tracer = {
	.name = "COW",
	CS_TRACER_PROBES(cs_cow_probes),
	.init = cs_cow_init, .exit = cs_cow_exit,
	.reset = cs_cow_reset, .flush = cs_cow_flush,
};
