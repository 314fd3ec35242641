#include "trace/names.hpp"

#include <linux/clonescope.h>
#include <linux/sched.h>

#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iterator>

#include "util/named.hpp"

namespace clonescope {

namespace {

constexpr Named kCloneFlags[] = {
	{CLONE_VM, "CLONE_VM"},
	{CLONE_FS, "CLONE_FS"},
	{CLONE_FILES, "CLONE_FILES"},
	{CLONE_SIGHAND, "CLONE_SIGHAND"},
	{CLONE_PIDFD, "CLONE_PIDFD"},
	{CLONE_PTRACE, "CLONE_PTRACE"},
	{CLONE_VFORK, "CLONE_VFORK"},
	{CLONE_PARENT, "CLONE_PARENT"},
	{CLONE_THREAD, "CLONE_THREAD"},
	{CLONE_NEWNS, "CLONE_NEWNS"},
	{CLONE_SYSVSEM, "CLONE_SYSVSEM"},
	{CLONE_SETTLS, "CLONE_SETTLS"},
	{CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"},
	{CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
	{CLONE_DETACHED, "CLONE_DETACHED"},
	{CLONE_UNTRACED, "CLONE_UNTRACED"},
	{CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
	{CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{CLONE_NEWUTS, "CLONE_NEWUTS"},
	{CLONE_NEWIPC, "CLONE_NEWIPC"},
	{CLONE_NEWUSER, "CLONE_NEWUSER"},
	{CLONE_NEWPID, "CLONE_NEWPID"},
	{CLONE_NEWNET, "CLONE_NEWNET"},
	{CLONE_IO, "CLONE_IO"},
	{CLONE_CLEAR_SIGHAND, "CLONE_CLEAR_SIGHAND"},
	{CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"},
	{CLONE_NEWTIME, "CLONE_NEWTIME"},
};

constexpr const char *kPhaseNames[CLONESCOPE_NR_PHASES] = {
	"dup_task",	   "copy_creds",   "sched_fork",      "task_init",
	"files_to_mm",	   "copy_namespaces", "copy_io",      "copy_thread",
	"alloc_pid",	   "cgroup_can_fork", "attach",       "dup_mmap",
	"copy_page_range", "copy_process", "wake_up_new_task", "kernel_clone",
};

constexpr Named kRecordFlags[] = {
	{CLONESCOPE_CLONE_FAILED, "failed"},
	{CLONESCOPE_CLONE_RESTART, "restart"},
	{CLONESCOPE_CLONE_TIMED, "timed"},
	{CLONESCOPE_CLONE_NO_KERNEL_CLONE, "no_kernel_clone"},
};

constexpr CowCounter kCowCounters[] = {
	{"copied", &clonescope_cow_counts::copied},
	{"reused", &clonescope_cow_counts::reused},
	{"zero_copied", &clonescope_cow_counts::zero_copied},
	{"copy_ns", &clonescope_cow_counts::copy_ns},
	{"thp_faults", &clonescope_cow_counts::thp_faults},
	{"thp_fallback", &clonescope_cow_counts::thp_fallback},
	{"hugetlb_faults", &clonescope_cow_counts::hugetlb_faults},
	{"hugetlb_copied", &clonescope_cow_counts::hugetlb_copied},
	{"hugetlb_bytes", &clonescope_cow_counts::hugetlb_bytes},
};
// A counter added to the struct must be named here.
static_assert(sizeof(clonescope_cow_counts) == std::size(kCowCounters) * sizeof(__u64));

constexpr Named kCowEnds[] = {
	{CLONESCOPE_COW_END_EXEC, "exec"},
	{CLONESCOPE_COW_END_EXIT, "exit"},
	{CLONESCOPE_COW_END_STOP, "stop"},
};

constexpr Named kSyscalls[] = {
	{CLONESCOPE_SYSCALL_CLONE, "clone"},
	{CLONESCOPE_SYSCALL_CLONE3, "clone3"},
	{CLONESCOPE_SYSCALL_FORK, "fork"},
	{CLONESCOPE_SYSCALL_VFORK, "vfork"},
};

} // namespace

std::vector<std::string> clone_flag_names(uint64_t flags)
{
	return bit_names(kCloneFlags, flags);
}

std::string clone_flags_string(uint64_t flags)
{
	const auto names = clone_flag_names(flags);
	return names.empty() ? "0" : fmt::format("{}", fmt::join(names, "|"));
}

std::vector<std::string> record_flag_names(uint32_t flags)
{
	return bit_names(kRecordFlags, flags);
}

std::vector<std::string> lifecycle_flag_names(uint32_t flags)
{
	static constexpr Named kLifecycleFlags[] = {
		{CLONESCOPE_LIFE_THREAD, "thread"},
		{CLONESCOPE_LIFE_UNFINISHED, "unfinished"},
		{CLONESCOPE_LIFE_NO_REAP_PROBE, "no_reap_probe"},
	};
	return bit_names(kLifecycleFlags, flags);
}

const char *cow_end_name(uint32_t reason)
{
	return name_in(kCowEnds, reason, "unknown");
}

std::span<const CowCounter> cow_counters()
{
	return kCowCounters;
}

const char *syscall_name(uint32_t syscall)
{
	return name_in(kSyscalls, syscall, "kernel");
}

const char *phase_name(uint32_t index)
{
	return index < CLONESCOPE_NR_PHASES ? kPhaseNames[index] : nullptr;
}

const char *agg_kind_name(uint32_t kind)
{
	static constexpr const char *kNames[] = {"fork", "vfork", "thread", "clone3", "kernel"};
	static_assert(CLONESCOPE_AGG_KIND_FORK == 0 && CLONESCOPE_AGG_KIND_VFORK == 1 &&
		      CLONESCOPE_AGG_KIND_THREAD == 2 && CLONESCOPE_AGG_KIND_CLONE3 == 3 &&
		      CLONESCOPE_AGG_KIND_KERNEL == 4 && CLONESCOPE_AGG_NR_KINDS == 5);
	return kind < std::size(kNames) ? kNames[kind] : nullptr;
}

std::string errno_name(int err)
{
	// Kernel-internal restart codes (include/linux/errno.h) that libc
	// does not name; copy_process returns ERESTARTNOINTR on a signal.
	switch (err) {
	case 512:
		return "ERESTARTSYS";
	case 513:
		return "ERESTARTNOINTR";
	case 514:
		return "ERESTARTNOHAND";
	case 516:
		return "ERESTART_RESTARTBLOCK";
	}
	if (const char *n = strerrorname_np(err))
		return n;
	return fmt::format("E{}", err);
}

std::string signal_name(int sig)
{
	if (sig == 0)
		return "0";
	if (const char *n = sigabbrev_np(sig))
		return fmt::format("SIG{}", n);
	return fmt::format("{}", sig);
}

} // namespace clonescope
