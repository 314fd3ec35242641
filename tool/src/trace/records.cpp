#include "trace/records.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>

#include "trace/record_walker.hpp"

namespace clonescope {

namespace {

// offsetofend(): the byte just past @member.
#define CS_OFFSETOFEND(type, member) (offsetof(type, member) + sizeof(type::member))

// The first sizes of the uapi structs, checked against the layout this tool
// is built with, as the module does (module/abi.c).
static_assert(CS_OFFSETOFEND(clonescope_record_header, timestamp_ns) ==
	      CLONESCOPE_RECORD_HEADER_SIZE_VER0);
static_assert(sizeof(clonescope_phase) == CLONESCOPE_PHASE_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_clone_event, phases) == CLONESCOPE_CLONE_EVENT_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_child_start_event, __reserved) ==
	      CLONESCOPE_CHILD_START_EVENT_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_lost_event, lost) == CLONESCOPE_LOST_EVENT_SIZE_VER0);
static_assert(sizeof(clonescope_cow_counts) == CLONESCOPE_COW_COUNTS_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_cow_event, parent) == CLONESCOPE_COW_EVENT_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_lifecycle_event, comm) ==
	      CLONESCOPE_LIFECYCLE_EVENT_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_version, features) == CLONESCOPE_VERSION_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_filter, tgids) == CLONESCOPE_FILTER_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_options, probes) == CLONESCOPE_OPTIONS_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_buffer_config, __reserved) ==
	      CLONESCOPE_BUFFER_CONFIG_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_stats, probes) == CLONESCOPE_STATS_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_probe_info, role) == CLONESCOPE_PROBE_INFO_SIZE_VER0);
static_assert(sizeof(clonescope_log2_hist) == CLONESCOPE_LOG2_HIST_SIZE_VER0);
static_assert(sizeof(clonescope_agg_kind) == CLONESCOPE_AGG_KIND_SIZE_VER0);
static_assert(sizeof(clonescope_agg_comm) == CLONESCOPE_AGG_COMM_SIZE_VER0);
static_assert(CS_OFFSETOFEND(clonescope_aggregate, phase_ns) == CLONESCOPE_AGGREGATE_SIZE_VER0);

#undef CS_OFFSETOFEND

// Copies the record into a new element of @out: one copy, no temporary,
// from @size_ver0 up as copy_record() reads it.
template <typename Event>
Status append_event(std::span<const std::byte> rec, uint64_t offset, const char *name,
		    size_t size_ver0, DecodedRecords &out)
{
	if (rec.size() < size_ver0)
		return Error{fmt::format("record at offset {}: {} record of {} bytes, the "
					 "smallest is {}",
					 offset, name, rec.size(), size_ver0)};
	// Value-initialised: zero past a shorter record.
	auto &slot = out.records.emplace_back(std::in_place_type<Event>);
	copy_record_prefix(std::get<Event>(slot), rec);
	return Ok{};
}

} // namespace

size_t count_records(std::span<const std::byte> bytes)
{
	size_t n = 0;
	for (size_t pos = 0; bytes.size() - pos >= sizeof(clonescope_record_header); n++) {
		clonescope_record_header hdr;
		std::memcpy(&hdr, bytes.data() + pos, sizeof(hdr));
		if (hdr.size < sizeof(hdr))
			break;
		pos += std::min<size_t>(hdr.size, bytes.size() - pos);
	}
	return n;
}

Status decode_records_into(std::span<const std::byte> bytes, uint64_t base_offset,
			   DecodedRecords &out)
{
	return walk_records<clonescope_record_header>(
		bytes, base_offset, "",
		[&out](const clonescope_record_header &hdr, std::span<const std::byte> rec,
		       uint64_t offset) -> Status {
			switch (hdr.type) {
			case CLONESCOPE_RECORD_CLONE:
				return append_event<clonescope_clone_event>(
					rec, offset, "clone", CLONESCOPE_CLONE_EVENT_SIZE_VER0, out);
			case CLONESCOPE_RECORD_CHILD_START:
				return append_event<clonescope_child_start_event>(
					rec, offset, "child-start",
					CLONESCOPE_CHILD_START_EVENT_SIZE_VER0, out);
			case CLONESCOPE_RECORD_LOST:
				return append_event<clonescope_lost_event>(
					rec, offset, "lost", CLONESCOPE_LOST_EVENT_SIZE_VER0, out);
			case CLONESCOPE_RECORD_COW:
				return append_event<clonescope_cow_event>(
					rec, offset, "cow", CLONESCOPE_COW_EVENT_SIZE_VER0, out);
			case CLONESCOPE_RECORD_LIFECYCLE:
				return append_event<clonescope_lifecycle_event>(
					rec, offset, "lifecycle", CLONESCOPE_LIFECYCLE_EVENT_SIZE_VER0,
					out);
			default:
				out.unknown_skipped++;
				return Ok{};
			}
		});
}

RecordTally tally_records(const DecodedRecords &records)
{
	RecordTally t;
	for (const auto &r : records.records) {
		if (const auto *c = std::get_if<clonescope_clone_event>(&r)) {
			t.clones++;
			t.failed += is_failure(*c);
			t.restarted += is_restart(*c);
		} else if (std::holds_alternative<clonescope_child_start_event>(r)) {
			t.child_starts++;
		} else if (const auto *l = std::get_if<clonescope_lost_event>(&r)) {
			t.lost += l->lost;
		}
	}
	return t;
}

Result<DecodedRecords> decode_records(std::span<const std::byte> bytes, uint64_t base_offset)
{
	DecodedRecords out;
	if (auto st = decode_records_into(bytes, base_offset, out); !st)
		return st.error();
	return out;
}

} // namespace clonescope
