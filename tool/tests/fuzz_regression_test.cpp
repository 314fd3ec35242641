// Replays every input the fuzzers ever crashed on (tool/fuzz/regressions/,
// one directory per harness) through the harness's own code: each must now
// come back as an error value or a report, under the sanitizers when the
// tests are built with CLONESCOPE_SANITIZE.  The trace and report inputs
// also go through the shipped program, `clonescope report` in each output
// format: exit 0 or 1 (a clear error), never a signal.
#include <filesystem>
#include <gtest/gtest.h>

#include "targets.hpp"
#include "test_util.hpp"

namespace clonescope {
namespace {

namespace fs = std::filesystem;

// The inputs of one harness; a harness without any has nothing to replay.
std::vector<fs::path> inputs_of(const char *harness)
{
	std::vector<fs::path> out;
	const fs::path dir = fs::path(CLONESCOPE_FUZZ_REGRESSIONS) / harness;
	for (const auto &e : fs::directory_iterator(dir))
		if (e.is_regular_file() && e.path().filename() != ".gitkeep")
			out.push_back(e.path());
	return out;
}

TEST(FuzzRegression, TraceInputs)
{
	for (const auto &p : inputs_of("trace")) {
		SCOPED_TRACE(p.string());
		EXPECT_NO_THROW(fuzz::run_trace_input(testing::read_file(p)));
	}
}

TEST(FuzzRegression, ReportInputs)
{
	for (const auto &p : inputs_of("report")) {
		SCOPED_TRACE(p.string());
		EXPECT_NO_THROW(fuzz::run_report_input(testing::read_file(p)));
	}
}

TEST(FuzzRegression, TraceInputsThroughTheReportCommand)
{
	const std::vector<std::vector<std::string>> formats = {
		{}, {"--json"}, {"--csv"}, {"--perfetto", "/dev/null"}};
	auto inputs = inputs_of("trace");
	const auto report_inputs = inputs_of("report");
	inputs.insert(inputs.end(), report_inputs.begin(), report_inputs.end());
	for (const auto &p : inputs) {
		for (const auto &format : formats) {
			std::vector<std::string> argv = {CLONESCOPE_TOOL, "report"};
			argv.insert(argv.end(), format.begin(), format.end());
			argv.push_back(p.string());
			std::string err;
			const int status = testing::run_program(argv, err);
			EXPECT_TRUE(status == 0 || status == 1)
				<< p << " " << (format.empty() ? "text" : format[0]) << ": exit "
				<< status << "\n"
				<< err;
		}
	}
}

TEST(FuzzRegression, UserInputs)
{
	for (const auto &p : inputs_of("user")) {
		SCOPED_TRACE(p.string());
		EXPECT_NO_THROW(fuzz::run_user_input(testing::read_file(p)));
	}
}

} // namespace
} // namespace clonescope
