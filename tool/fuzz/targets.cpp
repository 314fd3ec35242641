#include "targets.hpp"

#include "correlate/correlate.hpp"
#include "report/perfetto.hpp"
#include "report/report.hpp"
#include "trace/trace_file.hpp"

namespace clonescope::fuzz {

void run_trace_input(std::span<const std::byte> bytes)
{
	(void)parse_trace(bytes);
}

void run_report_input(std::span<const std::byte> bytes)
{
	auto trace = parse_trace(bytes);
	if (!trace)
		return;
	const Correlation corr = correlate(*trace);
	// As cli/report_cmd.cpp prints them.
	constexpr auto replace = nlohmann::json::error_handler_t::replace;
	(void)render_perfetto(*trace, corr).dump(-1, ' ', false, replace);
	const Report report = build_report(*trace, corr);
	(void)render_json(report).dump(2, ' ', false, replace);
	(void)render_csv(report);
	(void)render_text(report, true);
}

void run_user_input(std::span<const std::byte> bytes)
{
	Trace trace;
	(void)parse_user_stream(bytes, 0, trace);
}

} // namespace clonescope::fuzz
