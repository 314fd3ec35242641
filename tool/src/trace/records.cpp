#include "trace/records.hpp"

#include <cstring>
#include <fmt/format.h>

namespace clonescope {

namespace {

template <typename Event>
Result<KernelRecord> copy_event(std::span<const std::byte> rec, uint64_t offset, const char *name)
{
	if (rec.size() < sizeof(Event))
		return Error{fmt::format("record at offset {}: {} record of {} bytes, needs {}",
					 offset, name, rec.size(), sizeof(Event))};
	Event ev;
	std::memcpy(&ev, rec.data(), sizeof(ev));
	return KernelRecord{ev};
}

} // namespace

Status decode_records_into(std::span<const std::byte> bytes, uint64_t base_offset,
			   DecodedRecords &out)
{
	size_t pos = 0;
	while (pos < bytes.size()) {
		uint64_t offset = base_offset + pos;
		size_t left = bytes.size() - pos;
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
		auto rec = bytes.subspan(pos, hdr.size);
		Result<KernelRecord> r = Error{};
		switch (hdr.type) {
		case CLONESCOPE_RECORD_CLONE:
			r = copy_event<clonescope_clone_event>(rec, offset, "clone");
			break;
		case CLONESCOPE_RECORD_CHILD_START:
			r = copy_event<clonescope_child_start_event>(rec, offset, "child-start");
			break;
		case CLONESCOPE_RECORD_LOST:
			r = copy_event<clonescope_lost_event>(rec, offset, "lost");
			break;
		case CLONESCOPE_RECORD_COW:
			r = copy_event<clonescope_cow_event>(rec, offset, "cow");
			break;
		default:
			out.unknown_skipped++;
			pos += hdr.size;
			continue;
		}
		if (!r)
			return r.error();
		out.records.push_back(*r);
		pos += hdr.size;
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
