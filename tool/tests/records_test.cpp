#include <gtest/gtest.h>

#include <cstring>
#include <fmt/format.h>

#include "fixture_data.hpp"
#include "report/event_line.hpp"
#include "test_util.hpp"
#include "trace/records.hpp"

namespace clonescope {
namespace {

using fixtures::append;

template <typename T>
size_t count_of(const KernelRecords &d)
{
	size_t n = 0;
	for (const auto r : d)
		n += r.holds<T>();
	return n;
}

TEST(Records, FixtureMatchesGenerator)
{
	EXPECT_EQ(fixtures::kernel_stream(), testing::read_fixture("kernel_records.bin"));
	EXPECT_EQ(fixtures::user_stream(), testing::read_fixture("user_records.cstu"));
	EXPECT_EQ(fixtures::trace_file(), testing::read_fixture("trace.cst"));
}

TEST(Records, DecodesEveryTypeAndSkipsUnknown)
{
	auto d = decode_records(testing::read_fixture("kernel_records.bin"));
	ASSERT_TRUE(d.ok()) << d.error().message;
	EXPECT_EQ(5u, count_of<clonescope_clone_event>(*d));
	EXPECT_EQ(3u, count_of<clonescope_child_start_event>(*d));
	EXPECT_EQ(1u, count_of<clonescope_lost_event>(*d));
	EXPECT_EQ(1u, count_of<clonescope_cow_event>(*d));
	EXPECT_EQ(1u, d->unknown_skipped());

	const auto records = testing::records_of(*d);
	const auto &fork_ev = *records.at(0).get_if<clonescope_clone_event>();
	EXPECT_EQ(fixtures::kPid, fork_ev.parent_pid);
	EXPECT_EQ(5000u, fork_ev.child_pid);
	EXPECT_EQ(17, fork_ev.exit_signal);
	EXPECT_EQ(12u, fork_ev.copy_page_range_calls);
	const auto &lost = *records.at(7).get_if<clonescope_lost_event>();
	EXPECT_EQ(7u, lost.lost);
	const auto &failed = *records.at(6).get_if<clonescope_clone_event>();
	EXPECT_EQ(-EINVAL, failed.result);
}

// record's summary line counts restarts apart from real failures.
TEST(Records, TallyCountsRestartsApart)
{
	KernelRecords d;
	d.push_back(fixtures::restarted_event(10, 1000, 2000));
	d.push_back(fixtures::restarted_event(10, 3000, 4000));
	d.push_back(fixtures::clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 5000, 9000, 11));
	d.push_back(fixtures::clone_event(10, 10, 0, CLONESCOPE_SYSCALL_CLONE, 9500, 9600,
						  -EAGAIN));
	clonescope_child_start_event start{};
	d.push_back(start);
	clonescope_lost_event lost{};
	lost.lost = 4;
	d.push_back(lost);
	EXPECT_EQ("4 clone records (1 failed, 2 restarted), 1 child starts, 4 lost in-stream",
		  format_tally(tally_records(d)));
}

TEST(Records, TruncatedRecordNamesOffset)
{
	auto bytes = testing::read_fixture("kernel_records.bin");
	const size_t second = sizeof(clonescope_clone_event);
	bytes.resize(second + 10); // the child-start record is cut
	auto d = decode_records(bytes, 1000);
	ASSERT_FALSE(d.ok());
	EXPECT_NE(std::string::npos, d.error().message.find(fmt::format("offset {}", 1000 + second)))
		<< d.error().message;

	bytes.resize(second + 4); // not even a header left
	d = decode_records(bytes);
	ASSERT_FALSE(d.ok());
	EXPECT_NE(std::string::npos, d.error().message.find(fmt::format("offset {}", second)));
}

TEST(Records, BadSizesAreErrors)
{
	for (uint16_t size : {0, 4, 12, 20}) {
		clonescope_record_header h{CLONESCOPE_RECORD_CHILD_START, size, 0, 1};
		std::vector<std::byte> bytes;
		append(bytes, &h, sizeof(h));
		bytes.resize(64, std::byte{0});
		auto d = decode_records(bytes);
		ASSERT_FALSE(d.ok()) << "size " << size;
		EXPECT_NE(std::string::npos, d.error().message.find("bad record size"))
			<< d.error().message;
	}
}

TEST(Records, KnownTypeTooShortIsError)
{
	// A clone record claiming only 64 bytes: shorter than any ABI 1.x one.
	clonescope_record_header h{CLONESCOPE_RECORD_CLONE, 64, 0, 1};
	std::vector<std::byte> bytes;
	append(bytes, &h, sizeof(h));
	bytes.resize(64, std::byte{0});
	auto d = decode_records(bytes);
	ASSERT_FALSE(d.ok());
	EXPECT_NE(std::string::npos, d.error().message.find("offset 0"));
}

TEST(Records, LargerRecordFromNewerMinorIsAccepted)
{
	auto ev = fixtures::clone_event(1, 1, 0, CLONESCOPE_SYSCALL_FORK, 10, 20, 2);
	ev.hdr.size = sizeof(ev) + 16;
	std::vector<std::byte> bytes;
	append(bytes, &ev, sizeof(ev));
	bytes.resize(sizeof(ev) + 16, std::byte{0xff});
	auto d = decode_records(bytes);
	ASSERT_TRUE(d.ok()) << d.error().message;
	ASSERT_EQ(1u, d->size());
	EXPECT_EQ(2u, (*d->begin()).get_if<clonescope_clone_event>()->child_pid);
}

// An older module's shorter record is read as this tool's struct, its tail
// zero; an unknown record is skipped; the stream keeps both as they were.
TEST(Records, ShorterRecordWidenedStreamKept)
{
	auto ev = fixtures::clone_event(1, 1, 0, CLONESCOPE_SYSCALL_FORK, 10, 20, 2);
	ev.ns_child_pid = 99; // beyond VER0: must not be read
	ev.hdr.size = CLONESCOPE_CLONE_EVENT_SIZE_VER0;
	std::vector<std::byte> bytes;
	append(bytes, &ev, CLONESCOPE_CLONE_EVENT_SIZE_VER0);
	const clonescope_record_header unknown{0x7777, 24, 0, 5};
	append(bytes, &unknown, sizeof(unknown));
	bytes.resize(bytes.size() + 8, std::byte{0x5a});
	clonescope_lost_event lost{};
	lost.hdr = {CLONESCOPE_RECORD_LOST, sizeof(lost), 0, 30};
	lost.lost = 3;
	append(bytes, &lost, sizeof(lost));

	auto d = decode_records(bytes);
	ASSERT_TRUE(d.ok()) << d.error().message;
	const auto records = testing::records_of(*d);
	ASSERT_EQ(2u, records.size());
	EXPECT_EQ(1u, d->unknown_skipped());
	const auto *got = records[0].get_if<clonescope_clone_event>();
	ASSERT_NE(nullptr, got);
	EXPECT_EQ(2u, got->child_pid);
	EXPECT_EQ(0u, got->ns_child_pid);
	EXPECT_EQ(nullptr, records[0].get_if<clonescope_lost_event>());
	ASSERT_NE(nullptr, records[1].get_if<clonescope_lost_event>());
	EXPECT_EQ(3u, records[1].get_if<clonescope_lost_event>()->lost);
	EXPECT_EQ(bytes, d->stream_bytes());
}

// Bytes at an address not aligned for the structs are read from a copy.
TEST(Records, MisalignedBytesAreCopied)
{
	const auto ev = fixtures::clone_event(1, 1, 0, CLONESCOPE_SYSCALL_FORK, 10, 20, 2);
	std::vector<std::byte> bytes(4);
	append(bytes, &ev, sizeof(ev));
	const auto misaligned = std::span<const std::byte>(bytes).subspan(4);
	KernelRecords d;
	ASSERT_TRUE(d.append(misaligned, 0, nullptr).ok());
	ASSERT_EQ(1u, d.size());
	const auto *got = (*d.begin()).get_if<clonescope_clone_event>();
	EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(got) % alignof(clonescope_clone_event));
	EXPECT_EQ(2u, got->child_pid);
	EXPECT_EQ(misaligned.size(), d.stream_bytes().size());
}

// On a malformed stream nothing is added: what was there stays.
TEST(Records, FailedAppendAddsNothing)
{
	KernelRecords d;
	d.push_back(fixtures::clone_event(1, 1, 0, CLONESCOPE_SYSCALL_FORK, 10, 20, 2));
	const clonescope_record_header h{CLONESCOPE_RECORD_CLONE, 64, 0, 1};
	std::vector<std::byte> bytes;
	append(bytes, &h, sizeof(h));
	bytes.resize(64, std::byte{0});
	EXPECT_FALSE(d.append_copy(bytes, 0).ok());
	EXPECT_EQ(1u, d.size());
	EXPECT_EQ(1, std::distance(d.begin(), d.end()));
}

TEST(Records, EmptyStreamIsFine)
{
	auto d = decode_records({});
	ASSERT_TRUE(d.ok());
	EXPECT_TRUE(d->empty());
}

} // namespace
} // namespace clonescope
