#include "trace/names.hpp"

#include <linux/clonescope.h>
#include <linux/sched.h>

#include <cstring>
#include <fmt/format.h>

namespace clonescope {

namespace {

struct FlagName {
	uint64_t bit;
	const char *name;
};

constexpr FlagName kCloneFlags[] = {
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

} // namespace

std::string clone_flags_string(uint64_t flags)
{
	std::string out;
	for (const auto &f : kCloneFlags) {
		if (!(flags & f.bit))
			continue;
		if (!out.empty())
			out += '|';
		out += f.name;
		flags &= ~f.bit;
	}
	if (flags)
		out += fmt::format("{}{:#x}", out.empty() ? "" : "|", flags);
	return out.empty() ? "0" : out;
}

const char *syscall_name(uint32_t syscall)
{
	switch (syscall) {
	case CLONESCOPE_SYSCALL_CLONE:
		return "clone";
	case CLONESCOPE_SYSCALL_CLONE3:
		return "clone3";
	case CLONESCOPE_SYSCALL_FORK:
		return "fork";
	case CLONESCOPE_SYSCALL_VFORK:
		return "vfork";
	default:
		return "kernel";
	}
}

const char *phase_name(uint32_t index)
{
	return index < CLONESCOPE_NR_PHASES ? kPhaseNames[index] : nullptr;
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
