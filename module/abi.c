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

void __init cs_abi_assert_layout(void)
{
	/* Records. */
	BUILD_BUG_ON(offsetofend(struct clonescope_record_header, timestamp_ns) !=
		     CLONESCOPE_RECORD_HEADER_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct clonescope_phase) != CLONESCOPE_PHASE_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_clone_event, phases) !=
		     CLONESCOPE_CLONE_EVENT_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_child_start_event, __reserved) !=
		     CLONESCOPE_CHILD_START_EVENT_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_lost_event, lost) !=
		     CLONESCOPE_LOST_EVENT_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct clonescope_cow_counts) != CLONESCOPE_COW_COUNTS_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_cow_event, parent) !=
		     CLONESCOPE_COW_EVENT_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_lifecycle_event, comm) !=
		     CLONESCOPE_LIFECYCLE_EVENT_SIZE_VER0);

	/* ioctl arguments. */
	BUILD_BUG_ON(offsetofend(struct clonescope_version, features) !=
		     CLONESCOPE_VERSION_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_filter, tgids) != CLONESCOPE_FILTER_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_options, probes) !=
		     CLONESCOPE_OPTIONS_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_buffer_config, __reserved) !=
		     CLONESCOPE_BUFFER_CONFIG_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_stats, probes) != CLONESCOPE_STATS_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_probe_info, role) !=
		     CLONESCOPE_PROBE_INFO_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct clonescope_log2_hist) != CLONESCOPE_LOG2_HIST_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct clonescope_agg_kind) != CLONESCOPE_AGG_KIND_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct clonescope_agg_comm) != CLONESCOPE_AGG_COMM_SIZE_VER0);
	BUILD_BUG_ON(offsetofend(struct clonescope_aggregate, phase_ns) !=
		     CLONESCOPE_AGGREGATE_SIZE_VER0);
}
