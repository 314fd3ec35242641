#include "cli/script_cmd.hpp"

#include <fmt/format.h>
#include <iostream>

#include "correlate/correlate.hpp"
#include "report/script.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

int run_script(const ScriptOptions &opts)
{
	auto trace = read_trace(opts.input);
	if (!trace) {
		fmt::print(stderr, "clonescope: {}\n", trace.error().message);
		return 1;
	}
	const Correlation corr = correlate(*trace);
	const EventContext ctx = event_context(*trace);
	auto out = make_output(opts.format, std::cout);
	for (const auto &ev : script_events(*trace, corr))
		out->event(ev, ctx);
	std::cout.flush();
	if (trace->kernel.unknown_skipped)
		fmt::print(stderr, "clonescope: {} records of types this tool does not know skipped\n",
			   trace->kernel.unknown_skipped);
	if (!std::cout) {
		fmt::print(stderr, "clonescope: cannot write the events to stdout\n");
		return 1;
	}
	return 0;
}

} // namespace clonescope
