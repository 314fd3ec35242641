#pragma once
// Walking a stream of length-prefixed records, the kernel's
// (uapi/linux/clonescope.h) and the shim's (preload/user_trace.h) alike:
// each record starts with a header whose `size` is the whole record's, a
// multiple of 8, so a reader can skip a record it does not know.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <span>
#include <string_view>

#include "util/result.hpp"

namespace clonescope {

// Calls @visit(header, record bytes, offset) for each record of @bytes, in
// order, until it returns an error. Errors name the record's offset,
// @base_offset + its position, after @what ("user trace: ", or "").
template <typename Header, typename Visit>
Status walk_records(std::span<const std::byte> bytes, uint64_t base_offset, std::string_view what,
		    Visit &&visit)
{
	size_t pos = 0;
	while (pos < bytes.size()) {
		const uint64_t offset = base_offset + pos;
		const size_t left = bytes.size() - pos;
		if (left < sizeof(Header))
			return Error{fmt::format("{}truncated record header at offset {}: {} bytes "
						 "left, header needs {}",
						 what, offset, left, sizeof(Header))};
		Header hdr;
		std::memcpy(&hdr, bytes.data() + pos, sizeof(hdr));
		if (hdr.size < sizeof(hdr) || hdr.size % 8)
			return Error{fmt::format("{}bad record size {} at offset {} (must be a multiple "
						 "of 8 and at least {})",
						 what, hdr.size, offset, sizeof(hdr))};
		if (hdr.size > left)
			return Error{fmt::format("{}truncated record at offset {}: size {} but only {} "
						 "bytes left",
						 what, offset, hdr.size, left)};
		if (Status st = visit(hdr, bytes.subspan(pos, hdr.size), offset); !st)
			return st;
		pos += hdr.size;
	}
	return Ok{};
}

} // namespace clonescope
