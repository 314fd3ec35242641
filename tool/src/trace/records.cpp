#include "trace/records.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>

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

// The header of the record at @pos, or an error naming @offset.
Result<clonescope_record_header> header_at(std::span<const std::byte> bytes, size_t pos,
					   uint64_t offset)
{
	const size_t left = bytes.size() - pos;
	if (left < sizeof(clonescope_record_header))
		return Error{fmt::format("truncated record header at offset {}: {} bytes left, "
					 "header needs {}",
					 offset, left, sizeof(clonescope_record_header))};
	clonescope_record_header hdr;
	std::memcpy(&hdr, bytes.data() + pos, sizeof(hdr));
	if (hdr.size < sizeof(hdr) || hdr.size % 8)
		return Error{fmt::format("bad record size {} at offset {} (must be a multiple "
					 "of 8 and at least {})",
					 hdr.size, offset, sizeof(hdr))};
	if (hdr.size > left)
		return Error{fmt::format("truncated record at offset {}: size {} but only {} "
					 "bytes left",
					 offset, hdr.size, left)};
	return hdr;
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
	size_t pos = 0;
	while (pos < bytes.size()) {
		const uint64_t offset = base_offset + pos;
		auto hdr = header_at(bytes, pos, offset);
		if (!hdr)
			return hdr.error();
		auto rec = bytes.subspan(pos, hdr->size);
		Status st = Ok{};
		switch (hdr->type) {
		case CLONESCOPE_RECORD_CLONE:
			st = append_event<clonescope_clone_event>(
				rec, offset, "clone", CLONESCOPE_CLONE_EVENT_SIZE_VER0, out);
			break;
		case CLONESCOPE_RECORD_CHILD_START:
			st = append_event<clonescope_child_start_event>(
				rec, offset, "child-start", CLONESCOPE_CHILD_START_EVENT_SIZE_VER0, out);
			break;
		case CLONESCOPE_RECORD_LOST:
			st = append_event<clonescope_lost_event>(rec, offset, "lost",
								 CLONESCOPE_LOST_EVENT_SIZE_VER0, out);
			break;
		case CLONESCOPE_RECORD_COW:
			st = append_event<clonescope_cow_event>(rec, offset, "cow",
								CLONESCOPE_COW_EVENT_SIZE_VER0, out);
			break;
		default:
			out.unknown_skipped++;
			break;
		}
		if (!st)
			return st;
		pos += hdr->size;
	}
	return Ok{};
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
