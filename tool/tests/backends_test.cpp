// The text, JSON and CSV back ends of stat, top and status, on messages
// built by hand.

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "output/output.hpp"
#include "test_util.hpp"

namespace clonescope {
namespace {

using json = nlohmann::json;
using testing::lines_of;

IntervalStats busy()
{
	IntervalStats s;
	s.clones = 10;
	s.fork = 6;
	s.vfork = 1;
	s.thread = 2;
	s.failed = 1;
	s.restarted = 3;
	s.cow_pages = 42;
	s.total = Summary{10, 1000, 50'000, 90'000, 120'000, 150'000};
	return s; // no wake-up measured
}

IntervalView interval(bool partial = false)
{
	return {"12:00:01", partial ? 0.4 : 2.0, busy(), 5, partial};
}

TEST(Backends, StatText)
{
	std::ostringstream out;
	auto o = make_output(Format::Text, out);
	o->interval(interval());
	o->interval(interval(true));
	const auto lines = lines_of(out.str());
	ASSERT_EQ(3u, lines.size()) << out.str(); // the header once
	EXPECT_EQ(0u, lines[0].find("TIME     CLONES/s   FORK  VFORK THREAD  OTHER  FAIL RSTRT"));
	EXPECT_EQ("12:00:01      5.0      6      1      2      1     1     3    50.0us   120.0us   "
		  "150.0us         -      42     5",
		  lines[1]);
	// The interval Ctrl-C cut short: its rate over its own length.
	EXPECT_EQ(0u, lines[2].find("12:00:01     25.0 "));
	EXPECT_NE(std::string::npos, lines[2].find("  (last 0.4s)"));
}

TEST(Backends, StatJsonAndCsv)
{
	std::ostringstream js, cs;
	auto j = make_output(Format::Json, js);
	auto c = make_output(Format::Csv, cs);
	for (auto *o : {j.get(), c.get()}) {
		o->interval(interval());
		o->interval(interval(true));
	}
	const auto jl = lines_of(js.str());
	ASSERT_EQ(2u, jl.size());
	const json first = json::parse(jl[0]);
	EXPECT_EQ("12:00:01", first["time"]);
	EXPECT_EQ(5.0, first["clones_per_s"]);
	EXPECT_EQ(6, first["fork"]);
	EXPECT_EQ(1, first["other"]);
	EXPECT_EQ(50'000, first["total_p50_ns"]);
	EXPECT_EQ(150'000, first["total_max_ns"]);
	EXPECT_TRUE(first["wakeup_p50_ns"].is_null()); // not measured, not 0
	EXPECT_EQ(42, first["cow_pages"]);
	EXPECT_EQ(5, first["lost"]);
	EXPECT_FALSE(first["partial"]);
	EXPECT_TRUE(json::parse(jl[1])["partial"]);
	// Without the COW probes the pages are unknown: null, "-" in text.
	IntervalView no_cow = interval();
	no_cow.stats.cow_pages.reset();
	std::ostringstream js2, text;
	make_output(Format::Json, js2)->interval(no_cow);
	EXPECT_TRUE(json::parse(js2.str())["cow_pages"].is_null());
	make_output(Format::Text, text)->interval(no_cow);
	EXPECT_NE(std::string::npos, text.str().find("  -     5\n")) << text.str();

	const auto cl = lines_of(cs.str());
	ASSERT_EQ(3u, cl.size()); // header once, a row per interval
	EXPECT_EQ("time,seconds,partial,clones_per_s,clones,fork,vfork,thread,other,failed,"
		  "restarted,total_p50_ns,total_p99_ns,total_max_ns,wakeup_p50_ns,cow_pages,lost",
		  cl[0]);
	EXPECT_EQ("12:00:01,2.0,false,5.0,10,6,1,2,1,1,3,50000,120000,150000,,42,5", cl[1]);
}

TopView top_view()
{
	IntervalStats sh;
	sh.clones = 3;
	sh.fork = 3;
	return {"12:00:02", 1.0, 13, 0, false, {{"make", busy()}, {"sh", sh}}};
}

TEST(Backends, Top)
{
	std::ostringstream text, js, cs;
	make_output(Format::Text, text)->top(top_view());
	const auto tl = lines_of(text.str());
	ASSERT_GE(tl.size(), 5u);
	EXPECT_EQ("clonescope top - 12:00:02   13.0 clones/s   lost 0", tl[0]);
	EXPECT_EQ(0u, tl[2].find("COMM             CLONES/s"));
	EXPECT_EQ(0u, tl[3].find("make                 10.0      6"));
	EXPECT_EQ(0u, tl[4].find("sh                    3.0      3"));

	make_output(Format::Json, js)->top(top_view());
	const json j = json::parse(js.str());
	ASSERT_EQ(2u, j["rows"].size());
	EXPECT_EQ("make", j["rows"][0]["comm"]);
	EXPECT_EQ(10, j["rows"][0]["clones"]);
	EXPECT_TRUE(j["rows"][1]["total_p50_ns"].is_null());

	auto c = make_output(Format::Csv, cs);
	c->top(top_view());
	c->top(top_view());
	const auto cl = lines_of(cs.str());
	ASSERT_EQ(5u, cl.size()); // header, then a row per interval and comm
	EXPECT_EQ(0u, cl[0].find("time,seconds,partial,comm,clones_per_s,clones,"));
	EXPECT_EQ(0u, cl[2].find("12:00:02,1.0,false,sh,3.0,3,3,"));
}

// top --by kind: the rows' key is the kind, in every back end.
TEST(Backends, TopByKind)
{
	TopView v = top_view();
	v.by = TopGrouping::kind;
	v.rows[0].first = "fork";
	v.rows[1].first = "vfork";
	std::ostringstream text, js, cs;
	make_output(Format::Text, text)->top(v);
	const auto tl = lines_of(text.str());
	ASSERT_GE(tl.size(), 4u);
	EXPECT_EQ(0u, tl[2].find("KIND             CLONES/s"));
	EXPECT_EQ(0u, tl[3].find("fork                 10.0"));
	make_output(Format::Json, js)->top(v);
	const json j = json::parse(js.str());
	EXPECT_EQ("vfork", j["rows"][1]["kind"]);
	EXPECT_FALSE(j["rows"][1].contains("comm"));
	make_output(Format::Csv, cs)->top(v);
	EXPECT_EQ(0u, lines_of(cs.str())[0].find("time,seconds,partial,kind,clones_per_s,"));
}

StatusView status_view()
{
	StatusView v;
	v.abi = {CLONESCOPE_ABI_MAJOR, 7, CLONESCOPE_FEAT_KERNEL_CLONE | CLONESCOPE_FEAT_COW};
	v.stats.enabled = 1;
	v.stats.nr_cpus = 2;
	v.stats.pages_per_cpu = 8;
	v.stats.produced = 100;
	v.stats.delivered = 90;
	v.stats.dropped = 10;
	v.stats.clones = 4;
	v.stats.handler_ns = 4000;
	clonescope_probe_info ok{}, missing{};
	ok.state = CLONESCOPE_PROBE_REGISTERED;
	ok.hits = 8;
	ok.handler_ns = 800;
	std::strcpy(ok.symbol, "kernel_clone");
	std::strcpy(ok.role, "clone");
	missing.state = CLONESCOPE_PROBE_FAILED;
	missing.error = -ENOENT;
	std::strcpy(missing.symbol, "wp_page_copy");
	std::strcpy(missing.role, "cow, copy");
	v.probes = {ok, missing};
	return v;
}

TEST(Backends, Status)
{
	std::ostringstream text, js, cs;
	make_output(Format::Text, text)->status(status_view());
	EXPECT_NE(std::string::npos, text.str().find("module ABI:  1.7 (tool built for 1."));
	EXPECT_NE(std::string::npos,
		  text.str().find("records:     produced 100, delivered 90, dropped 10"));
	EXPECT_NE(std::string::npos, text.str().find(", 1000 ns per clone over 4 clones\n"));
	EXPECT_NE(std::string::npos, text.str().find("ENOENT"));

	make_output(Format::Json, js)->status(status_view());
	const json j = json::parse(js.str());
	EXPECT_EQ(7, j["abi"]["minor"]);
	EXPECT_EQ(json::array({"kernel_clone", "cow"}), j["features"]);
	EXPECT_EQ(10, j["dropped"]);
	ASSERT_EQ(2u, j["probes"].size());
	EXPECT_EQ("kernel_clone", j["probes"][0]["symbol"]);
	EXPECT_TRUE(j["probes"][0]["error"].is_null());
	EXPECT_EQ("ENOENT", j["probes"][1]["error"]);

	make_output(Format::Csv, cs)->status(status_view());
	const auto cl = lines_of(cs.str());
	ASSERT_EQ(3u, cl.size());
	EXPECT_EQ("index,symbol,role,kind,state,error,hits,nmissed,handler_ns", cl[0]);
	EXPECT_EQ(0u, cl[2].find("1,wp_page_copy,\"cow, copy\",-,"));
	EXPECT_NE(std::string::npos, cl[2].find(",ENOENT,0,0,0"));
}

} // namespace
} // namespace clonescope
