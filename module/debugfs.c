// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/clonescope/status: what is probed, how, and counters.
 * For people; tools use the ioctls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/clonescope.h>

#include "debugfs.h"
#include "probes.h"
#include "session.h"

static struct dentry *cs_debugfs_dir;

static const char *const cs_probe_state_names[] = {
	[CLONESCOPE_PROBE_REGISTERED]	= "registered",
	[CLONESCOPE_PROBE_UNAVAILABLE]	= "unavailable",
	[CLONESCOPE_PROBE_FAILED]	= "failed",
	[CLONESCOPE_PROBE_ALIAS]	= "alias",
	[CLONESCOPE_PROBE_STANDBY]	= "standby",
};

static const char *cs_probe_state_name(u32 state)
{
	if (state < ARRAY_SIZE(cs_probe_state_names) && cs_probe_state_names[state])
		return cs_probe_state_names[state];
	return "unknown";
}

static int cs_status_show(struct seq_file *m, void *unused)
{
	struct clonescope_probe_info info;
	struct clonescope_stats st;
	unsigned int i;

	cs_session_stats(&st);
	seq_printf(m, "abi:               %u.%u\n", CLONESCOPE_ABI_MAJOR,
		   CLONESCOPE_ABI_MINOR);
	seq_printf(m, "tracing:           %s\n", st.enabled ? "on" : "off");
	seq_printf(m, "buffer:            %u pages x %u cpus\n",
		   st.pages_per_cpu, st.nr_cpus);
	seq_printf(m, "records produced:  %llu\n", st.produced);
	seq_printf(m, "records delivered: %llu\n", st.delivered);
	seq_printf(m, "records dropped:   %llu\n", st.dropped);
	seq_printf(m, "clones traced:     %llu\n", st.clones);
	seq_printf(m, "in-flight overflow: %llu\n", st.inflight_overflow);
	seq_printf(m, "handler calls:     %llu\n", st.handler_calls);
	seq_printf(m, "handler time ns:   %llu\n", st.handler_ns);
	seq_printf(m, "timed calls:       %llu%s\n", st.timed_calls,
		   st.cost_sampled ? " (a sample: handler times are estimates)" : "");
	seq_printf(m, "timed clones:      %llu\n", st.timed_clones);
	if (st.clones)
		seq_printf(m, "handler ns/clone:  %llu\n",
			   st.handler_ns / st.clones);
	seq_printf(m, "\n%-24s %-18s %-12s %6s %10s %8s %12s\n", "symbol",
		   "role", "state", "error", "hits", "nmissed", "handler_ns");
	for (i = 0; i < st.nr_probes; i++) {
		memset(&info, 0, sizeof(info));
		if (cs_probe_info_at(i, &info))
			break;
		seq_printf(m, "%-24s %-18s %-12s %6d %10llu %8llu %12llu\n",
			   info.symbol, info.role,
			   cs_probe_state_name(info.state), info.error,
			   info.hits, info.nmissed, info.handler_ns);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cs_status);

void cs_debugfs_init(void)
{
	/* debugfs is optional: failures here never fail the load. */
	cs_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("status", 0400, cs_debugfs_dir, NULL,
			    &cs_status_fops);
}

void cs_debugfs_exit(void)
{
	debugfs_remove_recursive(cs_debugfs_dir);
}
