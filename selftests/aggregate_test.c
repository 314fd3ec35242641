// SPDX-License-Identifier: GPL-2.0
/*
 * clonescope selftests of in-kernel aggregation (issue 17): with
 * CLONESCOPE_OPT_AGGREGATE | CLONESCOPE_OPT_NO_RECORDS the module writes no
 * record and CLONESCOPE_IOC_GET_AGGREGATE gives counts and histograms that
 * agree with the clones the test made; the options are checked like every
 * size-versioned struct, and a 1.0-sized caller still gets records.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clonescope_harness.h"

#define AGG_OPTS	(CLONESCOPE_OPT_AGGREGATE | CLONESCOPE_OPT_NO_RECORDS)

FIXTURE(aggregate) {
	int fd;
	void *buf;
	struct clonescope_agg_comm *comms;	/* NR_COMMS entries */
};

#define NR_COMMS	256

FIXTURE_SETUP(aggregate)
{
	struct clonescope_version v;

	cs_setup(_metadata, &self->fd, &self->buf);
	self->comms = calloc(NR_COMMS, sizeof(*self->comms));
	ASSERT_NE(NULL, self->comms);
	ASSERT_EQ(0, cs_get_version(self->fd, &v));
	if (!(v.features & CLONESCOPE_FEAT_AGGREGATE))
		SKIP(return, "module without CLONESCOPE_FEAT_AGGREGATE");
}

FIXTURE_TEARDOWN(aggregate)
{
	if (self->fd >= 0) {
		ct_restore(_metadata, self->fd, 0);
		close(self->fd);
	}
	free(self->comms);
	free(self->buf);
}

static int get_aggregate(int fd, struct clonescope_aggregate *agg,
			 struct clonescope_agg_comm *comms, __u32 nr)
{
	memset(agg, 0, sizeof(*agg));
	agg->size = sizeof(*agg);
	agg->nr_comms = nr;
	agg->comms = (__u64)(unsigned long)comms;
	return cs_ioctl(fd, CLONESCOPE_IOC_GET_AGGREGATE, agg);
}

static __u64 hist_total(const struct clonescope_log2_hist *h)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < CLONESCOPE_AGG_BUCKETS; i++)
		n += h->buckets[i];
	return n;
}

/* The entry for @name among the aggregate's first @nr comms, or NULL. */
static const struct clonescope_agg_comm *
comm_entry(const struct clonescope_agg_comm *comms, __u32 nr, const char *name)
{
	__u32 i;

	for (i = 0; i < nr; i++)
		if (!strncmp(comms[i].comm, name, sizeof(comms[i].comm)))
			return &comms[i];
	return NULL;
}

/* Three forks, one vfork, one thread, one clone3 that copy_process refuses. */
static void clone_set(struct __test_metadata *_metadata)
{
	struct clone_args bad = { .flags = CLONE_THREAD };
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ct_clone_once(CT_LOAD_FORK));
	ASSERT_EQ(0, ct_clone_once(CT_LOAD_VFORK));
	ASSERT_EQ(0, ct_clone_once(CT_LOAD_THREAD));
	ASSERT_EQ(-1, syscall(SYS_clone3, &bad, sizeof(bad)));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(aggregate, counts_without_records)
{
	const struct clonescope_agg_comm *mine = NULL;
	struct clonescope_aggregate agg;
	struct clonescope_stats st;
	char comm[16] = "";
	__u32 i;

	ASSERT_EQ(0, cs_set_options(self->fd, sizeof(struct clonescope_options),
				 CLONESCOPE_PROBES_ALL, AGG_OPTS, 0));
	ASSERT_EQ(0, cs_trace_self(self->fd));
	clone_set(_metadata);
	ASSERT_EQ(0, cs_disable(self->fd));

	/* Nothing was written: the stream is at EOF at once. */
	ASSERT_EQ(0, read(self->fd, self->buf, CS_DRAIN_BUF_SIZE));
	ASSERT_EQ(0, cs_get_stats(self->fd, &st));
	ASSERT_EQ(0, st.produced);
	ASSERT_EQ(6, st.clones);

	ASSERT_EQ(0, get_aggregate(self->fd, &agg, self->comms, NR_COMMS));
	ASSERT_EQ(sizeof(agg), agg.size);
	ASSERT_EQ(6, agg.clones);
	ASSERT_EQ(3, agg.kinds[CLONESCOPE_AGG_KIND_FORK].duration_ns.count);
	ASSERT_EQ(1, agg.kinds[CLONESCOPE_AGG_KIND_VFORK].duration_ns.count);
	/* The refused clone3 asked for CLONE_THREAD: a failed thread. */
	ASSERT_EQ(2, agg.kinds[CLONESCOPE_AGG_KIND_THREAD].duration_ns.count);
	ASSERT_EQ(1, agg.kinds[CLONESCOPE_AGG_KIND_THREAD].failed);
	ASSERT_EQ(0, agg.kinds[CLONESCOPE_AGG_KIND_FORK].failed);
	ASSERT_EQ(0, agg.kinds[CLONESCOPE_AGG_KIND_CLONE3].duration_ns.count);
	ASSERT_EQ(1, agg.errnos[EINVAL]);
	for (i = 0; i < CLONESCOPE_AGG_NR_KINDS; i++)
		ASSERT_EQ(agg.kinds[i].duration_ns.count,
			  hist_total(&agg.kinds[i].duration_ns));
	/* A fork takes more than a microsecond, and is timed in the histogram. */
	ASSERT_LT(3 * 1000ULL, agg.kinds[CLONESCOPE_AGG_KIND_FORK].duration_ns.sum);
	ASSERT_EQ(6, agg.phase_ns[CLONESCOPE_PHASE_KERNEL_CLONE].count);
	ASSERT_EQ(6, agg.phase_ns[CLONESCOPE_PHASE_COPY_PROCESS].count);
	/* Each of the five children ran once. */
	if (ct_probe_registered(self->fd, "schedule_tail"))
		ASSERT_EQ(5, agg.wakeup_ns.count);

	ASSERT_EQ(0, prctl(PR_GET_NAME, comm));
	ASSERT_LE(1, agg.nr_comms);
	mine = comm_entry(self->comms, agg.nr_comms, comm);
	ASSERT_NE(NULL, mine);
	ASSERT_EQ(6, mine->duration_ns.count);
	ASSERT_EQ(3, mine->kinds[CLONESCOPE_AGG_KIND_FORK]);
	ASSERT_EQ(1, mine->failed);
	ASSERT_EQ(0, agg.comms_overflow);

	/* ENABLE starts again from zero. */
	ASSERT_EQ(0, cs_enable(self->fd));
	ASSERT_EQ(0, cs_disable(self->fd));
	ASSERT_EQ(0, get_aggregate(self->fd, &agg, self->comms, NR_COMMS));
	ASSERT_EQ(0, agg.clones);
	ASSERT_EQ(0, agg.nr_comms);
}

/*
 * Forks under two names in turn (a b a b a): each clone counts under the
 * name it was made with, though the module remembers the last name it saw.
 */
TEST_F(aggregate, comms_alternating)
{
	static const char *const names[] = { "cs-agg-a", "cs-agg-b" };
	const struct clonescope_agg_comm *a, *b;
	struct clonescope_aggregate agg;
	char saved[16] = "";
	int i;

	ASSERT_EQ(0, prctl(PR_GET_NAME, saved));
	ASSERT_EQ(0, cs_set_options(self->fd, sizeof(struct clonescope_options),
				 CLONESCOPE_PROBES_CLONE, AGG_OPTS, 0));
	ASSERT_EQ(0, cs_trace_self(self->fd));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, prctl(PR_SET_NAME, names[i % 2]));
		ASSERT_EQ(0, ct_clone_once(CT_LOAD_FORK));
	}
	ASSERT_EQ(0, prctl(PR_SET_NAME, saved));
	ASSERT_EQ(0, cs_disable(self->fd));

	ASSERT_EQ(0, get_aggregate(self->fd, &agg, self->comms, NR_COMMS));
	ASSERT_EQ(5, agg.clones);
	ASSERT_EQ(2, agg.nr_comms);
	a = comm_entry(self->comms, agg.nr_comms, names[0]);
	b = comm_entry(self->comms, agg.nr_comms, names[1]);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(3, a->kinds[CLONESCOPE_AGG_KIND_FORK]);
	ASSERT_EQ(3, a->duration_ns.count);
	ASSERT_EQ(2, b->kinds[CLONESCOPE_AGG_KIND_FORK]);
	ASSERT_EQ(2, b->duration_ns.count);
	/* Each child ran once, and its wake-up counts under its name. */
	if (ct_probe_registered(self->fd, "schedule_tail")) {
		ASSERT_EQ(3, a->wakeup_ns.count);
		ASSERT_EQ(2, b->wakeup_ns.count);
	}
}

/* The clone records of a drained stream of @len bytes. */
static int clone_records(const void *buf, ssize_t len)
{
	const struct clonescope_record_header *first;

	return len < 0 ? len : cs_count_records(buf, len, CLONESCOPE_RECORD_CLONE, &first);
}

/* Records and aggregates at once: one clone record per clone too. */
TEST_F(aggregate, with_records)
{
	struct clonescope_aggregate agg;
	ssize_t len;

	ASSERT_EQ(0, cs_set_options(self->fd, sizeof(struct clonescope_options),
				 CLONESCOPE_PROBES_CLONE, CLONESCOPE_OPT_AGGREGATE, 0));
	ASSERT_EQ(0, cs_trace_self(self->fd));
	clone_set(_metadata);
	len = cs_drain(self->fd, self->buf, CS_DRAIN_BUF_SIZE);
	ASSERT_EQ(6, clone_records(self->buf, len));
	ASSERT_EQ(0, get_aggregate(self->fd, &agg, NULL, 0));
	ASSERT_EQ(6, agg.clones);
	ASSERT_EQ(0, agg.nr_comms);
	/* No room for the entries: their clones count as overflow. */
	ASSERT_EQ(6, agg.comms_overflow);
}

/* A caller of ABI 1.0 (8-byte options) gets records, whatever came before. */
TEST_F(aggregate, ver0_options_record)
{
	ssize_t len;

	ASSERT_EQ(0, cs_set_options(self->fd, sizeof(struct clonescope_options),
				 CLONESCOPE_PROBES_ALL, AGG_OPTS, 0));
	ASSERT_EQ(0, cs_set_options(self->fd, CLONESCOPE_OPTIONS_SIZE_VER0,
				 CLONESCOPE_PROBES_ALL, 0, 0));
	ASSERT_EQ(0, cs_trace_self(self->fd));
	ASSERT_EQ(0, ct_clone_once(CT_LOAD_FORK));
	len = cs_drain(self->fd, self->buf, CS_DRAIN_BUF_SIZE);
	ASSERT_EQ(1, clone_records(self->buf, len));
}

/* The next owner starts with records: options do not outlive their fd. */
TEST_F(aggregate, options_end_with_owner)
{
	ssize_t len;

	ASSERT_EQ(0, cs_set_options(self->fd, sizeof(struct clonescope_options),
				 CLONESCOPE_PROBES_ALL, AGG_OPTS, 0));
	close(self->fd);
	self->fd = cs_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, cs_trace_self(self->fd));
	ASSERT_EQ(0, ct_clone_once(CT_LOAD_FORK));
	len = cs_drain(self->fd, self->buf, CS_DRAIN_BUF_SIZE);
	ASSERT_EQ(1, clone_records(self->buf, len));
}

TEST_F(aggregate, bad_options)
{
	const __u32 all = CLONESCOPE_PROBES_ALL, size = sizeof(struct clonescope_options);

	/* No records and no aggregates: nothing to read. */
	ASSERT_EQ(-EINVAL, cs_set_options(self->fd, size, all, CLONESCOPE_OPT_NO_RECORDS, 0));
	ASSERT_EQ(-EINVAL, cs_set_options(self->fd, size, all, CLONESCOPE_OPT_ALL + 1, 0));
	ASSERT_EQ(-EINVAL, cs_set_options(self->fd, size, all, CLONESCOPE_OPT_AGGREGATE, 1));
	ASSERT_EQ(0, cs_set_options(self->fd, size, all, AGG_OPTS, 0));
	ASSERT_EQ(0, cs_trace_self(self->fd));
	ASSERT_EQ(-EBUSY, cs_set_options(self->fd, size, all, 0, 0));
}

TEST_F(aggregate, bad_size)
{
	struct clonescope_aggregate agg = { .size = CLONESCOPE_AGGREGATE_SIZE_VER0 - 8 };

	ASSERT_EQ(-EINVAL, cs_ioctl(self->fd, CLONESCOPE_IOC_GET_AGGREGATE, &agg));
	/* A bad pointer for the entries faults, and nothing is half-written. */
	ASSERT_EQ(0, cs_set_options(self->fd, sizeof(struct clonescope_options),
				 CLONESCOPE_PROBES_CLONE, AGG_OPTS, 0));
	ASSERT_EQ(0, cs_trace_self(self->fd));
	ASSERT_EQ(0, ct_clone_once(CT_LOAD_FORK));
	ASSERT_EQ(0, cs_disable(self->fd));
	memset(&agg, 0, sizeof(agg));
	agg.size = sizeof(agg);
	agg.nr_comms = 4;
	agg.comms = 8;
	ASSERT_EQ(-EFAULT, cs_ioctl(self->fd, CLONESCOPE_IOC_GET_AGGREGATE, &agg));
	ASSERT_EQ(0, agg.clones);
}

CS_HARNESS_MAIN
