#include "cli/report_cmd.hpp"

#include <fmt/format.h>
#include <fstream>
#include <iostream>

#include "correlate/correlate.hpp"
#include "report/perfetto.hpp"
#include "report/report.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {

int run_report(const ReportOptions &opts)
{
	auto trace = read_trace(opts.input);
	if (!trace) {
		fmt::print(stderr, "clonescope: {}\n", trace.error().message);
		return 1;
	}
	const Correlation corr = correlate(*trace);
	if (!opts.perfetto.empty()) {
		std::ofstream out(opts.perfetto);
		out << render_perfetto(*trace, corr).dump() << '\n';
		if (!out.flush()) {
			fmt::print(stderr, "clonescope: cannot write {}\n", opts.perfetto);
			return 1;
		}
		fmt::print(stderr, "clonescope: wrote {} (open it in https://ui.perfetto.dev)\n",
			   opts.perfetto);
	}
	make_output(opts.format, std::cout, {.histograms = opts.histograms})
		->report(build_report(*trace, corr, opts.sites));
	if (!std::cout.flush()) {
		fmt::print(stderr, "clonescope: cannot write the report to stdout\n");
		return 1;
	}
	return 0;
}

} // namespace clonescope
