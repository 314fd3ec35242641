#pragma once

#include <string>

namespace clonescope {

struct ReportOptions {
	std::string input = "clonescope.cst";
	bool json = false;
	bool csv = false;
	bool histograms = true;
	std::string perfetto; // file to write, empty for none
};

// `clonescope report`
int run_report(const ReportOptions &opts);

} // namespace clonescope
