#pragma once

#include <sys/resource.h>

#include <cstdint>

namespace clonescope {

// CPU time this process spent, user and system (getrusage(RUSAGE_SELF):
// every thread of it, none of its children).
struct CpuTime {
	uint64_t user_ns = 0;
	uint64_t system_ns = 0;

	uint64_t total_ns() const { return user_ns + system_ns; }
	friend CpuTime operator-(const CpuTime &a, const CpuTime &b)
	{
		return {a.user_ns - b.user_ns, a.system_ns - b.system_ns};
	}
};

inline CpuTime self_cpu_time()
{
	const auto ns = [](const timeval &tv) {
		return static_cast<uint64_t>(tv.tv_sec) * 1'000'000'000ULL +
		       static_cast<uint64_t>(tv.tv_usec) * 1'000ULL;
	};
	rusage ru = {};
	getrusage(RUSAGE_SELF, &ru); // cannot fail for RUSAGE_SELF and a valid pointer
	return {ns(ru.ru_utime), ns(ru.ru_stime)};
}

} // namespace clonescope
