#pragma once
// The fixtures the tests read, built in code so that they are reproducible:
// tests/make_fixtures writes them to tests/fixtures/, and a test checks
// the committed files still equal what this code builds.

#include <linux/clonescope.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "trace/trace_file.hpp"

namespace clonescope::fixtures {

// Time origin of the fixtures; every timestamp is an offset from it.
inline constexpr uint64_t kT0 = 1'000'000'000'000ULL;
inline constexpr uint32_t kPid = 4242;	 // the traced process
inline constexpr uint32_t kTid2 = 4243;	 // its second thread
inline constexpr uint64_t kSiteFork = 0x555555555100;
inline constexpr uint64_t kSiteSpawn = 0x555555555200;
inline constexpr uint64_t kExeBase = 0x555555554000;
// The trace's module features: every one the ABI defines, self-cost included.
inline constexpr uint64_t kFeatures = (CLONESCOPE_FEAT_OPTIONS << 1) - 1;

// Kernel stream: a fork, a posix_spawn's vfork-style clone, a thread, a
// failed clone3, a raw clone nobody called through libc, a child start
// per successful process, a lost record, one record of unknown type and
// the COW record of the fork.
std::vector<std::byte> kernel_stream();
// The shim's file for kPid: one map record and the libc calls above.
std::vector<std::byte> user_stream();
// A whole trace file with the two streams above.
std::vector<std::byte> trace_file();

// Builders the tests use for records of their own.
clonescope_clone_event clone_event(uint32_t tid, uint32_t tgid, uint64_t flags, uint32_t syscall,
				   uint64_t start_ns, uint64_t end_ns, int64_t result);
// A clone the kernel restarts (-ERESTARTNOINTR), as the module flags it.
clonescope_clone_event restarted_event(uint32_t tid, uint64_t start_ns, uint64_t end_ns);
void append(std::vector<std::byte> &out, const void *p, size_t n);

} // namespace clonescope::fixtures
