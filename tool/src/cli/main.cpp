// clonescope: trace what fork()/clone() cost, from the call site in user
// space through every phase in the kernel.

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <string_view>

#include "cli/export_cmd.hpp"
#include "cli/record_cmd.hpp"
#include "cli/report_cmd.hpp"
#include "cli/script_cmd.hpp"
#include "cli/stat_cmd.hpp"
#include "cli/status.hpp"
#include "device/device.hpp"

namespace {

using clonescope::Format;

constexpr const char *kExamples = R"(
EXAMPLES (each command's --help has its own):
    clonescope status                      # module, ABI, probes, drops
    clonescope record -- make -j2          # trace make's process tree
    clonescope report                      # by call site and kind, percentiles
    clonescope script | jq .               # every event, every field
    clonescope record -p 1234 --duration 10  # attach to a running server's tree
    clonescope stat 1 10                   # system-wide, ten 1-second lines
    clonescope top -p 1234                 # who clones most under pid 1234
    clonescope top --by site -- make -j2   # make's call sites that clone most
    clonescope export --listen :9477       # Prometheus metrics at /metrics
)";

constexpr const char *kStatusExamples = R"(
EXAMPLES:
    clonescope status                      # module, ABI, features, probe table
    clonescope status --json               # the same as one JSON object
)";

constexpr const char *kRecordExamples = R"(
EXAMPLES:
    clonescope record -- make -j2          # trace make's tree into clonescope.cst
    clonescope record -o t.cst -q -- ./srv # quietly, into t.cst
    clonescope record --probes cow -- ./a  # arm only the COW probes (and clone)
    clonescope record --no-preload -- sh   # kernel records only, no user calls
    clonescope record -p 1234 --duration 10  # attach to a running server's tree
    clonescope record -a -G system.slice/redis-server.service -- sleep 5
)";

constexpr const char *kReportExamples = R"(
EXAMPLES:
    clonescope report t.cst                # by call site and kind, percentiles
    clonescope report --csv > r.csv        # one row per group and metric
    clonescope report --perfetto t.json    # also a timeline for ui.perfetto.dev
)";

constexpr const char *kScriptExamples = R"(
EXAMPLES:
    clonescope script t.cst | jq 'select(.type == "cow") | .cow'
                                           # each fork's COW bill, both sides
    clonescope script --csv > events.csv   # one row per event
    clonescope script --text               # the lines record printed live
)";

constexpr const char *kStatExamples = R"(
EXAMPLES:
    clonescope stat                        # one line a second until Ctrl-C
    clonescope stat 0.5 20                 # twenty half-second lines
    clonescope stat -c make --csv          # clones made by make, as CSV
)";

constexpr const char *kTopExamples = R"(
EXAMPLES:
    clonescope top                         # the busiest comms, redrawn each second
    clonescope top -p 1234 -n 5            # the top 5 under pid 1234
    clonescope top 2 3 --json              # three 2-second tables as JSON
    clonescope top --by kind               # fork, vfork, thread, ... rows
    clonescope top --by site 2 -- ./srv    # ./srv's call sites (function
                                           # (file:line)), every 2 seconds
)";

constexpr const char *kExportExamples = R"(
EXAMPLES:
    clonescope export                      # http://127.0.0.1:9477/metrics
    clonescope export --listen :9477       # on every address
    clonescope export --listen [::1]:9477 --probes clone  # the least cost
)";

// A whole number of at least 1: `stat 1 -3` and `top -n -2` are refused
// with a message rather than wrapped around or read as 0.
const CLI::Validator kPositiveInteger(
	[](std::string &s) -> std::string {
		uint64_t v = 0;
		const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
		if (ec != std::errc{} || end != s.data() + s.size() || v == 0)
			return fmt::format("must be a whole number of at least 1, not \"{}\"", s);
		return {};
	},
	"POSITIVE");

// The words after the first "--": the command that record and top --by
// site run. Taken off argv before CLI11 sees it, because CLI11 2.1 gives
// words after "--" to positionals still empty, so that `top -- make`
// would read "make" as top's interval.
std::vector<std::string> split_command(int &argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (std::string_view(argv[i]) == "--") {
			std::vector<std::string> command(argv + i + 1, argv + argc);
			argc = i;
			return command;
		}
	}
	return {};
}

// --json and --csv, excluding each other, set @format.
void add_format_flags(CLI::App *cmd, Format &format)
{
	auto *json = cmd->add_flag_callback("--json", [&format] { format = Format::Json; },
					    "print JSON");
	cmd->add_flag_callback("--csv", [&format] { format = Format::Csv; }, "print CSV")
		->excludes(json);
}

// --probes GROUP,GROUP...: CLI11 splits the list and checks each name.
void add_probes_option(CLI::App *cmd, std::vector<std::string> &groups, const char *note = "")
{
	cmd->add_option("--probes", groups,
			std::string("probe groups to arm: all, or a list of "
				    "clone,phases,page_tables,cow,lifecycle") +
				note)
		->delimiter(',')
		// One argument, split at its commas: the next word is not a group.
		->expected(1)
		->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
		->allow_extra_args(false)
		->check(CLI::IsMember(clonescope::probe_group_names()))
		->capture_default_str();
}

} // namespace

int main(int argc, char **argv)
{
	using namespace clonescope;

	CLI::App app{"clonescope: per-call tracing of fork()/clone() cost", "clonescope"};
	app.require_subcommand(1);
	std::string device;
	app.add_option("--device", device, "clonescope device (default /dev/clonescope)");

	auto *status = app.add_subcommand("status", "show the module's ABI, features, stats and probes");
	status->footer(kStatusExamples);
	Format status_format = Format::Text;
	add_format_flags(status, status_format);

	RecordOptions rec;
	auto *record = app.add_subcommand("record", "trace the clones of a command's tree, running processes (-p) or all (-a)");
	record->footer(kRecordExamples);
	record->add_option("-o,--output", rec.output, "trace file to write ('' for none)")
		->capture_default_str();
	record->add_option("--buffer-pages", rec.buffer_pages, "per-CPU buffer size in pages")
		->check(CLI::Range(1u, 1024u)); // uapi: 1..1024, rounded up to a power of 2
	record->add_flag("-q,--quiet", rec.quiet, "do not print one line per event");
	std::vector<std::string> record_probes{"all"};
	add_probes_option(record, record_probes);
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
	report->footer(kReportExamples);
	report->add_option("file", rep.input, "trace file")->capture_default_str();
	add_format_flags(report, rep.format);
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

	ScriptOptions scr;
	auto *script = app.add_subcommand("script", "print every event of a trace, in time order");
	script->footer(kScriptExamples);
	script->add_option("file", scr.input, "trace file")->capture_default_str();
	auto *csv_flag = script->add_flag_callback(
		"--csv", [&scr] { scr.format = Format::Csv; }, "print CSV (default: JSON Lines)");
	script->add_flag_callback("--text", [&scr] { scr.format = Format::Text; },
				  "print the lines record prints live")
		->excludes(csv_flag);

	// stat and top share their options.
	LiveOptions live;
	// The clone group by default: what the columns need but COW pages, at
	// the least cost.
	std::vector<std::string> live_probes{"clone"};
	auto *stat = app.add_subcommand("stat", "live clone rates and latency, one line per interval");
	stat->footer(kStatExamples);
	auto *top = app.add_subcommand(
		"top", "live view of the comms, kinds or call sites (--by site -- COMMAND) that "
		       "clone most, redrawn in place");
	top->footer(kTopExamples);
	for (auto *cmd : {stat, top}) {
		cmd->add_option("interval", live.interval_s, "seconds per update")
			->capture_default_str()
			->check(CLI::Number)
			->check(CLI::Range(0.01, 3600.0));
		cmd->add_option("count", live.count, "number of updates (default: until Ctrl-C)")
			->check(kPositiveInteger);
		cmd->add_option("-p,--pid", live.filter.tree_of_pid,
				"only this process and its descendants")
			->check(kPositiveInteger);
		cmd->add_option("-c,--comm", live.filter.comm, "only clones made by tasks with this comm");
		add_format_flags(cmd, live.format);
		add_probes_option(cmd, live_probes, " (cow fills the COWpg column)");
	}
	for (auto *cmd : {stat, top})
		cmd->add_flag("!--records", live.in_kernel,
			      "decode a record per clone instead of reading the module's "
			      "in-kernel aggregates");
	top->add_option("-n,--rows", live.rows, "rows shown")
		->capture_default_str()
		->check(kPositiveInteger);
	top->add_option("--by", live.top_by,
			"one row per command name, kind of clone, or call site (site: of "
			"the command after --, run under the user-side shim)")
		->transform(CLI::CheckedTransformer(
			std::map<std::string, TopGrouping>{{"comm", TopGrouping::comm},
							   {"kind", TopGrouping::kind},
							   {"site", TopGrouping::site}},
			CLI::ignore_case))
		->default_str("comm");
	top->add_option("--preload", live.preload_path, "with --by site: the user-side shim")
		->check(CLI::ExistingFile);

	ExportOptions exp;
	auto *export_cmd = app.add_subcommand(
		"export", "serve the module's in-kernel aggregates to Prometheus at /metrics");
	export_cmd->footer(kExportExamples);
	export_cmd->add_option("--listen", exp.listen, "ADDR:PORT to serve on (:PORT: all addresses)")
		->capture_default_str();
	// The clone path's landmarks and the COW faults: what the phase
	// histograms and the COW pages need; page_tables costs a probe per
	// VMA and adds only the copy_page_range phase.
	std::vector<std::string> export_probes{"clone", "phases", "cow"};
	add_probes_option(export_cmd, export_probes);

	app.footer(kExamples); // after the subcommands, which would inherit it
	std::vector<std::string> command = split_command(argc, argv);
	CLI11_PARSE(app, argc, argv);
	if (*record)
		rec.command.insert(rec.command.end(), command.begin(), command.end());
	else if (*top)
		live.command = std::move(command);
	else if (!command.empty()) {
		fmt::print(stderr, "clonescope: only record and top --by site run a command (after "
				   "--)\n");
		return 2;
	}

	if (*status)
		return run_status(device, status_format);
	if (*report)
		return run_report(rep);
	if (*script)
		return run_script(scr);
	// The probe groups of whichever live command or record was chosen.
	auto groups = parse_probe_groups(*record       ? record_probes
					 : *export_cmd ? export_probes
						       : live_probes);
	if (!groups) {
		fmt::print(stderr, "clonescope: {}\n", groups.error().message);
		return 2;
	}
	rec.probe_groups = live.filter.probe_groups = *groups;
	live.device = device;
	if (*export_cmd) {
		exp.device = device;
		exp.probe_groups = *groups;
		return run_export(exp);
	}
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
