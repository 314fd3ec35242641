#include "cli/report_cmd.hpp"

#include <fmt/format.h>
#include <fstream>

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
	if (!trace) {
		fmt::print(stderr, "clonescope: {}\n", trace.error().message);
		return 1;
	}
	const Correlation corr = correlate(*trace);
	if (!opts.perfetto.empty()) {
		std::ofstream out(opts.perfetto);
		out << render_perfetto(*trace, corr).dump(-1, ' ', false, kReplaceBadUtf8) << '\n';
		if (!out.flush()) {
			fmt::print(stderr, "clonescope: cannot write {}\n", opts.perfetto);
			return 1;
		}
		fmt::print(stderr, "clonescope: wrote {} (open it in https://ui.perfetto.dev)\n",
			   opts.perfetto);
	}
	const Report report = build_report(*trace, corr, opts.sites);
	if (opts.json)
		fmt::print("{}\n", render_json(report).dump(2, ' ', false, kReplaceBadUtf8));
	else if (opts.csv)
		fmt::print("{}", render_csv(report));
	else
		fmt::print("{}", render_text(report, opts.histograms));
	return 0;
}

} // namespace clonescope
