#include "trace/records.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "trace/record_walker.hpp"

namespace clonescope {

namespace {

// Copies the record into a new element of @out: one copy, no temporary.
template <typename Event>
Status append_event(std::span<const std::byte> rec, uint64_t offset, const char *name,
		    DecodedRecords &out)
{
	if (rec.size() < sizeof(Event))
		return Error{fmt::format("record at offset {}: {} record of {} bytes, needs {}",
					 offset, name, rec.size(), sizeof(Event))};
	auto &slot = out.records.emplace_back(std::in_place_type<Event>);
	std::memcpy(&std::get<Event>(slot), rec.data(), sizeof(Event));
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
				return append_event<clonescope_clone_event>(rec, offset, "clone", out);
			case CLONESCOPE_RECORD_CHILD_START:
				return append_event<clonescope_child_start_event>(rec, offset,
										  "child-start", out);
			case CLONESCOPE_RECORD_LOST:
				return append_event<clonescope_lost_event>(rec, offset, "lost", out);
			case CLONESCOPE_RECORD_COW:
				return append_event<clonescope_cow_event>(rec, offset, "cow", out);
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
