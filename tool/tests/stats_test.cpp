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

// The module's histograms (CLONESCOPE_AGG_BUCKETS log2 buckets): estimates
// stay inside the bucket of the true percentile.
TEST(Stats, SummarizeLog2)
{
	std::vector<unsigned long long> b(40, 0);
	EXPECT_FALSE(summarize_log2(b).has_value());

	// 90 values in [1024, 2047], 10 in [65536, 131071].
	b[10] = 90;
	b[16] = 10;
	auto s = summarize_log2(b);
	ASSERT_TRUE(s.has_value());
	EXPECT_EQ(100u, s->n);
	EXPECT_EQ(1024u, s->min);
	EXPECT_EQ(131071u, s->max);
	EXPECT_GE(s->p50, 1024u);
	EXPECT_LE(s->p50, 2047u);
	EXPECT_GE(s->p90, 1024u);
	EXPECT_LE(s->p90, 2047u);
	EXPECT_GE(s->p99, 65536u);
	EXPECT_LE(s->p99, 131071u);
	EXPECT_LE(s->p50, s->p90);

	// Bucket 0 holds 0 and 1.
	std::vector<unsigned long long> zero(40, 0);
	zero[0] = 3;
	s = summarize_log2(zero);
	ASSERT_TRUE(s.has_value());
	EXPECT_EQ(0u, s->min);
	EXPECT_LE(s->max, 1u);
}

} // namespace
} // namespace clonescope
