#include <gtest/gtest.h>

#include <map>

#include "correlate/correlate.hpp"
#include "report/site_interval.hpp"
#include "test_util.hpp"

namespace clonescope {
namespace {

using testing::fixture_trace;

size_t clones_of(const SiteInterval &iv, const std::string &prefix)
{
	size_t n = 0;
	for (const auto &[site, stats] : iv.rows)
		if (site.rfind(prefix, 0) == 0)
			n += stats.clones;
	return n;
}

// The fixture's calls and records as one interval of a live session: each
// call's row by source line, as report's; the raw clone no call claims is
// held back one interval, then shown once; LOST records counted once.
TEST(SiteJoin, RowsByLineUnclaimedHeldOneInterval)
{
	const Trace t = fixture_trace();
	std::map<std::string, size_t> want;
	for (const auto &s : correlate(t).samples)
		if (s.user)
			want[site_key(s, SiteGrouping::line)]++;

	SiteJoin join;
	join.user().images = t.images;
	join.user().symbols = t.symbols;
	join.user().calls = t.calls;
	const SiteInterval first = join.next(t.kernel, false);
	std::map<std::string, size_t> got;
	for (const auto &[site, stats] : first.rows)
		got[site] = stats.clones;
	EXPECT_EQ(want, got);
	EXPECT_EQ(t.calls.size(), first.all.clones);
	EXPECT_EQ(0u, clones_of(first, "[no user call"));
	EXPECT_EQ(7u, first.lost);
	EXPECT_TRUE(join.user().calls.empty());

	const SiteInterval second = join.next({}, false);
	EXPECT_EQ(1u, second.all.clones);
	EXPECT_EQ(1u, clones_of(second, "[no user call"));
	EXPECT_EQ(0u, second.lost);

	EXPECT_EQ(0u, join.next({}, false).all.clones);
}

// The last interval holds nothing back.
TEST(SiteJoin, LastIntervalShowsUnclaimedAtOnce)
{
	const Trace t = fixture_trace();
	SiteJoin join;
	join.user().images = t.images;
	join.user().symbols = t.symbols;
	join.user().calls = t.calls;
	const SiteInterval only = join.next(t.kernel, true);
	EXPECT_EQ(t.calls.size() + 1, only.all.clones);
	EXPECT_EQ(1u, clones_of(only, "[no user call"));
}

} // namespace
} // namespace clonescope
