// The ABI grows both ways (records read from their first size up, longer
// ones with the tail ignored), tested on records the real module wrote in a
// guest (fixtures/guest/, tool/fuzz/capture-seeds.sh); and bad META input
// gets an error naming the file offset, from the parser and from the CLI.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <stdexcept>

#include "test_util.hpp"
#include "trace/records.hpp"
#include "trace/trace_file.hpp"

namespace clonescope {
namespace {

namespace fs = std::filesystem;

constexpr const char *kGuestTrace = "guest/trace/guest-6.1.0.cst";

size_t size_ver0(uint16_t type)
{
	switch (type) {
	case CLONESCOPE_RECORD_CLONE:
		return CLONESCOPE_CLONE_EVENT_SIZE_VER0;
	case CLONESCOPE_RECORD_CHILD_START:
		return CLONESCOPE_CHILD_START_EVENT_SIZE_VER0;
	case CLONESCOPE_RECORD_LOST:
		return CLONESCOPE_LOST_EVENT_SIZE_VER0;
	case CLONESCOPE_RECORD_COW:
		return CLONESCOPE_COW_EVENT_SIZE_VER0;
	}
	return 0;
}

clonescope_record_header header_at(std::span<const std::byte> bytes, size_t pos)
{
	clonescope_record_header hdr;
	std::memcpy(&hdr, bytes.data() + pos, sizeof(hdr));
	return hdr;
}

// The records of the module's stream, each as its own byte string.
std::vector<std::vector<std::byte>> split_records(std::span<const std::byte> stream)
{
	std::vector<std::vector<std::byte>> out;
	for (size_t pos = 0; pos < stream.size();) {
		const auto hdr = header_at(stream, pos);
		out.emplace_back(stream.begin() + pos, stream.begin() + pos + hdr.size);
		pos += hdr.size;
	}
	return out;
}

std::vector<std::byte> module_stream()
{
	auto t = parse_trace(testing::read_fixture(kGuestTrace));
	if (!t)
		throw std::runtime_error(t.error().message);
	return t->kernel.stream_bytes();
}

// A decoded record's bytes after its header, to compare two decodings.
std::vector<std::byte> payload_of(const KernelRecord &r)
{
	return r.visit([](const auto &ev) {
		const auto *p = reinterpret_cast<const std::byte *>(&ev);
		return std::vector<std::byte>(p + sizeof(ev.hdr), p + sizeof(ev));
	});
}

TEST(Compat, ModuleRecordsAreTheirFirstSize)
{
	const auto records = split_records(module_stream());
	std::map<uint16_t, size_t> types;
	for (const auto &rec : records) {
		const auto hdr = header_at(rec, 0);
		ASSERT_NE(0u, size_ver0(hdr.type)) << "unknown type " << hdr.type;
		EXPECT_EQ(size_ver0(hdr.type), hdr.size) << "type " << hdr.type;
		types[hdr.type]++;
	}
	// The capture has every record type the 6.1 module writes in normal use.
	EXPECT_GT(types[CLONESCOPE_RECORD_CLONE], 0u);
	EXPECT_GT(types[CLONESCOPE_RECORD_CHILD_START], 0u);
	EXPECT_GT(types[CLONESCOPE_RECORD_COW], 0u);
}

// A newer module's records: the same fields, then a tail this tool does not
// know. Decoded as before, tails ignored, and the stream stays in step.
TEST(Compat, LongerRecordsTailIgnored)
{
	const auto stream = module_stream();
	auto plain = decode_records(stream);
	ASSERT_TRUE(plain.ok()) << plain.error().message;

	constexpr uint16_t kTail = 24;
	const auto plain_records = testing::records_of(*plain);
	std::vector<std::byte> grown;
	size_t i = 0;
	for (auto rec : split_records(stream)) {
		// The fields this tool knows (zero where this module is older),
		// then the tail.
		const size_t known =
			plain_records.at(i++).visit([](const auto &ev) { return sizeof(ev); });
		rec.resize(std::max(rec.size(), known), std::byte{0});
		auto hdr = header_at(rec, 0);
		hdr.size = static_cast<uint16_t>(rec.size() + kTail);
		std::memcpy(rec.data(), &hdr, sizeof(hdr));
		rec.insert(rec.end(), kTail, std::byte{0xa5});
		grown.insert(grown.end(), rec.begin(), rec.end());
	}
	auto longer = decode_records(grown);
	ASSERT_TRUE(longer.ok()) << longer.error().message;
	const auto longer_records = testing::records_of(*longer);
	ASSERT_EQ(plain_records.size(), longer_records.size());
	for (size_t i = 0; i < plain_records.size(); i++) {
		EXPECT_EQ(plain_records[i].header().type, longer_records[i].header().type) << i;
		EXPECT_EQ(payload_of(plain_records[i]), payload_of(longer_records[i])) << i;
	}
}

// A tool built after the clone record grew, reading this module's records:
// every field the module wrote is kept, the fields it did not know are zero.
TEST(Compat, ShorterRecordsZeroFilled)
{
	struct GrownCloneEvent {
		clonescope_clone_event v0;
		__aligned_u64 added_later[3];
	};
	size_t clones = 0;
	for (const auto &rec : split_records(module_stream())) {
		if (header_at(rec, 0).type != CLONESCOPE_RECORD_CLONE)
			continue;
		clones++;
		auto ev = copy_record<GrownCloneEvent>(rec, CLONESCOPE_CLONE_EVENT_SIZE_VER0);
		ASSERT_TRUE(ev.has_value());
		// The module's bytes kept; what it did not write (its record is
		// shorter than this tool's struct) zero.
		const auto *bytes = reinterpret_cast<const std::byte *>(&ev->v0);
		EXPECT_EQ(0, std::memcmp(bytes, rec.data(), rec.size()));
		EXPECT_TRUE(std::all_of(bytes + rec.size(), bytes + sizeof(ev->v0),
					[](std::byte b) { return b == std::byte{0}; }));
		for (auto field : ev->added_later)
			EXPECT_EQ(0u, field);
	}
	EXPECT_GT(clones, 0u);
}

// Below a type's first size a record is corrupt: an error naming its offset.
TEST(Compat, RecordBelowFirstSizeRefused)
{
	auto rec = split_records(module_stream()).front();
	auto hdr = header_at(rec, 0);
	const size_t ver0 = size_ver0(hdr.type);
	hdr.size = static_cast<uint16_t>(ver0 - 8);
	std::memcpy(rec.data(), &hdr, sizeof(hdr));
	rec.resize(hdr.size);
	auto d = decode_records(rec, 4096);
	ASSERT_FALSE(d.ok());
	EXPECT_NE(std::string::npos, d.error().message.find("offset 4096")) << d.error().message;
	EXPECT_NE(std::string::npos, d.error().message.find(fmt::format("smallest is {}", ver0)))
		<< d.error().message;
}

// The META of the module's trace, with one field replaced.
std::vector<std::byte> trace_with_meta(const char *key, nlohmann::json value)
{
	auto t = parse_trace(testing::read_fixture(kGuestTrace));
	if (!t)
		throw std::runtime_error(t.error().message);
	t->meta[key] = std::move(value);
	return serialize_trace(*t, {});
}

TEST(Compat, MetaFieldOfWrongTypeNamesFieldAndOffset)
{
	auto t = parse_trace(trace_with_meta("features", "0x7ff"));
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("meta section at offset 16"))
		<< t.error().message;
	EXPECT_NE(std::string::npos,
		  t.error().message.find("\"features\" is string (\"0x7ff\"), expected an unsigned"))
		<< t.error().message;

	EXPECT_FALSE(parse_trace(trace_with_meta("command", {"sh", 3})).ok());
	EXPECT_FALSE(parse_trace(trace_with_meta("start_ns", -5)).ok());
	EXPECT_FALSE(parse_trace(trace_with_meta("stats", 1)).ok());
	// A string that is not UTF-8 is still shown, not thrown on.
	auto bad_utf8 = parse_trace(trace_with_meta("root_pid", std::string("\xff\xfe")));
	ASSERT_FALSE(bad_utf8.ok());
	EXPECT_NE(std::string::npos, bad_utf8.error().message.find("root_pid"));
	// Keys this tool does not know are a newer writer's: fine.
	EXPECT_TRUE(parse_trace(trace_with_meta("added_later", "anything")).ok());
}

// Runs `clonescope report FILE`; returns its exit status, stderr in @err.
int run_report(const fs::path &file, std::string &err)
{
	return testing::run_program({CLONESCOPE_TOOL, "report", file.string()}, err);
}

// The reported abort (exit 134, uncaught nlohmann::type_error): now exit 1
// and one line naming the file and the offset.
TEST(Compat, ReportOfBadMetaExitsOneWithTheReason)
{
	const fs::path dir = fs::temp_directory_path() / fmt::format("clonescope-compat-{}", getpid());
	fs::create_directories(dir);
	const fs::path file = dir / "features-string.cst";
	const auto bytes = trace_with_meta("features", "0x7ff");
	std::ofstream(file, std::ios::binary)
		.write(reinterpret_cast<const char *>(bytes.data()),
		       static_cast<std::streamsize>(bytes.size()));

	std::string err;
	EXPECT_EQ(1, run_report(file, err)) << err;
	EXPECT_NE(std::string::npos, err.find(file.string() + ": meta section at offset 16")) << err;
	EXPECT_EQ(std::string::npos, err.find("terminate")) << err;

	// The untouched capture reports fine.
	const fs::path good = dir / "good.cst";
	const auto good_bytes = testing::read_fixture(kGuestTrace);
	std::ofstream(good, std::ios::binary)
		.write(reinterpret_cast<const char *>(good_bytes.data()),
		       static_cast<std::streamsize>(good_bytes.size()));
	EXPECT_EQ(0, run_report(good, err)) << err;
	fs::remove_all(dir);
}

} // namespace
} // namespace clonescope
