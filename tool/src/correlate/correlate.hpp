#pragma once
// Joining user-side calls (the preload shim) with kernel clone records.
//
// A kernel record belongs to a user call when the call's thread made the
// clone (parent_pid == tid) inside the call's [entry, return] window; of
// several such calls (nested interposed calls), the one whose child pid
// agrees wins, then the innermost. One call may own several records (a
// restarted clone, a clone3 that fell back to clone).

#include <linux/clonescope.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trace/trace_file.hpp"

namespace clonescope {

// One thing the report counts: a user call with its kernel records, or a
// kernel record no user call claimed. Points into the Trace it came from.
struct Sample {
	std::string kind; // fork, vfork, thread, posix_spawn, system, clone3, ...
	std::string site; // resolved call site (address level), or "[no user call: why] comm"
	const UserCall *user = nullptr;
	const SymbolInfo *symbol = nullptr; // the call site's, if symbolized
	std::vector<const clonescope_clone_event *> kernel = {}; // in time order
	// The record that made the call's child (the last one), if any.
	const clonescope_clone_event *primary() const
	{
		return kernel.empty() ? nullptr : kernel.back();
	}
	// Child's first run - the primary record's WAKE_UP_NEW_TASK start.
	std::optional<uint64_t> wakeup_ns = {};
	// Child's first run time, for flow arrows.
	std::optional<uint64_t> child_start_ns = {};
	// The copy-on-write bill of the primary record's fork, if written.
	const clonescope_cow_event *cow = nullptr;
	// What became of the primary record's child (exec, exit, reap), if
	// written.
	const clonescope_lifecycle_event *life = nullptr;

	bool failed() const;
	// errno of the failure (kernel result, else the user call's), 0 if none;
	// a restarted record is no failure (see is_restart).
	int error() const;
	// Kernel records the kernel restarted (-ERESTARTNOINTR).
	size_t restarts() const;
	// Sum of the kernel records' durations; nullopt without any.
	std::optional<uint64_t> kernel_ns() const;
	std::optional<uint64_t> user_ns() const;
	// user - kernel: libc and atfork work around the syscall.
	std::optional<uint64_t> overhead_ns() const;
	// 4K pages copied on write, child + parent, while the fork's pages
	// were shared; nullopt without a COW record.
	std::optional<uint64_t> cow_pages() const;
	std::optional<uint64_t> cow_copy_ns() const;
	// The child's lifecycle: fork (copy_process made it) to its first
	// exec, fork to exit, exit to reap (a zombie); nullopt when that did
	// not happen while traced, or without a lifecycle record.
	std::optional<uint64_t> fork_to_exec_ns() const;
	std::optional<uint64_t> lifetime_ns() const;
	std::optional<uint64_t> zombie_ns() const;
	// Time clonescope's handlers spent in the kernel records, by a module
	// of @features; nullopt without any, or if one was not timed (is_timed).
	std::optional<uint64_t> self_cost_ns(uint64_t features) const;

private:
	// Sum of @field over the kernel records; nullopt without any.
	template <typename Field>
	std::optional<uint64_t> sum_kernel(Field field) const
	{
		if (kernel.empty())
			return std::nullopt;
		uint64_t sum = 0;
		for (const auto *k : kernel)
			sum += field(*k);
		return sum;
	}
};

struct Correlation {
	std::vector<Sample> samples; // user calls in trace order, then unmatched kernel records
	size_t user_calls = 0;
	size_t user_matched = 0; // calls that own at least one kernel record
	size_t kernel_clones = 0;
	size_t kernel_matched = 0;
	size_t kernel_restarts = 0; // records with CLONESCOPE_CLONE_RESTART
	size_t child_starts = 0;
	size_t cow_records = 0;
	size_t lifecycle_records = 0; // joined to their clone
	uint64_t lost = 0; // records the module dropped (LOST records)
};

// The name of user-call kind @kind (CS_KIND_*).
const char *user_kind_name(uint32_t kind);
// The kind of a clone no user call claims, from its flags and syscall.
const char *kernel_kind_name(const clonescope_clone_event &ev);
// "symbol+0xoff (file:line) [module]" for a call site of image @image;
// "module+0xoff" or the bare address without symbol information. The
// first form takes the site's SymbolInfo (nullptr: none) already found.
std::string site_name(const Trace &trace, uint32_t image, uint64_t address);
std::string site_name(const SymbolInfo *sym, const Trace &trace, uint32_t image, uint64_t address);

// How `report` groups call sites: by source line (function + file:line, as
// `perf report --sort srcline`), by function, or by return address.
enum class SiteGrouping { line, function, address };

// The group key of @s: "function (file:line) [module]", "function
// [module]" or its address-level site. Without the information a coarser
// key needs (no line table, no symbol), the address-level site.
std::string site_key(const Sample &s, SiteGrouping grouping);

// @trace must outlive the result.
Correlation correlate(const Trace &trace);

} // namespace clonescope
