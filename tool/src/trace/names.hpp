#pragma once
// Human-readable names for the numbers in records: clone flags, syscalls,
// phases, errno values and signals.

#include <linux/clonescope.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace clonescope {

// {"CLONE_VM", "CLONE_VFORK"}, unknown bits last as one hex number; empty
// for none.
std::vector<std::string> clone_flag_names(uint64_t flags);
// "CLONE_VM|CLONE_VFORK", unknown bits appended as hex, "0" for none.
std::string clone_flags_string(uint64_t flags);
// {"failed", "restart", "no_kernel_clone"} for CLONESCOPE_CLONE_* @flags,
// unknown bits as hex.
std::vector<std::string> record_flag_names(uint32_t flags);
// {"thread", "unfinished", "no_reap_probe"} for CLONESCOPE_LIFE_* @flags,
// unknown bits as hex.
std::vector<std::string> lifecycle_flag_names(uint32_t flags);
// "exec", "exit", "stop" for CLONESCOPE_COW_END_* @reason; "unknown" else.
const char *cow_end_name(uint32_t reason);

// The counters of struct clonescope_cow_counts, in the struct's order.
struct CowCounter {
	const char *name;
	__u64 clonescope_cow_counts::*field;
};
std::span<const CowCounter> cow_counters();
const char *syscall_name(uint32_t syscall);
// Short name of phase @index ("dup_task", ...), nullptr when out of range.
const char *phase_name(uint32_t index);
// "fork", "vfork", "thread", "clone3", "kernel" for CLONESCOPE_AGG_KIND_*
// @kind (the module's aggregates); nullptr when out of range.
const char *agg_kind_name(uint32_t kind);
// "EAGAIN"; "E<n>" when libc has no name for it.
std::string errno_name(int err);
// "SIGCHLD", "0" for none.
std::string signal_name(int sig);

} // namespace clonescope
