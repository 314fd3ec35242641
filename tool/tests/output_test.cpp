// The report's JSON, CSV and Perfetto outputs on the fixture trace,
// checked against values derived from the fixture's records.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <fmt/format.h>
#include <sstream>

#include "correlate/correlate.hpp"
#include "fixture_data.hpp"
#include "report/event_line.hpp"
#include "report/perfetto.hpp"
#include "report/report.hpp"
#include "test_util.hpp"
#include "user_trace.h"

namespace clonescope {
namespace {

using json = nlohmann::json;
using namespace fixtures;

class Output : public ::testing::Test {
protected:
	void SetUp() override
	{
		trace = testing::fixture_trace();
		corr = correlate(trace);
		report = build_report(trace, corr);
		// The records the fixture built, to derive expected values.
		for (const auto r : trace.kernel)
			if (const auto *c = r.get_if<clonescope_clone_event>())
				clones.push_back(*c);
	}

	static const json &group(const json &list, const std::string &key)
	{
		for (const auto &g : list)
			if (g["key"] == key)
				return g;
		throw std::runtime_error("no group " + key);
	}

	Trace trace;
	Correlation corr;
	Report report;
	std::vector<clonescope_clone_event> clones; // fork, spawn, thread, failed, raw
};

TEST_F(Output, Json)
{
	const json j = render_json(report);
	EXPECT_EQ(5, j["correlation"]["user_calls"]);
	EXPECT_EQ(1, j["correlation"]["user_unmatched"]);
	EXPECT_EQ(1, j["correlation"]["kernel_unmatched"]);
	EXPECT_EQ(7, j["correlation"]["lost"]);

	// Grouped by source line; the return address stays in the JSON.
	EXPECT_EQ("line", j["site_grouping"]);
	const json &spawn = group(j["by_site"], "run_spawns (fixture.c:57) [fixture]");
	EXPECT_EQ(json::array({"run_spawns+0x18 (fixture.c:57) [fixture]"}), spawn["addresses"]);
	EXPECT_EQ(1, spawn["count"]);
	EXPECT_EQ(json::array({"posix_spawn"}), spawn["kinds"]);
	const auto &ev = clones[1];
	EXPECT_EQ(ev.end_ns - ev.start_ns, spawn["metrics"]["total"]["p50"].get<uint64_t>());
	EXPECT_EQ(ev.phases[CLONESCOPE_PHASE_ALLOC_PID].duration_ns,
		  spawn["metrics"]["alloc_pid"]["max"].get<uint64_t>());
	// Not measured for this record: null, never 0.
	EXPECT_TRUE(spawn["metrics"]["copy_creds"].is_null());
	EXPECT_TRUE(spawn["metrics"]["cow_pages"].is_null());
	EXPECT_EQ(1, j["correlation"]["cow_records"]);
	// The fork's COW bill: child + parent copies.
	const json &fork_site = group(j["by_site"], "run_forks (fixture.c:42) [fixture]");
	EXPECT_EQ(25 + 12, fork_site["metrics"]["cow_pages"]["max"]);
	EXPECT_EQ("pages", fork_site["metrics"]["cow_pages"]["unit"]);
	// ... and each side apart.
	EXPECT_EQ(25, fork_site["metrics"]["cow_child_copied"]["max"]);
	EXPECT_EQ(12, fork_site["metrics"]["cow_parent_copied"]["max"]);
	EXPECT_EQ(4, fork_site["metrics"]["cow_child_zero_copied"]["max"]);
	EXPECT_EQ(0, fork_site["metrics"]["cow_parent_zero_copied"]["max"]);
	EXPECT_EQ(0, fork_site["metrics"]["cow_child_thp_faults"]["max"]);
	EXPECT_EQ(2, fork_site["metrics"]["cow_parent_thp_faults"]["max"]);
	EXPECT_EQ("faults", fork_site["metrics"]["cow_parent_thp_faults"]["unit"]);
	EXPECT_EQ(0, fork_site["metrics"]["cow_parent_hugetlb_copied"]["max"]);
	EXPECT_TRUE(spawn["metrics"]["cow_child_copied"].is_null());
	// The trace's totals, each side apart.
	EXPECT_EQ(25, j["cow"]["child"]["copied"]);
	EXPECT_EQ(4, j["cow"]["child"]["zero_copied"]);
	EXPECT_EQ(50000, j["cow"]["child"]["copy_ns"]);
	EXPECT_EQ(12, j["cow"]["parent"]["copied"]);
	EXPECT_EQ(3, j["cow"]["parent"]["reused"]);
	EXPECT_EQ(2, j["cow"]["parent"]["thp_fallback"]);
	EXPECT_EQ(0, j["cow"]["parent"]["hugetlb_bytes"]);

	const json &thread = group(j["by_kind"], "thread");
	EXPECT_EQ(2, thread["count"]);
	EXPECT_EQ(1, thread["failures"]);
	EXPECT_EQ(1, thread["failures_by_errno"]["EINVAL"]["count"]);
	EXPECT_EQ("Invalid argument", thread["failures_by_errno"]["EINVAL"]["message"]);
	// Two totals: the failed clone3 (2 us) and the thread (40 us).
	const uint64_t short_us = (clones[3].end_ns - clones[3].start_ns) / 1000;
	const uint64_t long_us = (clones[2].end_ns - clones[2].start_ns) / 1000;
	const auto slots = thread["histogram_total_usecs"].get<std::vector<uint64_t>>();
	ASSERT_EQ(Log2Hist::slot_of(long_us) + 1, slots.size());
	EXPECT_EQ(1u, slots[Log2Hist::slot_of(short_us)]);
	EXPECT_EQ(1u, slots[Log2Hist::slot_of(long_us)]);

	// The fork kind: two user forks and the raw fork; p50 of the two totals
	// (nearest rank) is the smaller one.
	const json &fork = group(j["by_kind"], "fork");
	EXPECT_EQ(3, fork["count"]);
	EXPECT_EQ(1, fork["matched"]);
	EXPECT_EQ(2, fork["metrics"]["total"]["n"]);
	EXPECT_EQ(std::min(clones[0].end_ns - clones[0].start_ns, clones[4].end_ns - clones[4].start_ns),
		  fork["metrics"]["total"]["p50"].get<uint64_t>());
}

TEST_F(Output, Csv)
{
	const std::string csv = render_csv(report);
	std::istringstream in(csv);
	std::vector<std::string> lines;
	for (std::string l; std::getline(in, l);)
		lines.push_back(l);
	ASSERT_FALSE(lines.empty());
	EXPECT_EQ("group_by,key,kinds,count,matched,failures,restarts,metric,unit,n,p50,p90,p99,max",
		  lines[0]);
	// Groups x metrics rows, plus the header and the two self-cost rows.
	// 7 metrics, 4 COW counters for each side, 3 of the lifecycle, the
	// phases.
	const size_t metrics = 7 + 2 * 4 + 3 + CLONESCOPE_NR_PHASES;
	EXPECT_EQ(1 + (report.by_kind.size() + report.by_site.size()) * metrics + 2, lines.size());

	const uint64_t total = clones[1].end_ns - clones[1].start_ns;
	const std::string site = "run_spawns (fixture.c:57) [fixture]";
	auto has = [&](const std::string &line) {
		return std::find(lines.begin(), lines.end(), line) != lines.end();
	};
	EXPECT_TRUE(has(fmt::format("site,{},posix_spawn,1,1,0,0,total,ns,1,{},{},{},{}", site, total,
				    total, total, total)))
		<< csv;
	EXPECT_TRUE(has(fmt::format("site,{},posix_spawn,1,1,0,0,copy_creds,ns,0,,,,", site)));
	const std::string fork_site = "run_forks (fixture.c:42) [fixture]";
	EXPECT_TRUE(has(fmt::format("site,{},fork,2,1,0,0,cow_child_copied,pages,1,25,25,25,25",
				    fork_site)))
		<< csv;
	EXPECT_TRUE(has(fmt::format("site,{},fork,2,1,0,0,cow_parent_copied,pages,1,12,12,12,12",
				    fork_site)));
	EXPECT_TRUE(has(fmt::format("site,{},posix_spawn,1,1,0,0,self_cost,ns,1,1200,1200,1200,1200",
				    site)));
	// Self-costs 300, 800, 1200, 1500, 3000 ns; clone times 2, 40, 60, 80, 100 us.
	EXPECT_TRUE(has("trace,all,,5,,,,self_cost,ns,5,1200,3000,3000,3000")) << csv;
	EXPECT_TRUE(has("trace,all,,5,,,,clone_time,ns,5,60000,100000,100000,100000")) << csv;
	// A key with a comma is quoted.
	Report r = report;
	r.by_site.resize(1);
	r.by_kind.clear();
	r.by_site[0].key = "a,\"b\"";
	EXPECT_NE(std::string::npos, render_csv(r).find("site,\"a,\"\"b\"\"\","));
}

// The fixture's clone records cost 3000 (fork), 1200 (spawn), 800 (thread),
// 300 (failed clone3) and 1500 ns (raw clone) of handler time, and last 100,
// 60, 40, 2 and 80 us: medians 1200 ns and 60 us, 2.0%.
TEST_F(Output, SelfCost)
{
	const json j = render_json(report);
	EXPECT_EQ(json({{"clones", 5},
			{"median_ns", 1200},
			{"p90_ns", 3000},
			{"max_ns", 3000},
			{"median_clone_ns", 60000},
			{"percent_of_median_clone", 2.0}}),
		  j["self_cost"]);
	// Per kind: the forks' 3000 and 1500 ns (the fork without a kernel
	// record has none); the threads' 800 and 300 ns.
	const json &fork = group(j["by_kind"], "fork")["metrics"]["self_cost"];
	EXPECT_EQ(2, fork["n"]);
	EXPECT_EQ(1500, fork["p50"]);
	EXPECT_EQ(3000, fork["max"]);
	EXPECT_EQ(300, group(j["by_kind"], "thread")["metrics"]["self_cost"]["p50"]);

	const std::string text = render_text(report, false);
	const std::string footer =
		"\nclonescope cost: 1.2 us per clone (median self_cost_ns), 2.0% of median clone "
		"time\n";
	ASSERT_GE(text.size(), footer.size());
	EXPECT_EQ(footer, text.substr(text.size() - footer.size()));
}

// A module without CLONESCOPE_FEAT_SELF_COST leaves self_cost_ns 0: that is
// unavailable, not free.
TEST_F(Output, SelfCostUnavailableWithoutTheFeature)
{
	trace.meta["features"] = kFeatures & ~static_cast<uint64_t>(CLONESCOPE_FEAT_SELF_COST);
	const Report r = build_report(trace, corr);
	const json j = render_json(r);
	EXPECT_TRUE(j["self_cost"].is_null());
	EXPECT_TRUE(group(j["by_kind"], "fork")["metrics"]["self_cost"].is_null());
	EXPECT_NE(std::string::npos, render_text(r, false).find("clonescope cost: unavailable"));
	EXPECT_EQ(std::string::npos, render_csv(r).find("trace,all"));
}

// -ERESTARTNOINTR records are restarts, not failures: a fork() call that
// the kernel restarted twice before it succeeded, a restart no call owns
// (the trace ended), and one real failure.
TEST(Restarts, CountedApartFromFailures)
{
	Trace t;
	t.images.push_back({});
	t.calls.push_back({0, 10, 10, CS_KIND_FORK, 0, 77, 1000, 9000, 0x1, 77});
	t.calls.push_back({0, 10, 10, CS_KIND_FORK, -1, 0, 10'000, 11'000, 0x1, 0});
	t.calls.back().err = EAGAIN;
	t.kernel.push_back(restarted_event(10, 2000, 2500));
	t.kernel.push_back(restarted_event(10, 3000, 3500));
	t.kernel.push_back(clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 4000, 8000, 77));
	t.kernel.push_back(
		clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 10'100, 10'900, -EAGAIN));
	t.kernel.push_back(restarted_event(10, 20'000, 20'500));
	const Correlation c = correlate(t);
	EXPECT_EQ(3u, c.kernel_restarts);
	EXPECT_FALSE(c.samples[0].failed());
	EXPECT_EQ(2u, c.samples[0].restarts());
	EXPECT_FALSE(c.samples[2].failed()); // the lone restart

	const Report r = build_report(t, c);
	const json j = render_json(r);
	EXPECT_EQ(3, j["correlation"]["kernel_restarts"]);
	ASSERT_EQ(1u, j["by_kind"].size());
	const json &fork = j["by_kind"][0];
	EXPECT_EQ(3, fork["count"]);
	EXPECT_EQ(1, fork["failures"]);
	EXPECT_EQ(3, fork["restarts"]);
	EXPECT_EQ(json({{"EAGAIN", {{"count", 1}, {"message", "Resource temporarily unavailable"}}}}),
		  fork["failures_by_errno"]);

	const std::string text = render_text(r, false);
	EXPECT_NE(std::string::npos, text.find("restarted clones: 3 ")) << text;
	EXPECT_NE(std::string::npos, text.find("failed: 1   restarted: 3\n")) << text;
	EXPECT_EQ(std::string::npos, text.find("ERESTARTNOINTR (")) << text;
	EXPECT_NE(std::string::npos, render_csv(r).find("kind,fork,fork,3,2,1,3,total,")) << render_csv(r);
}

// The COW line shows the zero-page, THP and hugetlb counters that are not 0.
TEST(Cow, LiveLineShowsNonZeroCounters)
{
	clonescope_cow_event ev{};
	ev.hdr.timestamp_ns = 2'500'000'000;
	ev.parent_pid = 10;
	ev.parent_tgid = 10;
	ev.child_pid = 11;
	ev.end_reason = CLONESCOPE_COW_END_EXEC;
	ev.child.copied = 3;
	ev.child.reused = 1;
	ev.child.zero_copied = 5;
	ev.child.copy_ns = 1500;
	ev.parent.copied = 7;
	ev.parent.copy_ns = 500;
	ev.parent.thp_faults = 2;
	ev.parent.thp_fallback = 1;
	ev.parent.hugetlb_faults = 1;
	ev.parent.hugetlb_copied = 1;
	ev.parent.hugetlb_bytes = 2 << 20;
	EXPECT_EQ("    0.500000 COW of fork 10/10 -> 11 (until exec): child copied 3 reused 1 "
		  "zero_copied 5, parent copied 7 reused 0 thp_faults 2 thp_fallback 1 "
		  "hugetlb_faults 1 hugetlb_copied 1 hugetlb_bytes 2097152, copying took 2.0us",
		  format_cow(ev, 2'000'000'000));
}

TEST_F(Output, CowTotals)
{
	// The fixture's one COW record: child 25 copied, 4 zero-page copies;
	// parent 12 copied, 3 reused, 2 THP faults that fell back to 4K.
	EXPECT_NE(std::string::npos,
		  render_text(report, false)
			  .find("\nCOW of all forks: children copied 25 reused 0 zero_copied 4, "
				"parents copied 12 reused 3 thp_faults 2 thp_fallback 2, copying took "
				"70.0us\n"));
	Trace no_cow = trace;
	no_cow.kernel = {};
	for (const auto r : trace.kernel)
		if (!r.holds<clonescope_cow_event>())
			r.visit([&no_cow](const auto &ev) { no_cow.kernel.push_back(ev); });
	const Report r = build_report(no_cow, correlate(no_cow));
	EXPECT_EQ(std::string::npos, render_text(r, false).find("COW of all"));
	EXPECT_TRUE(render_json(r)["cow"].is_null());
}

TEST_F(Output, Perfetto)
{
	const json p = render_perfetto(trace, corr);
	const json &events = p["traceEvents"];
	auto count = [&](const std::string &ph, const std::string &cat) {
		return std::count_if(events.begin(), events.end(), [&](const json &e) {
			return e["ph"] == ph && (cat.empty() || e.value("cat", "") == cat);
		});
	};
	EXPECT_EQ(5, count("X", "user"));
	EXPECT_EQ(5, count("X", "kernel"));
	// One slice per measured phase, none for unavailable ones.
	long phases = 0;
	for (const auto &c : clones)
		phases += std::popcount(c.phase_mask);
	EXPECT_EQ(phases, count("X", "phase"));
	// Child first runs known for fork, spawn and thread: three arrows.
	EXPECT_EQ(3, count("X", "child"));
	EXPECT_EQ(3, count("s", "flow"));
	EXPECT_EQ(3, count("f", "flow"));

	// The fork's arrow goes from its parent's track to the child's.
	uint64_t id = 0;
	for (const auto &e : events)
		if (e["ph"] == "f" && e["tid"] == 5000)
			id = e["id"];
	ASSERT_NE(0u, id);
	for (const auto &e : events) {
		if (e["ph"] == "s" && e["id"] == id) {
			EXPECT_EQ(kPid, e["tid"]);
			EXPECT_EQ(kPid, e["pid"]);
		}
	}
	// The fork's syscall slice, in microseconds from the trace origin.
	const uint64_t t0 = p["otherData"]["clonescope_origin_ns"];
	auto fork_slice = std::find_if(events.begin(), events.end(), [](const json &e) {
		return e["cat"] == "kernel" && e["args"]["result"] == "5000";
	});
	ASSERT_NE(events.end(), fork_slice);
	EXPECT_DOUBLE_EQ(static_cast<double>(clones[0].start_ns - t0) / 1000, (*fork_slice)["ts"]);
	EXPECT_DOUBLE_EQ(static_cast<double>(clones[0].end_ns - clones[0].start_ns) / 1000,
			 (*fork_slice)["dur"]);
	// The fork's COW counter: 0 at the fork, the copies at the window's end.
	EXPECT_EQ(2, count("C", ""));
	for (const auto &e : events)
		if (e["ph"] == "C" && e["args"]["child"] != 0) {
			EXPECT_EQ(12, e["args"]["parent"]);
		}
	// Every task has a named track.
	EXPECT_GE(count("M", ""), 4);
}

TEST_F(Output, TextNamesUnavailablePhases)
{
	const std::string text = render_text(report, true);
	EXPECT_NE(std::string::npos, text.find("user calls: 5 (4 matched"));
	EXPECT_NE(std::string::npos, text.find("failed with EINVAL (Invalid argument): 1"));
	EXPECT_NE(std::string::npos, text.find("unavailable: cow_pages, cow_copy, cow_child_copied, "
						 "cow_child_zero_copied, cow_child_thp_faults, "
						 "cow_child_hugetlb_copied, cow_parent_copied, "
						 "cow_parent_zero_copied, cow_parent_thp_faults, "
						 "cow_parent_hugetlb_copied, fork_to_exec, lifetime, zombie, "
						 "copy_creds, sched_fork"));
	EXPECT_NE(std::string::npos, text.find("usecs               : count    distribution"));
}


// ABI 1.5, CLONESCOPE_OPT_SAMPLED_COST: only the clones flagged timed were
// measured; an untimed one's self_cost_ns 0 is left out, not a free clone.
// Before 1.5 (no CLONESCOPE_FEAT_SAMPLED_COST) there is no flag and every
// clone counts.
TEST_F(Output, SelfCostSampledOnlyTimedClonesCount)
{
	Trace t;
	auto timed = clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 1000, 11'000, 11);
	timed.flags |= CLONESCOPE_CLONE_TIMED;
	timed.self_cost_ns = 700;
	t.kernel.push_back(timed);
	t.kernel.push_back(clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 20'000, 30'000, 12));
	t.kernel.push_back(clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 40'000, 50'000, 13));

	t.meta["features"] = CLONESCOPE_FEAT_SELF_COST | CLONESCOPE_FEAT_SAMPLED_COST;
	json j = render_json(build_report(t, correlate(t)));
	EXPECT_EQ(1, j["self_cost"]["clones"]);
	EXPECT_EQ(700, j["self_cost"]["median_ns"]);
	const json &fork = group(j["by_kind"], "fork")["metrics"]["self_cost"];
	EXPECT_EQ(1, fork["n"]);
	EXPECT_EQ(700, fork["p50"]);

	t.meta["features"] = CLONESCOPE_FEAT_SELF_COST;
	j = render_json(build_report(t, correlate(t)));
	EXPECT_EQ(3, j["self_cost"]["clones"]);
	EXPECT_EQ(0, j["self_cost"]["median_ns"]);
}

} // namespace
} // namespace clonescope
