// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU record buffers: see ring.h.
 *
 * Each CPU has a byte array of a power-of-two size with free-running head
 * (producer) and tail (consumer) offsets.  The producer publishes a record
 * with a release store of head after writing it; the reader frees space
 * with a release store of tail after copying records out.  A record never
 * wraps: when it does not fit before the end, the rest of the array is
 * skipped with a padding marker.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/irq_work.h>
#include <linux/kprobes.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/timer.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/clonescope.h>

#include "compat.h"
#include "ring.h"

/* Record type 0 marks the unused end of the array before a wrap. */
#define CS_RECORD_PAD	0

struct cs_cpu_buf {
	char *data;
	unsigned long head;
	unsigned long tail;
	atomic_long_t lost_pending;	/* drops not yet reported in-stream */
	u64 produced;			/* written by this CPU's producer */
	u64 dropped;			/* written by this CPU's producer */
	u64 delivered;			/* written by the reader */
};

struct cs_ring {
	struct cs_cpu_buf __percpu *bufs;
	unsigned long size;
	unsigned int pages_per_cpu;
	unsigned int next_cpu;		/* where the reader starts, for fairness */
	bool wakeup_armed;		/* a reader waits for records */
	unsigned int wakeup_ms;		/* 0: wake at the first record */
	wait_queue_head_t *readers;
	struct irq_work wakeup;		/* a writer passed the watermark */
	/*
	 * The periodic look while one waits: a timer, so the look and the
	 * wakeup run in softirq, not in a kworker that costs a context
	 * switch of its own every tick.
	 */
	struct timer_list tick;
};

static void cs_ring_wakeup(struct irq_work *work)
{
	struct cs_ring *ring = container_of(work, struct cs_ring, wakeup);

	wake_up_interruptible(ring->readers);
}

/*
 * While a reader waits, every wakeup_ms: wake it if records wait, else
 * look again later.  A reader that stopped waiting (a signal, poll()'s
 * timeout) is not woken and ends the ticks.
 */
static void cs_ring_tick(struct timer_list *t)
{
	struct cs_ring *ring = container_of(t, struct cs_ring, tick);

	if (!READ_ONCE(ring->wakeup_armed) || !wq_has_sleeper(ring->readers))
		return;
	if (cs_ring_empty(ring)) {
		timer_reduce(&ring->tick,
			     jiffies + msecs_to_jiffies(READ_ONCE(ring->wakeup_ms)));
		return;
	}
	if (xchg(&ring->wakeup_armed, false))
		wake_up_interruptible(ring->readers);
}

struct cs_ring *cs_ring_alloc(unsigned int pages_per_cpu,
			      wait_queue_head_t *readers, unsigned int wakeup_ms)
{
	struct cs_ring *ring;
	int cpu;

	ring = kzalloc(sizeof(*ring), GFP_KERNEL);
	if (!ring)
		return NULL;
	ring->pages_per_cpu = roundup_pow_of_two(pages_per_cpu);
	ring->size = (unsigned long)ring->pages_per_cpu << PAGE_SHIFT;
	ring->readers = readers;
	ring->wakeup_ms = wakeup_ms;
	init_irq_work(&ring->wakeup, cs_ring_wakeup);
	timer_setup(&ring->tick, cs_ring_tick, 0);

	ring->bufs = alloc_percpu(struct cs_cpu_buf);
	if (!ring->bufs)
		goto err_free_ring;
	for_each_possible_cpu(cpu) {
		struct cs_cpu_buf *b = per_cpu_ptr(ring->bufs, cpu);

		b->data = vzalloc_node(ring->size, cpu_to_node(cpu));
		if (!b->data)
			goto err_free_bufs;
	}
	return ring;

err_free_bufs:
	for_each_possible_cpu(cpu)
		vfree(per_cpu_ptr(ring->bufs, cpu)->data);
	free_percpu(ring->bufs);
err_free_ring:
	kfree(ring);
	return NULL;
}

void cs_ring_free(struct cs_ring *ring)
{
	int cpu;

	if (!ring)
		return;
	/*
	 * No reader waits any more (the device is closed, or this ring was
	 * replaced and RCU waited out its users): waits out a tick that
	 * runs, which may have re-armed itself, and deletes that one too.
	 */
	cs_timer_delete_sync(&ring->tick);
	irq_work_sync(&ring->wakeup);
	for_each_possible_cpu(cpu)
		vfree(per_cpu_ptr(ring->bufs, cpu)->data);
	free_percpu(ring->bufs);
	kfree(ring);
}

unsigned int cs_ring_pages_per_cpu(const struct cs_ring *ring)
{
	return ring->pages_per_cpu;
}

/* Bytes a record of @size takes at @head, counting the padding of a wrap. */
static unsigned long cs_space_needed(const struct cs_ring *ring,
				     unsigned long head, unsigned int size)
{
	unsigned long to_end = ring->size - (head & (ring->size - 1));

	return size <= to_end ? size : to_end + size;
}

/* Bytes waiting to be read in @b: seen by its producer. */
static unsigned long cs_buf_used(const struct cs_cpu_buf *b)
{
	return b->head - READ_ONCE(b->tail);
}
NOKPROBE_SYMBOL(cs_buf_used);

/*
 * Claims @size bytes at *@head of @b, after a padding marker for the rest
 * of the array when they would wrap, and moves *@head past them.  The
 * space was checked free; nothing is published yet.
 */
static void *cs_buf_claim(struct cs_ring *ring, struct cs_cpu_buf *b,
			  unsigned long *head, unsigned int size)
{
	unsigned long pos = *head & (ring->size - 1);
	unsigned long to_end = ring->size - pos;

	if (size > to_end) {
		struct clonescope_record_header *pad = (void *)(b->data + pos);

		pad->type = CS_RECORD_PAD;
		pad->size = to_end;
		*head += to_end;
		pos = 0;
	}
	*head += size;
	return b->data + pos;
}
NOKPROBE_SYMBOL(cs_buf_claim);

static void cs_fill_lost(struct clonescope_lost_event *ev, int cpu, long lost)
{
	ev->hdr.type = CLONESCOPE_RECORD_LOST;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.cpu = cpu;
	ev->hdr.timestamp_ns = ktime_get_ns();
	ev->lost = lost;
}
NOKPROBE_SYMBOL(cs_fill_lost);

void *cs_ring_reserve(struct cs_ring *ring, unsigned int type,
		      unsigned int size, struct cs_ring_res *res)
{
	struct clonescope_record_header *hdr;
	struct cs_cpu_buf *b;
	unsigned long head, need = 0;
	bool lost_pending;
	int cpu;

	/* The reader walks records by size: a bad one would stall it. */
	if (WARN_ON_ONCE(size < sizeof(*hdr) || size % 8 ||
			 size > CLONESCOPE_READ_MIN))
		return NULL;
	local_irq_save(res->flags);
	cpu = smp_processor_id();
	b = per_cpu_ptr(ring->bufs, cpu);
	b->produced++;
	head = b->head;

	/* A drop notice goes in only together with this record. */
	lost_pending = atomic_long_read(&b->lost_pending);
	if (lost_pending)
		need = cs_space_needed(ring, head,
				       sizeof(struct clonescope_lost_event));
	need += cs_space_needed(ring, head + need, size);
	/* Pairs with the reader's release of tail: the space it freed is free. */
	if (need > ring->size - (head - smp_load_acquire(&b->tail))) {
		b->dropped++;
		atomic_long_inc(&b->lost_pending);
		local_irq_restore(res->flags);
		return NULL;
	}
	if (lost_pending) {
		/* The reader may have reported them meanwhile, when it drained. */
		long lost = atomic_long_xchg(&b->lost_pending, 0);

		if (lost)
			cs_fill_lost(cs_buf_claim(ring, b, &head,
						  sizeof(struct clonescope_lost_event)),
				     cpu, lost);
	}
	hdr = cs_buf_claim(ring, b, &head, size);
	hdr->type = type;
	hdr->size = size;
	hdr->cpu = cpu;
	res->ring = ring;
	res->buf = b;
	res->head = head;
	return hdr;
}
NOKPROBE_SYMBOL(cs_ring_reserve);

void cs_ring_commit(struct cs_ring_res *res)
{
	struct cs_ring *ring = res->ring;
	struct cs_cpu_buf *b = res->buf;

	/* Publishes the record: a reader that sees this head sees its bytes. */
	smp_store_release(&b->head, res->head);
	local_irq_restore(res->flags);
	/*
	 * A waiting reader is woken by the tick (cs_ring_tick), or by the
	 * writer that fills a buffer past half, so it reads large batches;
	 * with wakeup_ms 0, by the first record.  Once per wait either way.
	 * wq_has_sleeper()'s barrier orders the record before the test,
	 * against cs_ring_want_wakeup().
	 */
	if (READ_ONCE(ring->wakeup_armed) &&
	    (!ring->wakeup_ms || cs_buf_used(b) >= ring->size / 2) &&
	    wq_has_sleeper(ring->readers) && xchg(&ring->wakeup_armed, false))
		irq_work_queue(&ring->wakeup);
}
NOKPROBE_SYMBOL(cs_ring_commit);

/* The record's bytes after what cs_ring_reserve() fills. */
#define CS_RESERVE_FILLS	offsetof(struct clonescope_record_header, timestamp_ns)

int cs_ring_write(struct cs_ring *ring, void *rec)
{
	struct clonescope_record_header *hdr = rec;
	struct cs_ring_res res;
	char *dst;

	dst = cs_ring_reserve(ring, hdr->type, hdr->size, &res);
	if (!dst)
		return -ENOSPC;
	memcpy(dst + CS_RESERVE_FILLS, (char *)rec + CS_RESERVE_FILLS,
	       hdr->size - CS_RESERVE_FILLS);
	cs_ring_commit(&res);
	return 0;
}
NOKPROBE_SYMBOL(cs_ring_write);

/*
 * Copies whole records of one CPU's buffer; returns bytes or -EFAULT.
 * Records that lie one after the other go out in one copy_to_user(): the
 * walk only reads headers, and each copy (with its user-access and
 * hardened-usercopy checks, a vmap-area lookup for this vmalloc'ed array)
 * is paid per run of records, not per record.  A run ends at a padding
 * marker (the array's end), at a record that does not fit in @count, or
 * at head.
 */
static ssize_t cs_buf_read(struct cs_ring *ring, struct cs_cpu_buf *b, int cpu,
			   char __user *buf, size_t count)
{
	/* Pairs with the writer's release of head: the records up to it are whole. */
	unsigned long head = smp_load_acquire(&b->head);
	unsigned long tail = b->tail;
	ssize_t copied = 0;

	while (tail != head) {
		unsigned long pos = tail & (ring->size - 1);
		unsigned long to_end = ring->size - pos;
		unsigned long run = 0, end = tail;
		u64 records = 0;
		bool full = false;

		/*
		 * The run of whole records from tail, up to a pad, @count or
		 * the array's end (a record may end exactly there).
		 */
		while (end != head && run < to_end) {
			struct clonescope_record_header *hdr;

			hdr = (void *)(b->data + (end & (ring->size - 1)));
			if (hdr->type == CS_RECORD_PAD)
				break;
			if (hdr->size > count - copied - run) {
				full = true;
				break;
			}
			run += hdr->size;
			records += hdr->type != CLONESCOPE_RECORD_LOST;
			end += hdr->size;
		}
		if (run && copy_to_user(buf + copied, b->data + pos, run)) {
			if (!copied)
				copied = -EFAULT;
			break;
		}
		copied += run;
		b->delivered += records;
		tail = end;
		if (full)
			break;
		if (tail != head && run < to_end) {
			/* A padding marker: the next record is at the array's start. */
			struct clonescope_record_header *pad;

			pad = (void *)(b->data + (tail & (ring->size - 1)));
			tail += pad->size;
		}
	}
	/* Frees the space only after its records were copied out. */
	smp_store_release(&b->tail, tail);

	/* Drained: report drops that no later record carried in-stream. */
	if (copied >= 0 && tail == head && atomic_long_read(&b->lost_pending) &&
	    count - copied >= sizeof(struct clonescope_lost_event)) {
		struct clonescope_lost_event lost;

		cs_fill_lost(&lost, cpu, atomic_long_xchg(&b->lost_pending, 0));
		if (lost.lost) {
			if (copy_to_user(buf + copied, &lost, sizeof(lost))) {
				/* Put the count back: it is reported next time. */
				atomic_long_add(lost.lost, &b->lost_pending);
				return copied ? copied : -EFAULT;
			}
			copied += sizeof(lost);
		}
	}
	return copied;
}

ssize_t cs_ring_read(struct cs_ring *ring, char __user *buf, size_t count)
{
	unsigned int nr = nr_cpu_ids, i;
	ssize_t copied = 0;

	for (i = 0; i < nr; i++) {
		int cpu = (ring->next_cpu + i) % nr;
		ssize_t ret;

		if (!cpu_possible(cpu))
			continue;
		ret = cs_buf_read(ring, per_cpu_ptr(ring->bufs, cpu), cpu,
				  buf + copied, count - copied);
		if (ret < 0)
			return copied ? copied : ret;
		copied += ret;
	}
	ring->next_cpu = (ring->next_cpu + 1) % nr;
	return copied;
}

void cs_ring_want_wakeup(struct cs_ring *ring)
{
	WRITE_ONCE(ring->wakeup_armed, true);
	/* Pairs with the writer's barrier: it sees the flag or we its record. */
	smp_mb();
	/*
	 * Starts the ticks of this wait; a tick already pending is as early
	 * or earlier, and timer_reduce() leaves it.
	 */
	if (ring->wakeup_ms)
		timer_reduce(&ring->tick,
			     jiffies + msecs_to_jiffies(ring->wakeup_ms));
}

/* Only while tracing is off: no writer tests wakeup_ms meanwhile. */
void cs_ring_set_wakeup_ms(struct cs_ring *ring, unsigned int wakeup_ms)
{
	WRITE_ONCE(ring->wakeup_ms, wakeup_ms);
}

bool cs_ring_empty(struct cs_ring *ring)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct cs_cpu_buf *b = per_cpu_ptr(ring->bufs, cpu);

		/* Pairs with the writer's release of head, as in cs_buf_read(). */
		if (smp_load_acquire(&b->head) != READ_ONCE(b->tail) ||
		    atomic_long_read(&b->lost_pending))
			return false;
	}
	return true;
}

/* Only with no writer running: discards all records and counters. */
void cs_ring_reset(struct cs_ring *ring)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct cs_cpu_buf *b = per_cpu_ptr(ring->bufs, cpu);

		b->head = 0;
		b->tail = 0;
		atomic_long_set(&b->lost_pending, 0);
		b->produced = 0;
		b->dropped = 0;
		b->delivered = 0;
	}
}

void cs_ring_counters(struct cs_ring *ring, struct cs_ring_counters *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct cs_cpu_buf *b = per_cpu_ptr(ring->bufs, cpu);

		sum->produced += READ_ONCE(b->produced);
		sum->dropped += READ_ONCE(b->dropped);
		sum->delivered += READ_ONCE(b->delivered);
	}
}
