#pragma once
// One output interface for every command, with text, JSON and CSV back
// ends (bpftrace's src/output/output.h is the model): a command builds
// what it has to say as one of the messages below, and the back end the
// user chose prints it.

#include <linux/clonescope.h>

#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "device/device.hpp"
#include "report/interval.hpp"
#include "report/report.hpp"
#include "report/script.hpp"

namespace clonescope {

enum class Format { Text, Json, Csv };

struct OutputOptions {
	bool histograms = true; // text report: log2 histograms per kind
	bool redraw = false;	// text top: clear the screen before each table
};

// One interval of `stat`.
struct IntervalView {
	std::string clock; // local time at its end, HH:MM:SS
	double seconds = 0;
	IntervalStats stats;
	uint64_t lost = 0;
	bool partial = false; // cut short by Ctrl-C
};

// What a row of `top` is: a command name, a kind of clone or a user call
// site (function (file:line) [module], as `report` groups them).
enum class TopGrouping { comm, kind, site };

// "comm", "kind", "site": the key of a top row in JSON and CSV.
const char *top_grouping_name(TopGrouping by);

// One interval of `top`: the busiest rows first, as many as asked for.
struct TopView {
	std::string clock;
	double seconds = 0;
	size_t clones = 0; // of all rows
	uint64_t lost = 0;
	bool partial = false;
	std::vector<std::pair<std::string, IntervalStats>> rows;
	TopGrouping by = TopGrouping::comm;
};

// What `status` reads from the module.
struct StatusView {
	AbiVersion abi;
	clonescope_stats stats{};
	std::vector<clonescope_probe_info> probes;
};

class Output {
public:
	virtual ~Output() = default;

	// One event (script, record's live lines). Text: the live line; JSON:
	// one object per line (JSON Lines); CSV: one row, the header first.
	virtual void event(const Event &ev, const EventContext &ctx) = 0;
	// The whole report of a trace.
	virtual void report(const Report &report) = 0;
	// stat: text, a vmstat-like line under a header printed once; JSON,
	// one object per line; CSV, one row.
	virtual void interval(const IntervalView &view) = 0;
	// top: text, a table redrawn in place; JSON, one object per interval
	// with its rows; CSV, one row per interval and comm.
	virtual void top(const TopView &view) = 0;
	// status: text, the module's state and probe table; JSON, one object;
	// CSV, the probe table.
	virtual void status(const StatusView &view) = 0;
};

std::unique_ptr<Output> make_output(Format format, std::ostream &out, OutputOptions opts = {});

} // namespace clonescope
