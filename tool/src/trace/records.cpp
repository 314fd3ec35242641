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

// Checks one record of a known type: its first size, and whether this
// tool's struct fits in it (else the segment is copied, see append()).
template <typename Record>
Status check_record(std::span<const std::byte> rec, uint64_t offset, bool &short_record)
{
	if (rec.size() < RecordType<Record>::size_ver0)
		return Error{fmt::format("record at offset {}: {} record of {} bytes, the "
					 "smallest is {}",
					 offset, RecordType<Record>::name, rec.size(),
					 RecordType<Record>::size_ver0)};
	short_record |= rec.size() < sizeof(Record);
	return Ok{};
}

// @bytes (checked) with each known record at least this tool's struct,
// zero-filled (copy_record()), and the unknown ones left out.
std::vector<std::byte> widened(std::span<const std::byte> bytes)
{
	std::vector<std::byte> out;
	out.reserve(bytes.size() * 2);
	(void)walk_records<clonescope_record_header>(
		bytes, 0, "",
		[&out](const clonescope_record_header &hdr, std::span<const std::byte> rec,
		       uint64_t) -> Status {
			with_record_type(hdr.type, [&]<typename Record>() {
				const size_t at = out.size();
				const size_t size = std::max(rec.size(), sizeof(Record));
				out.resize(at + size, std::byte{0});
				std::memcpy(out.data() + at, rec.data(), rec.size());
				auto *widened_hdr = reinterpret_cast<clonescope_record_header *>(
					out.data() + at);
				widened_hdr->size = static_cast<uint16_t>(size);
			});
			return Ok{};
		});
	return out;
}

} // namespace

namespace {

// A type's first size and this tool's struct size; {0, 0} when unknown.
struct TypeSizes {
	size_t ver0 = 0;
	size_t full = 0;
};

constexpr TypeSizes type_sizes(uint16_t type)
{
	TypeSizes sizes;
	with_record_type(type, [&sizes]<typename Record>() {
		sizes = {RecordType<Record>::size_ver0, sizeof(Record)};
	});
	return sizes;
}

// Counts of what a well-formed stream holds.
struct StreamCheck {
	size_t known = 0;
	size_t unknown = 0;
	bool short_record = false; // shorter than this tool's struct
};

// The check of walk_records() and check_record(), without their errors:
// one load per record header, nothing built.  Nothing when @bytes is
// malformed (the slow walk then names the problem).
std::optional<StreamCheck> quick_check(std::span<const std::byte> bytes)
{
	StreamCheck check;
	const std::byte *p = bytes.data();
	const std::byte *const end = p + bytes.size();
	while (p != end) {
		clonescope_record_header hdr;
		if (static_cast<size_t>(end - p) < sizeof(hdr))
			return std::nullopt;
		prefetch_ahead(p);
		std::memcpy(&hdr, p, sizeof(hdr));
		if (hdr.size < sizeof(hdr) || hdr.size % 8 || hdr.size > static_cast<size_t>(end - p))
			return std::nullopt;
		const TypeSizes sizes = type_sizes(hdr.type);
		if (!sizes.ver0) {
			check.unknown++;
		} else if (hdr.size < sizes.ver0) {
			return std::nullopt;
		} else {
			check.known++;
			check.short_record |= hdr.size < sizes.full;
		}
		p += hdr.size;
	}
	return check;
}

} // namespace

Status KernelRecords::append(std::span<const std::byte> bytes, uint64_t base_offset,
			     std::shared_ptr<const void> owner)
{
	const auto check = quick_check(bytes);
	if (!check) {
		// The same checks again, for their error message.
		bool short_record = false;
		auto st = walk_records<clonescope_record_header>(
			bytes, base_offset, "",
			[&short_record](const clonescope_record_header &hdr,
					std::span<const std::byte> rec, uint64_t offset) -> Status {
				Status checked = Ok{};
				with_record_type(hdr.type, [&]<typename Record>() {
					checked = check_record<Record>(rec, offset, short_record);
				});
				return checked;
			});
		return st ? Status{Error{fmt::format("record at offset {}: malformed", base_offset)}}
			  : st;
	}
	const size_t known = check->known, unknown = check->unknown;
	const bool short_record = check->short_record;
	Segment seg{bytes, bytes};
	// Read in place only as this tool's structs, aligned for them.
	if (short_record || reinterpret_cast<uintptr_t>(bytes.data()) % alignof(uint64_t)) {
		auto copy = std::make_shared<const std::vector<std::byte>>(widened(bytes));
		seg.records = *copy;
		owners_.push_back(std::move(copy));
	}
	owners_.push_back(std::move(owner));
	segments_.push_back(seg);
	count_ += known;
	unknown_ += unknown;
	return Ok{};
}

Status KernelRecords::append_copy(std::span<const std::byte> bytes, uint64_t base_offset)
{
	auto copy = std::make_shared<const std::vector<std::byte>>(bytes.begin(), bytes.end());
	const std::span<const std::byte> view = *copy;
	return append(view, base_offset, std::move(copy));
}

void KernelRecords::append(const KernelRecords &more)
{
	segments_.insert(segments_.end(), more.segments_.begin(), more.segments_.end());
	owners_.insert(owners_.end(), more.owners_.begin(), more.owners_.end());
	count_ += more.count_;
	unknown_ += more.unknown_;
}

std::vector<std::byte> KernelRecords::stream_bytes() const
{
	std::vector<std::byte> out;
	for (const auto &seg : segments_)
		out.insert(out.end(), seg.added.begin(), seg.added.end());
	return out;
}

uint16_t KernelRecords::iterator::header_size() const
{
	return reinterpret_cast<const clonescope_record_header *>(pos_)->size;
}

uint16_t KernelRecords::iterator::header_type() const
{
	return reinterpret_cast<const clonescope_record_header *>(pos_)->type;
}

void KernelRecords::iterator::enter()
{
	pos_ = end_ = nullptr;
	if (!owner_ || segment_ >= owner_->segments_.size())
		return;
	const auto recs = owner_->segments_[segment_].records;
	pos_ = recs.data();
	end_ = recs.data() + recs.size();
	settle();
}

void KernelRecords::iterator::settle()
{
	// Checked when added: every header is whole and its size fits.
	while (pos_ != end_ && !is_known_record_type(header_type()))
		pos_ += header_size();
	if (pos_ == end_) {
		segment_++;
		enter();
	}
}

void RecordTally::add(const KernelRecords &more)
{
	records += more.size() + more.unknown_skipped();
	for (const auto r : more) {
		if (const auto *c = r.get_if<clonescope_clone_event>()) {
			clones++;
			failed += is_failure(*c);
			restarted += is_restart(*c);
		} else if (r.holds<clonescope_child_start_event>()) {
			child_starts++;
		} else if (const auto *l = r.get_if<clonescope_lost_event>()) {
			lost += l->lost;
		}
	}
}

RecordTally tally_records(const KernelRecords &records)
{
	RecordTally t;
	t.add(records);
	return t;
}

Result<KernelRecords> decode_records(std::span<const std::byte> bytes, uint64_t base_offset)
{
	KernelRecords out;
	if (auto st = out.append_copy(bytes, base_offset); !st)
		return st.error();
	return out;
}

} // namespace clonescope
