#include <gtest/gtest.h>
#include <linux/clonescope.h>
#include <linux/sched.h>
#include <signal.h>

#include <cerrno>
#include <fmt/format.h>

#include "device/device.hpp"
#include "trace/names.hpp"

namespace clonescope {
namespace {

TEST(Names, CloneFlags)
{
	EXPECT_EQ("CLONE_VM|CLONE_VFORK", clone_flags_string(CLONE_VM | CLONE_VFORK));
	EXPECT_EQ("CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID",
		  clone_flags_string(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID));
	EXPECT_EQ("0", clone_flags_string(0));
	EXPECT_EQ("CLONE_VM|0x1000000000", clone_flags_string(CLONE_VM | (1ULL << 36)));
	EXPECT_EQ("CLONE_INTO_CGROUP", clone_flags_string(CLONE_INTO_CGROUP));
}

TEST(Names, ErrnoSignalSyscallPhase)
{
	EXPECT_EQ("EAGAIN", errno_name(EAGAIN));
	EXPECT_EQ("ERESTARTNOINTR", errno_name(513)); // kernel-internal, seen in clone records
	EXPECT_EQ("E4000", errno_name(4000));
	EXPECT_EQ("SIGCHLD", signal_name(SIGCHLD));
	EXPECT_EQ("0", signal_name(0));
	EXPECT_STREQ("clone3", syscall_name(CLONESCOPE_SYSCALL_CLONE3));
	EXPECT_STREQ("kernel", syscall_name(CLONESCOPE_SYSCALL_UNKNOWN));
	EXPECT_STREQ("dup_task", phase_name(CLONESCOPE_PHASE_DUP_TASK));
	EXPECT_STREQ("kernel_clone", phase_name(CLONESCOPE_PHASE_KERNEL_CLONE));
	EXPECT_EQ(nullptr, phase_name(CLONESCOPE_NR_PHASES));
}

TEST(Names, Features)
{
	auto names = feature_names(CLONESCOPE_FEAT_PHASES | CLONESCOPE_FEAT_FILTER | (1ULL << 40));
	ASSERT_EQ(3u, names.size());
	EXPECT_EQ("phases", names[0]);
	EXPECT_EQ("filter", names[1]);
	EXPECT_EQ("0x10000000000", names[2]);
}

TEST(Names, ProbeGroups)
{
	EXPECT_EQ(static_cast<uint32_t>(CLONESCOPE_PROBES_ALL), *parse_probe_groups("all"));
	// The clone group is always armed.
	EXPECT_EQ(CLONESCOPE_PROBES_CLONE | CLONESCOPE_PROBES_COW, *parse_probe_groups("cow"));
	EXPECT_EQ(CLONESCOPE_PROBES_CLONE | CLONESCOPE_PROBES_PHASES |
			  CLONESCOPE_PROBES_PAGE_TABLES,
		  *parse_probe_groups("phases,page_tables"));
	auto bad = parse_probe_groups("phases,bogus");
	ASSERT_FALSE(bad.ok());
	EXPECT_NE(std::string::npos, bad.error().message.find("\"bogus\""));
	EXPECT_FALSE(parse_probe_groups("").ok());
}

TEST(Names, AbiCheck)
{
	EXPECT_TRUE(check_abi({CLONESCOPE_ABI_MAJOR, CLONESCOPE_ABI_MINOR + 5, 0}).ok());
	auto st = check_abi({CLONESCOPE_ABI_MAJOR + 1, 0, 0});
	ASSERT_FALSE(st.ok());
	// Both versions are named.
	EXPECT_NE(std::string::npos,
		  st.error().message.find(fmt::format("{}.0", CLONESCOPE_ABI_MAJOR + 1)));
	EXPECT_NE(std::string::npos, st.error().message.find(fmt::format(
					     "{}.{}", CLONESCOPE_ABI_MAJOR, CLONESCOPE_ABI_MINOR)));
}

TEST(Names, MissingDeviceSaysModuleNotLoaded)
{
	auto d = Device::open("/nonexistent/clonescope");
	ASSERT_FALSE(d.ok());
	EXPECT_NE(std::string::npos, d.error().message.find("module not loaded"));
	EXPECT_NE(std::string::npos, d.error().message.find("insmod"));
}

} // namespace
} // namespace clonescope
