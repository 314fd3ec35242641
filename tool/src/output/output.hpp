#pragma once
// One output interface for every command, with text, JSON and CSV back
// ends (bpftrace's src/output/output.h is the model): a command builds
// what it has to say as one of the messages below, and the back end the
// user chose prints it.

#include <iosfwd>
#include <memory>

#include "report/report.hpp"
#include "report/script.hpp"

namespace clonescope {

enum class Format { Text, Json, Csv };

struct OutputOptions {
	bool histograms = true; // text report: log2 histograms per kind
};

class Output {
public:
	virtual ~Output() = default;

	// One event (script, record's live lines). Text: the live line; JSON:
	// one object per line (JSON Lines); CSV: one row, the header first.
	virtual void event(const Event &ev, const EventContext &ctx) = 0;
	// The whole report of a trace.
	virtual void report(const Report &report) = 0;
};

std::unique_ptr<Output> make_output(Format format, std::ostream &out, OutputOptions opts = {});

} // namespace clonescope
