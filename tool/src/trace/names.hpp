#pragma once
// Human-readable names for the numbers in records: clone flags, syscalls,
// phases, errno values and signals.

#include <cstdint>
#include <optional>
#include <string>

namespace clonescope {

// "CLONE_VM|CLONE_VFORK", unknown bits appended as hex, "0" for none.
std::string clone_flags_string(uint64_t flags);
const char *syscall_name(uint32_t syscall);
// Short name of phase @index ("dup_task", ...), nullptr when out of range.
const char *phase_name(uint32_t index);
// "EAGAIN"; "E<n>" when libc has no name for it.
std::string errno_name(int err);
// "SIGCHLD", "0" for none.
std::string signal_name(int sig);

} // namespace clonescope
