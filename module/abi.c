// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI's first sizes, checked against this build's layout of every
 * uapi struct: a field added anywhere but at the end, or a size change
 * from padding, fails the build.  As kernel/fork.c does for clone_args.
 */
#include <linux/build_bug.h>
#include <linux/init.h>
#include <linux/stddef.h>
#include <linux/clonescope.h>

#include "abi.h"

/* A struct's VERn size ends at its last VERn field. */
#define CS_ASSERT_VER0(type, last_field, size) \
	BUILD_BUG_ON(offsetofend(struct type, last_field) != (size))
/* A struct that never grows (it lies in arrays). */
#define CS_ASSERT_SIZE(type, size)	BUILD_BUG_ON(sizeof(struct type) != (size))

void __init cs_abi_assert_layout(void)
{
	/* Records. */
	CS_ASSERT_VER0(clonescope_record_header, timestamp_ns,
		       CLONESCOPE_RECORD_HEADER_SIZE_VER0);
	CS_ASSERT_SIZE(clonescope_phase, CLONESCOPE_PHASE_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_clone_event, phases, CLONESCOPE_CLONE_EVENT_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_child_start_event, __reserved,
		       CLONESCOPE_CHILD_START_EVENT_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_lost_event, lost, CLONESCOPE_LOST_EVENT_SIZE_VER0);
	CS_ASSERT_SIZE(clonescope_cow_counts, CLONESCOPE_COW_COUNTS_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_cow_event, parent, CLONESCOPE_COW_EVENT_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_lifecycle_event, comm, CLONESCOPE_LIFECYCLE_EVENT_SIZE_VER0);

	/* ioctl arguments. */
	CS_ASSERT_VER0(clonescope_version, features, CLONESCOPE_VERSION_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_filter, tgids, CLONESCOPE_FILTER_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_options, probes, CLONESCOPE_OPTIONS_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_buffer_config, __reserved,
		       CLONESCOPE_BUFFER_CONFIG_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_stats, probes, CLONESCOPE_STATS_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_stats, __reserved, CLONESCOPE_STATS_SIZE_VER1);
	CS_ASSERT_VER0(clonescope_probe_info, role, CLONESCOPE_PROBE_INFO_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_probe_info, __reserved, CLONESCOPE_PROBE_INFO_SIZE_VER1);
	CS_ASSERT_VER0(clonescope_probe_info, timed_ns, CLONESCOPE_PROBE_INFO_SIZE_VER2);
	CS_ASSERT_SIZE(clonescope_log2_hist, CLONESCOPE_LOG2_HIST_SIZE_VER0);
	CS_ASSERT_SIZE(clonescope_agg_kind, CLONESCOPE_AGG_KIND_SIZE_VER0);
	CS_ASSERT_SIZE(clonescope_agg_comm, CLONESCOPE_AGG_COMM_SIZE_VER0);
	CS_ASSERT_VER0(clonescope_aggregate, phase_ns, CLONESCOPE_AGGREGATE_SIZE_VER0);
}
