#pragma once
// `clonescope report`: samples grouped by call site and by kind, with
// percentiles of every duration, failures by errno and log2 histograms;
// rendered as text, JSON or CSV.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "correlate/correlate.hpp"
#include "report/pidns.hpp"
#include "report/stats.hpp"

namespace clonescope {

struct Metric {
	std::string name; // total, user, overhead, wakeup, cow_*, or a phase name
	std::string unit; // "ns" or "pages"
	std::optional<Summary> summary; // nullopt: unavailable in this group
};

struct Group {
	std::string key;
	std::vector<std::string> kinds; // the kinds of its samples, sorted
	size_t count = 0;
	size_t matched = 0; // user calls with their kernel record(s)
	size_t failures = 0;
	size_t restarts = 0; // kernel records restarted: not failures
	std::map<int, size_t> errors; // errno -> failures
	// total, user, overhead, wakeup, cow_pages, cow_copy, the child's and
	// the parent's COW counters apart (cow_child_copied, ...), fork_to_exec,
	// lifetime, zombie, self_cost,
	// phases in ABI order
	std::vector<Metric> metrics;
	Log2Hist total_us;	      // kernel total, in microseconds
	// By call site: the address-level sites grouped under a coarser key.
	std::vector<std::string> addresses;
};

// What clonescope's own handlers cost, over the trace's clone records.
struct SelfCost {
	Summary per_clone;  // self_cost_ns
	Summary clone_time; // end_ns - start_ns
	// Median self-cost as a percentage of the median clone time.
	double percent_of_median_clone() const;
};

struct Report {
	nlohmann::json meta;
	size_t user_calls = 0, user_matched = 0;
	size_t kernel_clones = 0, kernel_matched = 0, kernel_restarts = 0;
	size_t child_starts = 0;
	size_t cow_records = 0;
	size_t lifecycle_records = 0;
	// The children's and the parents' counts, each summed over every COW
	// record; nullopt without any.
	struct CowTotals {
		clonescope_cow_counts child{}, parent{};
	};
	std::optional<CowTotals> cow_total;
	uint64_t lost = 0;
	// nullopt: no clone records, or a module that does not measure it.
	std::optional<SelfCost> self_cost;
	std::vector<Group> by_kind; // most samples first
	SiteGrouping site_grouping = SiteGrouping::line;
	std::vector<Group> by_site;
	std::vector<PidNamespace> pid_namespaces; // where the tasks' own pids differ
};

Report build_report(const Trace &trace, const Correlation &corr,
		    SiteGrouping sites = SiteGrouping::line);

std::string render_text(const Report &report, bool histograms);
nlohmann::json render_json(const Report &report);
// One row per group and metric; unavailable metrics have empty values.
std::string render_csv(const Report &report);

} // namespace clonescope
