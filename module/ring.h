/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-CPU single-producer/single-consumer record buffers.
 *
 * The producer is whatever runs on a CPU (probe handlers, with interrupts
 * disabled around the write); the consumer is one reader at a time.  A
 * write never waits: when a CPU's buffer is full the record is dropped and
 * counted, and a CLONESCOPE_RECORD_LOST record carrying the count is put in
 * the stream before the next record that fits (or handed to the reader when
 * the buffer drains), so the reader sees where data is missing.
 *
 * This unit knows nothing of what the records mean.
 */
#ifndef CLONESCOPE_RING_H
#define CLONESCOPE_RING_H

#include <linux/types.h>
#include <linux/wait.h>

struct cs_ring;

struct cs_ring_counters {
	u64 produced;	/* records writers tried to write */
	u64 delivered;	/* records copied out by the reader */
	u64 dropped;	/* records lost to a full buffer */
};

/*
 * Readers sleep on @readers.  While one waits, a timer looks every
 * @wakeup_ms and wakes it if records wait; a writer that fills its buffer
 * past half wakes it sooner (from irq_work, never inline); with
 * @wakeup_ms 0, the first record does.
 */
struct cs_ring *cs_ring_alloc(unsigned int pages_per_cpu,
			      wait_queue_head_t *readers, unsigned int wakeup_ms);
/* Only while no writer runs: the @wakeup_ms of cs_ring_alloc(). */
void cs_ring_set_wakeup_ms(struct cs_ring *ring, unsigned int wakeup_ms);
void cs_ring_free(struct cs_ring *ring);
unsigned int cs_ring_pages_per_cpu(const struct cs_ring *ring);

/* @rec starts with struct clonescope_record_header; type and size are set. */
int cs_ring_write(struct cs_ring *ring, void *rec);

/*
 * A record written in place.  cs_ring_reserve() returns where its @size
 * bytes go in this CPU's buffer, with the header's type, size and cpu
 * set, or NULL when it is dropped (counted, and reported in-stream as any
 * drop).  Interrupts stay off on this CPU until cs_ring_commit() publishes
 * it: until then the reader cannot see it, and nothing else writes this
 * CPU's buffer.  The writer fills every byte after the header's cpu (the
 * buffer holds older records' bytes), never sleeps, and commits each
 * record it reserved.
 */
struct cs_ring_res {
	struct cs_ring *ring;
	struct cs_cpu_buf *buf;
	unsigned long head;	/* past the record: published by the commit */
	unsigned long flags;	/* interrupt state before the reserve */
};

void *cs_ring_reserve(struct cs_ring *ring, unsigned int type,
		      unsigned int size, struct cs_ring_res *res);
void cs_ring_commit(struct cs_ring_res *res);

ssize_t cs_ring_read(struct cs_ring *ring, char __user *buf, size_t count);
/*
 * A reader about to wait calls this before its last look at the buffers:
 * it is woken once per such call, not once per record.
 */
void cs_ring_want_wakeup(struct cs_ring *ring);
bool cs_ring_empty(struct cs_ring *ring);
void cs_ring_reset(struct cs_ring *ring);
void cs_ring_counters(struct cs_ring *ring, struct cs_ring_counters *sum);

#endif
