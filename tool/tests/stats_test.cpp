#include <gtest/gtest.h>

#include <numeric>
#include <sstream>

#include "report/stats.hpp"

namespace clonescope {
namespace {

TEST(Stats, NearestRankPercentiles)
{
	std::vector<uint64_t> v(100);
	std::iota(v.begin(), v.end(), 1); // 1..100
	auto s = summarize(v);
	ASSERT_TRUE(s);
	EXPECT_EQ(100u, s->n);
	EXPECT_EQ(1u, s->min);
	EXPECT_EQ(50u, s->p50);
	EXPECT_EQ(90u, s->p90);
	EXPECT_EQ(99u, s->p99);
	EXPECT_EQ(100u, s->max);

	// Order does not matter; a single value is every percentile.
	s = summarize({30, 10, 20});
	EXPECT_EQ(20u, s->p50);
	EXPECT_EQ(30u, s->p90);
	s = summarize({7});
	EXPECT_EQ(7u, s->p50);
	EXPECT_EQ(7u, s->p99);
	// Ten values: p90 is the 9th, p99 the 10th.
	std::vector<uint64_t> ten(10);
	std::iota(ten.begin(), ten.end(), 1);
	EXPECT_EQ(9u, percentile(ten, 90));
	EXPECT_EQ(10u, percentile(ten, 99));
	EXPECT_EQ(5u, percentile(ten, 50));
}

TEST(Stats, NoValuesIsUnavailableNotZero)
{
	EXPECT_FALSE(summarize({}).has_value());
}

TEST(Stats, Log2Slots)
{
	EXPECT_EQ(0u, Log2Hist::slot_of(0));
	EXPECT_EQ(0u, Log2Hist::slot_of(1));
	EXPECT_EQ(1u, Log2Hist::slot_of(2));
	EXPECT_EQ(1u, Log2Hist::slot_of(3));
	EXPECT_EQ(2u, Log2Hist::slot_of(4));
	EXPECT_EQ(9u, Log2Hist::slot_of(1023));
	EXPECT_EQ(10u, Log2Hist::slot_of(1024));
	EXPECT_EQ(63u, Log2Hist::slot_of(UINT64_MAX));
}

TEST(Stats, Log2HistLayoutLikeBcc)
{
	Log2Hist h;
	for (uint64_t v : {0, 1, 5, 6, 7, 300})
		h.add(v);
	const std::string out = format_log2_hist(h, "usecs");
	std::istringstream in(out);
	std::vector<std::string> lines;
	for (std::string l; std::getline(in, l);)
		lines.push_back(l);
	// Header plus slots 0..8 (300 is in 256 -> 511).
	ASSERT_EQ(10u, lines.size()) << out;
	EXPECT_EQ("     usecs               : count    distribution", lines[0]);
	// The fullest slot (4 -> 7, three values) gets all 40 stars.
	EXPECT_EQ("         4 -> 7          : 3        |****************************************|",
		  lines[3]);
	EXPECT_EQ("         0 -> 1          : 2        |**************************              |",
		  lines[1]);
	EXPECT_EQ("       256 -> 511        : 1        |*************                           |",
		  lines[9]);
	EXPECT_EQ("", format_log2_hist(Log2Hist{}, "usecs"));
}

} // namespace
} // namespace clonescope
