// `clonescope record`'s own summary: what the reader cost.
#include <gtest/gtest.h>

#include "cli/record_cmd.hpp"

namespace clonescope {
namespace {

TEST(Record, ReaderCostNamesUserSystemPerRecordAndAfter)
{
	const ReaderCost cost{{200'000, 1'000'000}, 3000, {300'000, 0}};
	EXPECT_EQ("reader CPU 1200.0us while recording (user 200.0us, sys 1000.0us), "
		  "400 ns/record; 300.0us after",
		  format_reader_cost(cost));
}

TEST(Record, ReaderCostWithoutRecordsHasNoPerRecordFigure)
{
	const ReaderCost cost{{0, 20'000'000}, 0, {}};
	EXPECT_EQ("reader CPU 20.0ms while recording (user 0.0us, sys 20.0ms); 0.0us after",
		  format_reader_cost(cost));
}

} // namespace
} // namespace clonescope
