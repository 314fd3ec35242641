#pragma once

#include <string>

#include "correlate/correlate.hpp"
#include "output/output.hpp"

namespace clonescope {

struct ReportOptions {
	std::string input = "clonescope.cst";
	Format format = Format::Text;
	bool histograms = true;
	SiteGrouping sites = SiteGrouping::line;
	std::string perfetto; // file to write, empty for none
};

// `clonescope report`
int run_report(const ReportOptions &opts);

} // namespace clonescope
