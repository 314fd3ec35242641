#pragma once

#include <time.h>

#include <cstdint>

namespace clonescope {

// CLOCK_MONOTONIC in ns: the clock of the kernel and user records.
inline uint64_t monotonic_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

} // namespace clonescope
