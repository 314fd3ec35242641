#pragma once
// Decoding the kernel record stream (uapi/linux/clonescope.h) from bytes.

#include <linux/clonescope.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <variant>
#include <vector>

#include "util/result.hpp"

namespace clonescope {

using KernelRecord = std::variant<clonescope_clone_event, clonescope_child_start_event,
				  clonescope_lost_event, clonescope_cow_event,
				  clonescope_lifecycle_event>;

struct DecodedRecords {
	std::vector<KernelRecord> records;
	size_t unknown_skipped = 0; // records of types this tool does not know
};

// Whether @ev measured phase @phase (CLONESCOPE_PHASE_*).
inline bool has_phase(const clonescope_clone_event &ev, uint32_t phase)
{
	return phase < 64 && (ev.phase_mask & (1ULL << phase));
}

// Whether @ev failed in a phase that tiles copy_process() before tiled
// phase @phase (CLONESCOPE_TILED_PHASES): then @phase did not happen, rather
// than went unmeasured.
inline bool phase_not_reached(const clonescope_clone_event &ev, uint32_t phase)
{
	const auto tiled = [](uint32_t p) { return p < 64 && (CLONESCOPE_TILED_PHASES & (1ULL << p)); };
	return ev.result < 0 && tiled(ev.failed_phase) && tiled(phase) && phase > ev.failed_phase;
}

// -ERESTARTNOINTR: the kernel restarts the syscall itself, so the caller
// never sees it. Counted apart from failures.
inline bool is_restart(const clonescope_clone_event &ev)
{
	return ev.flags & CLONESCOPE_CLONE_RESTART;
}

// A failure the caller saw.
inline bool is_failure(const clonescope_clone_event &ev)
{
	return ev.result < 0 && !is_restart(ev);
}

// A child's lifecycle: fork (copy_process made it) to its first exec, fork
// to exit, exit to reap (a zombie); nullopt when one of the two did not
// happen while traced (its stamp is 0), never 0 for it.
inline std::optional<uint64_t> lifecycle_interval(uint64_t from, uint64_t to)
{
	if (!from || !to || to < from)
		return std::nullopt;
	return to - from;
}
inline std::optional<uint64_t> fork_to_exec_ns(const clonescope_lifecycle_event &l)
{
	return lifecycle_interval(l.fork_ns, l.exec_ns);
}
inline std::optional<uint64_t> lifetime_ns(const clonescope_lifecycle_event &l)
{
	return lifecycle_interval(l.fork_ns, l.exit_ns);
}
inline std::optional<uint64_t> zombie_ns(const clonescope_lifecycle_event &l)
{
	return lifecycle_interval(l.exit_ns, l.reap_ns);
}

// What `record` says about the records it read at the end.
struct RecordTally {
	size_t clones = 0;
	size_t failed = 0;    // is_failure
	size_t restarted = 0; // is_restart
	size_t child_starts = 0;
	uint64_t lost = 0; // the LOST records' counts
};
RecordTally tally_records(const DecodedRecords &records);

// Copies @rec into @dst, which the caller zeroed: what a shorter record (an
// older module) lacks stays zero, the tail of a longer one (a newer module)
// is ignored, as copy_struct_from_user() does.
template <typename Record>
void copy_record_prefix(Record &dst, std::span<const std::byte> rec)
{
	static_assert(std::is_trivially_copyable_v<Record>);
	std::memcpy(&dst, rec.data(), std::min(rec.size(), sizeof(dst)));
}

// A record of a known type as this tool's struct @Record (see
// copy_record_prefix); nothing when @rec is shorter than @size_ver0, the
// type's first size.
template <typename Record>
std::optional<Record> copy_record(std::span<const std::byte> rec, size_t size_ver0)
{
	if (rec.size() < size_ver0)
		return std::nullopt;
	Record r{};
	copy_record_prefix(r, rec);
	return r;
}

// Decodes whole records. @base_offset is added to offsets in error messages
// so they point into the file or stream the bytes came from. Each record is
// read with copy_record(), from its type's ..._SIZE_VER0 up.
Result<DecodedRecords> decode_records(std::span<const std::byte> bytes, uint64_t base_offset = 0);

// How many records @bytes holds, by walking their headers (a malformed
// one ends the count): to reserve room before decoding.
size_t count_records(std::span<const std::byte> bytes);

// Appends the decoded records of @bytes to @out.
Status decode_records_into(std::span<const std::byte> bytes, uint64_t base_offset,
			   DecodedRecords &out);

} // namespace clonescope
