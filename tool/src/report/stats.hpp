#pragma once
// Percentiles and log2 histograms, as the reports print them.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace clonescope {

struct Summary {
	size_t n = 0;
	uint64_t min = 0;
	uint64_t p50 = 0;
	uint64_t p90 = 0;
	uint64_t p99 = 0;
	uint64_t max = 0;
};

// Nearest-rank percentile (the smallest value with at least p% of the
// values at or below it) of sorted, non-empty @values; @p in (0, 100].
uint64_t percentile(const std::vector<uint64_t> &sorted, double p);

// nullopt for no values: "unavailable", never 0.
std::optional<Summary> summarize(std::vector<uint64_t> values);

// Estimated from a log2 histogram (@buckets[i] counts values in [2^i,
// 2^(i+1)), bucket 0 also 0): each percentile by linear interpolation
// inside its bucket, min and max the bounds of the outermost non-empty
// buckets.  nullopt for an empty histogram.
std::optional<Summary> summarize_log2(std::span<const unsigned long long> buckets);

// Power-of-two buckets like bcc's: slot 0 holds 0 and 1, slot i >= 1
// holds [2^i, 2^(i+1) - 1].
class Log2Hist {
public:
	void add(uint64_t value);
	const std::vector<uint64_t> &slots() const { return slots_; }
	static size_t slot_of(uint64_t value);

private:
	std::vector<uint64_t> slots_;
};

// The layout of bcc's print_log2_hist (libbpf-tools/trace_helpers.c):
//      usecs               : count    distribution
//          0 -> 1          : 3        |****                                    |
// Empty string for an empty histogram.
std::string format_log2_hist(const Log2Hist &hist, const std::string &unit);

} // namespace clonescope
