#include "cli/report_cmd.hpp"

#include <fmt/format.h>
#include <fstream>
#include <iostream>

#include "cli/fail.hpp"
#include "correlate/correlate.hpp"
#include "report/perfetto.hpp"
#include "report/report.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

// Names in a trace (comms, paths) are bytes, not always UTF-8: print U+FFFD
// for what is not, rather than throw.
constexpr auto kReplaceBadUtf8 = nlohmann::json::error_handler_t::replace;

int run_report(const ReportOptions &opts)
{
	auto trace = read_trace(opts.input);
	if (!trace)
		return fail(trace.error());
	const Correlation corr = correlate(*trace);
	if (!opts.perfetto.empty()) {
		std::ofstream out(opts.perfetto);
		out << render_perfetto(*trace, corr).dump(-1, ' ', false, kReplaceBadUtf8) << '\n';
		if (!out.flush())
			return fail(Error{"cannot write " + opts.perfetto});
		fmt::print(stderr, "clonescope: wrote {} (open it in https://ui.perfetto.dev)\n",
			   opts.perfetto);
	}
	make_output(opts.format, std::cout, {.histograms = opts.histograms})
		->report(build_report(*trace, corr, opts.sites));
	if (!std::cout.flush())
		return fail(Error{"cannot write the report to stdout"});
	return 0;
}

} // namespace clonescope
