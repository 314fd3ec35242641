#pragma once
// Decoding the kernel record stream (uapi/linux/clonescope.h) from bytes.

#include <linux/clonescope.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "util/result.hpp"

namespace clonescope {

using KernelRecord = std::variant<clonescope_clone_event, clonescope_child_start_event,
				  clonescope_lost_event, clonescope_cow_event>;

struct DecodedRecords {
	std::vector<KernelRecord> records;
	size_t unknown_skipped = 0; // records of types this tool does not know
};

// Whether @ev measured phase @phase (CLONESCOPE_PHASE_*).
inline bool has_phase(const clonescope_clone_event &ev, uint32_t phase)
{
	return phase < 64 && (ev.phase_mask & (1ULL << phase));
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

// What `record` says about the records it read at the end.
struct RecordTally {
	size_t clones = 0;
	size_t failed = 0;    // is_failure
	size_t restarted = 0; // is_restart
	size_t child_starts = 0;
	uint64_t lost = 0; // the LOST records' counts
};
RecordTally tally_records(const DecodedRecords &records);

// Decodes whole records. @base_offset is added to offsets in error messages
// so they point into the file or stream the bytes came from. A record
// larger than the struct we know (newer ABI minor) is accepted; its tail is
// ignored.
Result<DecodedRecords> decode_records(std::span<const std::byte> bytes, uint64_t base_offset = 0);

// How many records @bytes holds, by walking their headers (a malformed
// one ends the count): to reserve room before decoding.
size_t count_records(std::span<const std::byte> bytes);

// Appends the decoded records of @bytes to @out.
Status decode_records_into(std::span<const std::byte> bytes, uint64_t base_offset,
			   DecodedRecords &out);

} // namespace clonescope
