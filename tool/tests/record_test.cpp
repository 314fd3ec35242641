// `clonescope record`'s end of run: what it counts and the process tree it
// writes, made from the trace file once the command has ended, and what the
// reader itself cost.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "cli/record_cmd.hpp"
#include "fixture_data.hpp"
#include "report/event_line.hpp"
#include "trace/process_tree.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {
namespace {

std::vector<std::string> lines_of(const std::vector<ProcessInfo> &tree)
{
	std::vector<std::string> out;
	for (const auto &p : tree)
		out.push_back(fmt::format("{} {} {} {} {}", p.pid, p.tgid, p.ppid, p.comm, p.start_ns));
	return out;
}

// Written in the chunks read() gave, read back from the file: the counts
// are those of the records as read, and counting chunk by chunk (no trace
// file) gives them too; so does the process tree.
TEST(Record, CountsAndTreeFromTheFileMatchTheRecordsAsRead)
{
	const auto stream = fixtures::kernel_stream();
	auto as_read = decode_records(stream);
	ASSERT_TRUE(as_read.ok()) << as_read.error().message;
	const std::string path = std::filesystem::temp_directory_path() /
				 ("clonescope-record-test-" + std::to_string(getpid()) + ".cst");
	auto w = TraceWriter::create(path);
	ASSERT_TRUE(w.ok()) << w.error().message;
	const size_t first = sizeof(clonescope_clone_event);
	RecordTally by_chunk;
	for (const auto chunk : {std::span(stream).first(first), std::span(stream).subspan(first)}) {
		ASSERT_TRUE(w->write_section(SectionType::KernelRecords, chunk).ok());
		auto part = decode_records(chunk);
		ASSERT_TRUE(part.ok()) << part.error().message;
		by_chunk.add(*part);
	}
	auto back = w->read_back();
	std::filesystem::remove(path);
	ASSERT_TRUE(back.ok()) << back.error().message;
	EXPECT_EQ(stream, back->kernel.stream_bytes());

	const RecordTally want = tally_records(*as_read);
	const RecordTally from_file = tally_records(back->kernel);
	EXPECT_EQ(11u, from_file.records); // the unknown one included
	EXPECT_EQ(want.records, from_file.records);
	EXPECT_EQ(want.records, by_chunk.records);
	EXPECT_EQ(format_tally(want), format_tally(from_file));
	EXPECT_EQ(format_tally(want), format_tally(by_chunk));

	const std::vector<ProcessInfo> root = {
		{fixtures::kPid, fixtures::kPid, 1, "fixture", fixtures::kT0}};
	// The fixture's successful clones, at their end_ns (a thread of 4242,
	// 5002, among them).
	const std::vector<std::string> tree = {
		"4242 4242 1 fixture 1000000000000", "5000 5000 4242 fixture 1000000110000",
		"5001 5001 4242 fixture 1000000260000", "5002 4242 4242 fixture 1000000340000",
		"5003 5003 4242 fixture 1000000580000"};
	EXPECT_EQ(tree, lines_of(build_process_tree(root, back->kernel)));
	EXPECT_EQ(lines_of(build_process_tree(root, *as_read)),
		  lines_of(build_process_tree(root, back->kernel)));
}

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
