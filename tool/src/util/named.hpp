#pragma once
// Names of values and of bits, looked up in tables: one lookup for every
// enum and flag set the tool prints, instead of a switch per enum.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace clonescope {

struct Named {
	uint64_t value;
	const char *name;
};

// The name of @value in @table, else @fallback.
template <size_t N>
constexpr const char *name_in(const Named (&table)[N], uint64_t value, const char *fallback)
{
	for (const auto &n : table)
		if (n.value == value)
			return n.name;
	return fallback;
}

// The name of @e, an enum whose values count from 0, in @names (in the
// enum's order), else "?".
template <typename Enum, size_t N>
constexpr const char *enum_name(const char *const (&names)[N], Enum e)
{
	const auto i = static_cast<size_t>(e);
	return i < N ? names[i] : "?";
}

// The names of @table's bits in @bits, then the bits it does not name (hex).
template <size_t N>
std::vector<std::string> bit_names(const Named (&table)[N], uint64_t bits)
{
	std::vector<std::string> out;
	for (const auto &n : table) {
		if (!(bits & n.value))
			continue;
		out.emplace_back(n.name);
		bits &= ~n.value;
	}
	if (bits)
		out.push_back(fmt::format("{:#x}", bits));
	return out;
}

} // namespace clonescope
