// clonescope: trace what fork()/clone() cost, from the call site in user
// space through every phase in the kernel.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/report_cmd.hpp"
#include "cli/stat_cmd.hpp"
#include "cli/status.hpp"
#include "device/device.hpp"
#include "record/recorder.hpp"

namespace {

constexpr const char *kExamples = R"(
EXAMPLES:
    clonescope status                      # module, ABI, probes, drops
    clonescope record -- make -j2          # trace make's process tree
    clonescope record -o t.cst -q -- ./srv # record quietly into t.cst
    clonescope record -p 1234 --duration 10  # attach to a running server's tree
    clonescope record -a -G system.slice/redis-server.service -- sleep 5
    clonescope report t.cst                # by call site and kind, percentiles
    clonescope report --perfetto t.json    # timeline for ui.perfetto.dev
    clonescope stat 1 10                   # system-wide, ten 1-second lines
    clonescope top -p 1234                 # who clones most under pid 1234
)";

} // namespace

int main(int argc, char **argv)
{
	using namespace clonescope;

	CLI::App app{"clonescope: per-call tracing of fork()/clone() cost", "clonescope"};
	app.footer(kExamples);
	app.require_subcommand(1);
	std::string device;
	app.add_option("--device", device, "clonescope device (default /dev/clonescope)");

	auto *status = app.add_subcommand("status", "show the module's ABI, features, stats and probes");

	RecordOptions rec;
	auto *record = app.add_subcommand("record", "trace the clones of a command's tree, running processes (-p) or all (-a)");
	record->add_option("-o,--output", rec.output, "trace file to write ('' for none)")
		->capture_default_str();
	record->add_option("--buffer-pages", rec.buffer_pages, "per-CPU buffer size in pages")
		->check(CLI::Range(1u, 1024u)); // uapi: 1..1024, rounded up to a power of 2
	record->add_flag("-q,--quiet", rec.quiet, "do not print one line per event");
	std::string record_probes = "all";
	record->add_option("--probes", record_probes,
			   "probe groups to arm: all, or a list of clone,phases,page_tables,cow")
		->capture_default_str();
	record->add_flag("!--no-preload", rec.preload, "do not inject the user-side shim");
	record->add_option("--preload", rec.preload_path, "user-side shim to inject")
		->check(CLI::ExistingFile);
	record->add_option("-p,--pid", rec.target.pids,
			   "attach to these running processes (PID[,PID...]) and their tree")
		->delimiter(',')
		->check(CLI::PositiveNumber);
	record->add_flag("!--no-children", rec.target.children,
			 "with -p: those processes alone, not the tasks they create");
	record->add_flag("-a,--all-cpus", rec.target.system_wide, "system-wide: every process");
	record->add_option("-c,--comm", rec.target.comm, "only clones made by tasks with this comm");
	record->add_option("-G,--cgroup", rec.target.cgroup,
			   "only clones made by tasks in this cgroup v2 (a path under its mount)");
	record->add_option("--duration", rec.duration_s, "with -p or -a: stop after SECONDS")
		->check(CLI::PositiveNumber);
	record->add_option("command", rec.command, "command to run, after --");
	record->positionals_at_end();

	ReportOptions rep;
	auto *report = app.add_subcommand("report", "summarize a trace by call site and by kind");
	report->add_option("file", rep.input, "trace file")->capture_default_str();
	auto *json_flag = report->add_flag("--json", rep.json, "print JSON");
	report->add_flag("--csv", rep.csv, "print CSV")->excludes(json_flag);
	report->add_flag("!--no-hist", rep.histograms, "no log2 histograms in the text report");
	report->add_option("--sites", rep.sites,
			   "group call sites by source line (function + file:line), function "
			   "or return address")
		->transform(CLI::CheckedTransformer(
			std::map<std::string, SiteGrouping>{{"line", SiteGrouping::line},
							    {"function", SiteGrouping::function},
							    {"address", SiteGrouping::address}},
			CLI::ignore_case))
		->default_str("line");
	report->add_option("--perfetto", rep.perfetto,
			   "also write Chrome trace-event JSON for ui.perfetto.dev to this file");

	// stat and top share their options.
	LiveOptions live;
	auto *stat = app.add_subcommand("stat", "live clone rates and latency, one line per interval");
	auto *top = app.add_subcommand("top", "live view of the comms that clone most, redrawn in place");
	for (auto *cmd : {stat, top}) {
		cmd->add_option("interval", live.interval_s, "seconds per update")
			->capture_default_str()
			->check(CLI::Number)
			->check(CLI::Range(0.01, 3600.0));
		cmd->add_option("count", live.count, "number of updates (default: until Ctrl-C)");
		cmd->add_option("-p,--pid", live.filter.tree_of_pid,
				"only this process and its descendants")
			->check(CLI::PositiveNumber);
		cmd->add_option("-c,--comm", live.filter.comm, "only clones made by tasks with this comm");
	}
	// The clone group by default: what the columns need but COW pages,
	// at the least cost.
	std::string live_probes = "clone";
	for (auto *cmd : {stat, top}) {
		cmd->add_option("--probes", live_probes,
				"probe groups to arm: all, or a list of clone,phases,page_tables,cow "
				"(cow fills the COWpg column)")
			->capture_default_str();
		cmd->add_flag("!--records", live.in_kernel,
			      "decode a record per clone instead of reading the module's "
			      "in-kernel aggregates");
	}
	top->add_option("-n,--rows", live.rows, "comms shown")->capture_default_str();

	CLI11_PARSE(app, argc, argv);

	if (*status)
		return run_status(device);
	if (*report)
		return run_report(rep);
	// The probe groups of whichever live command or record was chosen.
	auto groups = parse_probe_groups(*record ? record_probes : live_probes);
	if (!groups) {
		fmt::print(stderr, "clonescope: {}\n", groups.error().message);
		return 2;
	}
	rec.probe_groups = live.filter.probe_groups = *groups;
	live.device = device;
	if (*stat)
		return run_stat(live);
	if (*top)
		return run_top(live);
	if (*record) {
		rec.device = device;
		return run_record(rec);
	}
	return 0;
}
