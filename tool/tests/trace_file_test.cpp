#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <optional>
#include <type_traits>

#include "fixture_data.hpp"
#include "test_util.hpp"
#include "trace/trace_file.hpp"
#include "user_trace.h"

namespace clonescope {
namespace {

TEST(TraceFile, ParsesFixture)
{
	auto t = parse_trace(testing::read_fixture("trace.cst"));
	ASSERT_TRUE(t.ok()) << t.error().message;
	EXPECT_EQ(fixtures::kPid, t->meta.at("root_pid").get<uint32_t>());
	EXPECT_EQ(fixtures::kernel_stream(), t->kernel.stream_bytes());
	EXPECT_EQ(10u, t->kernel.size()); // the unknown one is skipped
	ASSERT_EQ(1u, t->images.size());
	EXPECT_EQ("/usr/bin/fixture", t->images[0].exe);
	ASSERT_EQ(1u, t->images[0].maps.size());
	EXPECT_EQ(fixtures::kExeBase, t->images[0].maps[0].base);
	EXPECT_EQ("/usr/bin/fixture", t->images[0].maps[0].path);
	ASSERT_EQ(5u, t->calls.size());
	EXPECT_EQ(static_cast<uint32_t>(CS_KIND_POSIX_SPAWN), t->calls[1].kind);
	EXPECT_EQ(fixtures::kSiteSpawn, t->calls[1].call_site);
	EXPECT_EQ(fixtures::kTid2, t->calls[2].tid);
	EXPECT_EQ(4u, t->processes.size());
	ASSERT_EQ(3u, t->symbols.size());
	EXPECT_EQ("run_spawns", t->symbols[1].symbol);
	EXPECT_EQ(57, t->symbols[1].line);
}

// read_trace() reads the records in place in the file it maps, parse_trace()
// from a copy: the same records, those an older module wrote shorter than
// this tool's structs too, and a copy of the trace keeps them readable once
// the original is gone.
TEST(TraceFile, MappedRecordsMatchCopiedOnesAndOutliveTheOriginal)
{
	const std::string name = "guest/trace/guest-6.1.0.cst"; // ABI 1.0: shorter records
	auto parsed = parse_trace(testing::read_fixture(name));
	ASSERT_TRUE(parsed.ok()) << parsed.error().message;
	std::optional<Trace> copy;
	{
		auto mapped = read_trace(std::string(CLONESCOPE_FIXTURE_DIR) + "/" + name);
		ASSERT_TRUE(mapped.ok()) << mapped.error().message;
		copy = *mapped;
	}
	const auto want = testing::records_of(parsed->kernel);
	const auto got = testing::records_of(copy->kernel);
	ASSERT_EQ(want.size(), got.size());
	ASSERT_GT(got.size(), 0u);
	size_t short_clones = 0;
	for (size_t i = 0; i < got.size(); i++) {
		ASSERT_EQ(want[i].header().type, got[i].header().type) << i;
		want[i].visit([&](const auto &w) {
			using Record = std::remove_cvref_t<decltype(w)>;
			EXPECT_EQ(0, std::memcmp(&w, got[i].get_if<Record>(), sizeof(Record))) << i;
		});
		short_clones += want[i].holds<clonescope_clone_event>() &&
				got[i].get_if<clonescope_clone_event>()->ns_child_pid == 0;
	}
	EXPECT_GT(short_clones, 0u);
	EXPECT_EQ(parsed->kernel.stream_bytes(), copy->kernel.stream_bytes());
}

TEST(TraceFile, WriterRoundTrip)
{
	const std::string path = std::filesystem::temp_directory_path() /
				 ("clonescope-test-" + std::to_string(getpid()) + ".cst");
	{
		auto w = TraceWriter::create(path);
		ASSERT_TRUE(w.ok()) << w.error().message;
		auto kernel = fixtures::kernel_stream();
		// Two kernel sections: the reader concatenates them.
		const size_t half = sizeof(clonescope_clone_event);
		ASSERT_TRUE(w->write_section(SectionType::KernelRecords,
					     std::span(kernel).first(half)).ok());
		ASSERT_TRUE(w->write_section(SectionType::KernelRecords,
					     std::span(kernel).subspan(half)).ok());
		// An odd-sized section from a future writer: skipped, padding honoured.
		const char future[5] = {1, 2, 3, 4, 5};
		ASSERT_TRUE(w->write_section(static_cast<SectionType>(77),
					     std::as_bytes(std::span(future))).ok());
		ASSERT_TRUE(w->write_section(SectionType::UserRecords, fixtures::user_stream()).ok());
		ASSERT_TRUE(w->write_meta({{"root_pid", 7}}).ok());
		ASSERT_TRUE(w->write_processes({{7, 7, 1, "sh", 99}}).ok());
		ASSERT_TRUE(w->write_symbols({{0, 0x10, "/bin/sh", "main", 4, "sh.c", 3}}).ok());
	}
	auto t = read_trace(path);
	std::filesystem::remove(path);
	ASSERT_TRUE(t.ok()) << t.error().message;
	EXPECT_EQ(fixtures::kernel_stream(), t->kernel.stream_bytes());
	EXPECT_EQ(10u, t->kernel.size()); // the unknown one is skipped
	EXPECT_EQ(5u, t->calls.size());
	EXPECT_EQ(7, t->meta.at("root_pid").get<int>());
	ASSERT_EQ(1u, t->processes.size());
	EXPECT_EQ("sh", t->processes[0].comm);
	EXPECT_EQ(99u, t->processes[0].start_ns);
	ASSERT_EQ(1u, t->symbols.size());
	EXPECT_EQ("sh.c", t->symbols[0].file);
}

// The writer writes each section from where its payload lies (one writev()
// of header, payload and padding): every section of the fixture (written
// by the joined encoding), written again section by section, gives the
// same file byte for byte, odd-sized sections' padding included.
TEST(TraceFile, WriterRewritesTheFixtureByteForByte)
{
	const auto fixture = testing::read_fixture("trace.cst");
	const std::string path = std::filesystem::temp_directory_path() /
				 ("clonescope-test-rewrite-" + std::to_string(getpid()) + ".cst");
	size_t sections = 0, odd = 0;
	{
		auto w = TraceWriter::create(path);
		ASSERT_TRUE(w.ok()) << w.error().message;
		for (size_t pos = 16; pos < fixture.size(); sections++) {
			uint32_t type;
			uint64_t size;
			ASSERT_LE(pos + 16, fixture.size());
			std::memcpy(&type, fixture.data() + pos, sizeof(type));
			std::memcpy(&size, fixture.data() + pos + 8, sizeof(size));
			ASSERT_LE(pos + 16 + size, fixture.size());
			ASSERT_TRUE(w->write_section(static_cast<SectionType>(type),
						     std::span(fixture).subspan(pos + 16, size))
					    .ok());
			odd += size % 8 != 0;
			pos += 16 + ((size + 7) & ~uint64_t{7});
		}
	}
	const auto written = testing::read_file(path);
	std::filesystem::remove(path);
	EXPECT_LE(5u, sections);
	EXPECT_LT(0u, odd); // padding was written
	EXPECT_EQ(fixture, written);
}

// What the fake writev below takes per call, and how its calls go.
struct FakeWritev {
	size_t max_per_call = 0;
	int eintr_every = 0; // every Nth call fails with EINTR (0: never)
	int fail_errno = 0;  // every call fails with this (0: never)
	bool no_progress = false;
	int calls = 0;
	std::vector<std::byte> out;
};
FakeWritev g_fake;

ssize_t fake_writev(int, const iovec *iov, int iovcnt)
{
	g_fake.calls++;
	if (g_fake.fail_errno) {
		errno = g_fake.fail_errno;
		return -1;
	}
	if (g_fake.eintr_every && g_fake.calls % g_fake.eintr_every == 0) {
		errno = EINTR;
		return -1;
	}
	if (g_fake.no_progress)
		return 0;
	size_t taken = 0;
	for (int i = 0; i < iovcnt && taken < g_fake.max_per_call; i++) {
		const size_t n = std::min(iov[i].iov_len, g_fake.max_per_call - taken);
		const auto *p = static_cast<const std::byte *>(iov[i].iov_base);
		g_fake.out.insert(g_fake.out.end(), p, p + n);
		taken += n;
	}
	return static_cast<ssize_t>(taken);
}

void reset_fake(size_t max_per_call, int eintr_every = 0, int fail_errno = 0,
		bool no_progress = false)
{
	g_fake = {};
	g_fake.max_per_call = max_per_call;
	g_fake.eintr_every = eintr_every;
	g_fake.fail_errno = fail_errno;
	g_fake.no_progress = no_progress;
}

std::vector<std::byte> bytes_of(size_t n, uint8_t first)
{
	std::vector<std::byte> v(n);
	for (size_t i = 0; i < n; i++)
		v[i] = std::byte(static_cast<uint8_t>(first + i));
	return v;
}

// Short writes that end inside a part and at its end, EINTR between them,
// and an empty part: everything arrives, once, in order.
TEST(TraceFile, WritevAllResumesAfterShortWritesAndEintr)
{
	const auto a = bytes_of(16, 0), b = bytes_of(37, 100);
	for (size_t per_call : {1, 5, 16, 19, 53, 1000}) {
		reset_fake(per_call, 3);
		std::span<const std::byte> parts[] = {a, {}, b};
		ASSERT_TRUE(writev_all(-1, parts, fake_writev, "t").ok()) << per_call;
		std::vector<std::byte> want = a;
		want.insert(want.end(), b.begin(), b.end());
		EXPECT_EQ(want, g_fake.out) << per_call;
	}
	// Nothing to write: no call.
	reset_fake(1);
	std::span<const std::byte> none[] = {{}, {}};
	EXPECT_TRUE(writev_all(-1, none, fake_writev, "t").ok());
	EXPECT_EQ(0, g_fake.calls);
}

TEST(TraceFile, WritevAllReportsErrorsAndNoProgress)
{
	const auto a = bytes_of(10, 0);
	reset_fake(4, 0, ENOSPC);
	std::span<const std::byte> parts[] = {a};
	auto st = writev_all(-1, parts, fake_writev, "/tmp/x.cst");
	ASSERT_FALSE(st.ok());
	EXPECT_NE(std::string::npos, st.error().message.find("/tmp/x.cst")) << st.error().message;
	EXPECT_EQ(ENOSPC, st.error().errnum);

	reset_fake(4, 0, 0, true);
	std::span<const std::byte> again[] = {a};
	st = writev_all(-1, again, fake_writev, "/tmp/x.cst");
	ASSERT_FALSE(st.ok());
	EXPECT_EQ(1, g_fake.calls);

	std::span<const std::byte> too_many[kMaxWriteParts + 1] = {};
	EXPECT_FALSE(writev_all(-1, too_many, fake_writev, "t").ok());
}

// A writer reads back what it has written so far (record's end of run): an
// empty trace at first; a malformed kernel section is an error naming its
// file offset, as reading the file would give.
TEST(TraceFile, WriterReadsBackWhatItWroteSoFar)
{
	const std::string path = std::filesystem::temp_directory_path() /
				 ("clonescope-test-back-" + std::to_string(getpid()) + ".cst");
	auto w = TraceWriter::create(path);
	ASSERT_TRUE(w.ok()) << w.error().message;
	EXPECT_TRUE(w->can_read_back());
	auto empty = w->read_back();
	ASSERT_TRUE(empty.ok()) << empty.error().message;
	EXPECT_TRUE(empty->kernel.empty());

	const auto kernel = fixtures::kernel_stream();
	ASSERT_TRUE(w->write_section(SectionType::KernelRecords, kernel).ok());
	auto whole = w->read_back();
	ASSERT_TRUE(whole.ok()) << whole.error().message;
	EXPECT_EQ(kernel, whole->kernel.stream_bytes());
	EXPECT_EQ(10u, whole->kernel.size());

	// Half a clone record, in the section after the first (16-byte file
	// header, 16-byte section headers, 8-aligned payloads).
	ASSERT_TRUE(w->write_section(SectionType::KernelRecords, std::span(kernel).first(40)).ok());
	auto cut = w->read_back();
	std::filesystem::remove(path);
	ASSERT_FALSE(cut.ok());
	const uint64_t at = 16 + 16 + kernel.size() + 16;
	EXPECT_NE(std::string::npos, cut.error().message.find(path + ": "));
	EXPECT_NE(std::string::npos, cut.error().message.find(fmt::format("offset {}", at)))
		<< cut.error().message;
}

// A device (or a pipe) takes the trace but cannot give it back.
TEST(TraceFile, WriterToADeviceCannotReadBack)
{
	auto w = TraceWriter::create("/dev/null");
	ASSERT_TRUE(w.ok()) << w.error().message;
	EXPECT_FALSE(w->can_read_back());
	EXPECT_TRUE(w->write_section(SectionType::KernelRecords, fixtures::kernel_stream()).ok());
	EXPECT_FALSE(w->read_back().ok());
}

TEST(TraceFile, EveryTruncationIsAnErrorOrAShorterTrace)
{
	const auto bytes = testing::read_fixture("trace.cst");
	size_t errors = 0;
	for (size_t len = 0; len < bytes.size(); len++) {
		auto t = parse_trace(std::span(bytes).first(len));
		if (t.ok())
			continue; // cut exactly between sections
		errors++;
		if (len >= 16) {
			EXPECT_NE(std::string::npos, t.error().message.find("offset"))
				<< "len " << len << ": " << t.error().message;
		}
	}
	// Only the header alone and the 4 cuts between its 5 sections parse.
	EXPECT_EQ(bytes.size() - 5, errors);
}

TEST(TraceFile, GarbageIsRejectedWithOffsets)
{
	auto bytes = testing::read_fixture("trace.cst");
	auto bad = bytes;
	bad[0] = std::byte{'X'};
	auto t = parse_trace(bad);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("bad magic"));

	bad = bytes;
	bad[8] = std::byte{2}; // version major 2
	t = parse_trace(bad);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("2.0"));

	// First section (meta) claims an impossible size.
	bad = bytes;
	const uint64_t huge = 1ULL << 40;
	std::memcpy(bad.data() + 16 + 8, &huge, sizeof(huge));
	t = parse_trace(bad);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("offset 16")) << t.error().message;

	// Corrupt CBOR in the meta section.
	bad = bytes;
	bad[32] = std::byte{0xff};
	bad[33] = std::byte{0xff};
	t = parse_trace(bad);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("offset 16")) << t.error().message;

	std::vector<std::byte> noise(4096);
	for (size_t i = 0; i < noise.size(); i++)
		noise[i] = static_cast<std::byte>((i * 2654435761u) >> 13);
	EXPECT_FALSE(parse_trace(noise).ok());
}

TEST(TraceFile, SymbolEntryWithoutFieldNamesSectionOffset)
{
	Trace t;
	auto bytes = serialize_trace(t, {});
	const size_t at = bytes.size(); // the extra section starts here
	auto cbor = nlohmann::json::to_cbor(nlohmann::json::array({{{"image", 0}, {"address", 1}}}));
	const uint32_t header[4] = {static_cast<uint32_t>(SectionType::Symbols), 0,
				    static_cast<uint32_t>(cbor.size()), 0};
	fixtures::append(bytes, header, sizeof(header));
	fixtures::append(bytes, cbor.data(), cbor.size());
	bytes.resize((bytes.size() + 7) & ~size_t{7}, std::byte{0});
	auto r = parse_trace(bytes);
	ASSERT_FALSE(r.ok());
	EXPECT_NE(std::string::npos, r.error().message.find(fmt::format("offset {}", at)))
		<< r.error().message;
	EXPECT_NE(std::string::npos, r.error().message.find("\"module\""));
}

TEST(TraceFile, BadUserStreamNamesOffset)
{
	auto user = fixtures::user_stream();
	Trace t;
	ASSERT_TRUE(parse_user_stream(user, 0, t).ok());
	const size_t cut = user.size() - 8; // inside the last call record
	auto r = parse_user_stream(std::span(user).first(cut), 500, t);
	ASSERT_FALSE(r.ok());
	const size_t last = user.size() - sizeof(cs_user_call);
	EXPECT_NE(std::string::npos, r.error().message.find(fmt::format("offset {}", 500 + last)))
		<< r.error().message;
}

TEST(TraceFile, MissingFileIsClearError)
{
	auto t = read_trace("/nonexistent/x.cst");
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("/nonexistent/x.cst"));
	EXPECT_NE(std::string::npos, t.error().message.find("No such file"));
}

} // namespace
} // namespace clonescope
