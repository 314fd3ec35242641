#include <gtest/gtest.h>
#include <linux/clonescope.h>
#include <linux/sched.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fmt/format.h>
#include <fstream>
#include <regex>
#include <sstream>

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

TEST(Names, FlagListsAndCowNames)
{
	EXPECT_EQ((std::vector<std::string>{"CLONE_VM", "CLONE_VFORK", "0x1000000000"}),
		  clone_flag_names(CLONE_VM | CLONE_VFORK | (1ULL << 36)));
	EXPECT_TRUE(clone_flag_names(0).empty());
	EXPECT_EQ((std::vector<std::string>{"failed", "no_kernel_clone", "0x80"}),
		  record_flag_names(CLONESCOPE_CLONE_FAILED | CLONESCOPE_CLONE_NO_KERNEL_CLONE |
				    0x80));
	EXPECT_STREQ("exec", cow_end_name(CLONESCOPE_COW_END_EXEC));
	EXPECT_STREQ("stop", cow_end_name(CLONESCOPE_COW_END_STOP));
	EXPECT_STREQ("unknown", cow_end_name(0));
	// Every counter of the struct, in its order.
	const auto counters = cow_counters();
	ASSERT_EQ(sizeof(clonescope_cow_counts) / sizeof(__u64), counters.size());
	EXPECT_STREQ("copied", counters.front().name);
	EXPECT_STREQ("hugetlb_bytes", counters.back().name);
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

// The uapi header's `#define CLONESCOPE_<prefix>NAME <value>` lines whose
// value @value_re matches (its first group is the number), as
// {"name", number} with the name in lower case.
std::vector<std::pair<std::string, uint64_t>> uapi_defines(const std::string &prefix,
							   const std::string &value_re)
{
	std::ifstream in(CLONESCOPE_UAPI_HEADER);
	std::stringstream text;
	text << in.rdbuf();
	const std::string s = text.str();
	const std::regex re("#define\\s+CLONESCOPE_" + prefix + "([A-Z_]+)\\s+" + value_re);
	std::vector<std::pair<std::string, uint64_t>> out;
	for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator();
	     ++it) {
		std::string name = (*it)[1];
		std::transform(name.begin(), name.end(), name.begin(),
			       [](unsigned char c) { return std::tolower(c); });
		out.emplace_back(name, std::stoull((*it)[2]));
	}
	return out;
}

// Every CLONESCOPE_FEAT_* bit of the header has a name: a bit added to the
// ABI without one fails here (status would print it as hex).
TEST(Names, EveryFeatureBitHasAName)
{
	const auto feats = uapi_defines("FEAT_", "\\(1ULL << (\\d+)\\)");
	ASSERT_GE(feats.size(), 11u) << "cannot read " << CLONESCOPE_UAPI_HEADER;
	uint64_t highest = 0;
	for (const auto &[name, bit] : feats) {
		EXPECT_EQ(std::vector<std::string>{name}, feature_names(1ULL << bit)) << name;
		highest = std::max(highest, bit);
	}
	// A bit the header does not define (one reserved for work in
	// progress, or a newer module's) shows as a number, never as a name.
	for (uint64_t bit = 0; bit <= highest + 1; bit++) {
		const bool defined = std::any_of(feats.begin(), feats.end(),
						 [bit](const auto &f) { return f.second == bit; });
		const auto names = feature_names(1ULL << bit);
		ASSERT_EQ(1u, names.size());
		EXPECT_EQ(defined, names[0][0] != '0') << "bit " << bit << ": " << names[0];
	}
	// What status printed as 0x380 for a module with COW support.
	EXPECT_EQ((std::vector<std::string>{"cow", "cow_thp", "cow_hugetlb"}), feature_names(0x380));
}

TEST(Names, ProbeStates)
{
	const auto states = uapi_defines("PROBE_", "(\\d+)\\b");
	ASSERT_GE(states.size(), 5u) << "cannot read " << CLONESCOPE_UAPI_HEADER;
	for (const auto &[name, value] : states)
		EXPECT_EQ(name, probe_state_name(static_cast<uint32_t>(value)));
	EXPECT_STREQ("alias", probe_state_name(CLONESCOPE_PROBE_ALIAS));
	EXPECT_STREQ("standby", probe_state_name(CLONESCOPE_PROBE_STANDBY));
	EXPECT_STREQ("unknown", probe_state_name(0));
	EXPECT_STREQ("unknown", probe_state_name(99));
}

TEST(Names, ProbeGroups)
{
	EXPECT_EQ(static_cast<uint32_t>(CLONESCOPE_PROBES_ALL), *parse_probe_groups({"all"}));
	// The clone group is always armed.
	EXPECT_EQ(CLONESCOPE_PROBES_CLONE | CLONESCOPE_PROBES_COW, *parse_probe_groups({"cow"}));
	EXPECT_EQ(CLONESCOPE_PROBES_CLONE | CLONESCOPE_PROBES_PHASES |
			  CLONESCOPE_PROBES_PAGE_TABLES,
		  *parse_probe_groups({"phases", "page_tables"}));
	auto bad = parse_probe_groups({"phases", "bogus"});
	ASSERT_FALSE(bad.ok());
	EXPECT_NE(std::string::npos, bad.error().message.find("\"bogus\""));
	EXPECT_NE(std::string::npos,
		  bad.error().message.find("all, clone, phases, page_tables, cow, lifecycle"));
	EXPECT_FALSE(parse_probe_groups({}).ok());
	EXPECT_FALSE(parse_probe_groups({""}).ok());
	EXPECT_EQ((std::vector<std::string>{"all", "clone", "phases", "page_tables", "cow",
					    "lifecycle"}),
		  probe_group_names());
	EXPECT_EQ(CLONESCOPE_PROBES_CLONE | CLONESCOPE_PROBES_LIFECYCLE,
		  *parse_probe_groups({"lifecycle"}));
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
