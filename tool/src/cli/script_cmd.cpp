#include "cli/script_cmd.hpp"

#include <fmt/format.h>
#include <iostream>

#include "cli/fail.hpp"
#include "correlate/correlate.hpp"
#include "report/script.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

int run_script(const ScriptOptions &opts)
{
	auto trace = read_trace(opts.input);
	if (!trace)
		return fail(trace.error());
	const Correlation corr = correlate(*trace);
	const EventContext ctx = event_context(*trace);
	auto out = make_output(opts.format, std::cout);
	for (const auto &ev : script_events(*trace, corr))
		out->event(ev, ctx);
	std::cout.flush();
	if (trace->kernel.unknown_skipped())
		fmt::print(stderr, "clonescope: {} records of types this tool does not know skipped\n",
			   trace->kernel.unknown_skipped());
	if (!std::cout)
		return fail(Error{"cannot write the events to stdout"});
	return 0;
}

} // namespace clonescope
