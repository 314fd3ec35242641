#include "report/stats.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fmt/format.h>

namespace clonescope {

uint64_t percentile(const std::vector<uint64_t> &sorted, double p)
{
	const auto n = static_cast<double>(sorted.size());
	auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n));
	rank = std::clamp<size_t>(rank, 1, sorted.size());
	return sorted[rank - 1];
}

std::optional<Summary> summarize(std::vector<uint64_t> values)
{
	if (values.empty())
		return std::nullopt;
	std::sort(values.begin(), values.end());
	return Summary{values.size(),		  values.front(),	   percentile(values, 50),
		       percentile(values, 90), percentile(values, 99), values.back()};
}

std::optional<Summary> summarize_log2(std::span<const unsigned long long> buckets)
{
	uint64_t n = 0;
	for (auto c : buckets)
		n += c;
	if (n == 0)
		return std::nullopt;
	const auto low = [](size_t i) -> uint64_t { return i ? 1ULL << i : 0; };
	const auto high = [](size_t i) -> uint64_t { return (2ULL << i) - 1; };
	const auto estimate = [&](double p) {
		const auto rank = std::clamp<uint64_t>(
			static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(n))), 1, n);
		uint64_t below = 0;
		for (size_t i = 0; i < buckets.size(); i++) {
			if (below + buckets[i] >= rank) {
				const double f = static_cast<double>(rank - below) /
						 static_cast<double>(buckets[i]);
				return low(i) + static_cast<uint64_t>(
							f * static_cast<double>(high(i) - low(i)));
			}
			below += buckets[i];
		}
		return high(buckets.size() - 1);
	};
	std::optional<size_t> first;
	size_t last = 0;
	for (size_t i = 0; i < buckets.size(); i++) {
		if (!buckets[i])
			continue;
		if (!first)
			first = i;
		last = i;
	}
	return Summary{static_cast<size_t>(n), low(*first), estimate(50), estimate(90),
		       estimate(99), high(last)};
}

size_t Log2Hist::slot_of(uint64_t value)
{
	return value <= 1 ? 0 : static_cast<size_t>(std::bit_width(value) - 1);
}

void Log2Hist::add(uint64_t value)
{
	const size_t slot = slot_of(value);
	if (slots_.size() <= slot)
		slots_.resize(slot + 1, 0);
	slots_[slot]++;
}

std::string format_log2_hist(const Log2Hist &hist, const std::string &unit)
{
	const auto &vals = hist.slots();
	int idx_max = -1;
	uint64_t val_max = 0;
	for (size_t i = 0; i < vals.size(); i++) {
		if (vals[i] > 0)
			idx_max = static_cast<int>(i);
		val_max = std::max(val_max, vals[i]);
	}
	if (idx_max < 0)
		return {};

	// Wider columns once the values need more than 32 bits, as bcc does.
	const bool narrow = idx_max <= 32;
	const int stars_max = narrow ? 40 : 20;
	const int width = narrow ? 10 : 20;
	std::string out = fmt::format("{:{}}{:<{}} : count    distribution\n", "", narrow ? 5 : 15,
				      unit, narrow ? 19 : 29);
	for (int i = 0; i <= idx_max; i++) {
		uint64_t low = (1ULL << (i + 1)) >> 1;
		const uint64_t high = (1ULL << (i + 1)) - 1;
		if (low == high)
			low -= 1;
		const uint64_t val = vals[static_cast<size_t>(i)];
		const auto stars = static_cast<int>(val * static_cast<uint64_t>(stars_max) / val_max);
		out += fmt::format("{:>{}} -> {:<{}} : {:<8} |{}{}|\n", low, width, high, width, val,
				   std::string(static_cast<size_t>(stars), '*'),
				   std::string(static_cast<size_t>(stars_max - stars), ' '));
	}
	return out;
}

} // namespace clonescope
