// Recording running processes: the filter record builds from -p/-c/-G, the
// namespace pids of ABI 1.2 clone records, and how reports name clones of
// processes without the shim.

#include <gtest/gtest.h>
#include <linux/sched.h>
#include <unistd.h>

#include <fmt/format.h>

#include "correlate/correlate.hpp"
#include "fixture_data.hpp"
#include "cli/record_cmd.hpp"
#include "record/target.hpp"
#include "report/event_line.hpp"
#include "report/pidns.hpp"
#include "test_util.hpp"
#include "trace/records.hpp"

namespace clonescope {
namespace {

using fixtures::append;

// A fork inside a container: host pids 5000 -> 5001, its own 1 -> 2.
clonescope_clone_event container_fork()
{
	auto ev = fixtures::clone_event(5000, 5000, 0, CLONESCOPE_SYSCALL_CLONE, 10, 20, 5001);
	ev.ns_parent_pid = ev.ns_parent_tgid = 1;
	ev.ns_child_pid = ev.ns_child_tgid = 2;
	ev.parent_pidns = ev.child_pidns = 4026532999u;
	return ev;
}

TEST(Attach, Abi11CloneRecordDecodesWithoutNamespacePids)
{
	auto ev = container_fork();
	ev.hdr.size = CLONESCOPE_CLONE_EVENT_SIZE_VER0;
	std::vector<std::byte> bytes;
	append(bytes, &ev, CLONESCOPE_CLONE_EVENT_SIZE_VER0);
	auto d = decode_records(bytes);
	ASSERT_TRUE(d.ok()) << d.error().message;
	ASSERT_EQ(1u, d->size());
	const auto &got = *(*d->begin()).get_if<clonescope_clone_event>();
	EXPECT_EQ(5001u, got.child_pid);
	EXPECT_FALSE(has_ns_pids(got)); // the tail a 1.0/1.1 module did not write is zero
	EXPECT_EQ(0u, got.ns_child_pid);
	EXPECT_TRUE(foreign_pid_namespaces(*d).empty());
}

TEST(Attach, Abi12CloneRecordKeepsNamespacePids)
{
	const auto ev = container_fork();
	ASSERT_EQ(CLONESCOPE_CLONE_EVENT_SIZE_VER1, ev.hdr.size);
	std::vector<std::byte> bytes;
	append(bytes, &ev, sizeof(ev));
	auto d = decode_records(bytes);
	ASSERT_TRUE(d.ok()) << d.error().message;
	const auto ns = foreign_pid_namespaces(*d);
	ASSERT_EQ(1u, ns.size());
	EXPECT_EQ(4026532999u, ns[0].inum);
	ASSERT_EQ(2u, ns[0].tasks.size());
	EXPECT_EQ(5000u, ns[0].tasks[0].pid);
	EXPECT_EQ(1u, ns[0].tasks[0].ns_pid);
	EXPECT_EQ(5001u, ns[0].tasks[1].pid);
	EXPECT_EQ(2u, ns[0].tasks[1].ns_pid);

	const std::string line = format_clone_event(ev, 0);
	EXPECT_NE(std::string::npos, line.find("5000/5000 [ns 1/1]")) << line;
	EXPECT_NE(std::string::npos, line.find("-> 5001 [ns 2/2]")) << line;
	const auto j = pid_namespaces_json(ns);
	EXPECT_EQ(2, j[0]["tasks"][1]["ns_pid"]);
}

TEST(Attach, SameNamespacePidsAreNotShown)
{
	auto ev = fixtures::clone_event(700, 700, 0, CLONESCOPE_SYSCALL_FORK, 10, 20, 701);
	ev.ns_parent_pid = ev.ns_parent_tgid = 700;
	ev.ns_child_pid = ev.ns_child_tgid = 701;
	ev.parent_pidns = ev.child_pidns = 4026531836u;
	KernelRecords d;
	d.push_back(ev);
	EXPECT_TRUE(foreign_pid_namespaces(d).empty());
	EXPECT_EQ(std::string::npos, format_clone_event(ev, 0).find("[ns"));
}

TEST(Attach, PidsBecomeATreeOrTgidFilter)
{
	TargetOptions opts;
	opts.pids = {static_cast<uint32_t>(getpid())};
	auto t = resolve_target(opts, std::nullopt);
	ASSERT_TRUE(t.ok()) << t.error().message;
	EXPECT_EQ(static_cast<uint32_t>(CLONESCOPE_FILTER_TREE), t->filter.flags);
	EXPECT_EQ(1u, t->filter.nr_tgids);
	EXPECT_EQ(static_cast<uint32_t>(getpid()), t->filter.tgids[0]);
	ASSERT_EQ(1u, t->attached.size());
	EXPECT_FALSE(t->attached[0].comm.empty());

	opts.children = false;
	opts.comm = "redis-server";
	t = resolve_target(opts, std::nullopt);
	ASSERT_TRUE(t.ok()) << t.error().message;
	EXPECT_EQ(static_cast<uint32_t>(CLONESCOPE_FILTER_TGID | CLONESCOPE_FILTER_COMM),
		  t->filter.flags);
	EXPECT_STREQ("redis-server", t->filter.comm);
}

TEST(Attach, SystemWideWithACommandFiltersNothing)
{
	TargetOptions opts;
	opts.system_wide = true;
	auto t = resolve_target(opts, getpid());
	ASSERT_TRUE(t.ok()) << t.error().message;
	EXPECT_EQ(0u, t->filter.flags);
	EXPECT_TRUE(t->attached.empty());
	// Without -a, the command's tree.
	t = resolve_target(TargetOptions{}, 1234);
	ASSERT_TRUE(t.ok());
	EXPECT_EQ(static_cast<uint32_t>(CLONESCOPE_FILTER_TREE), t->filter.flags);
	EXPECT_EQ(1234u, t->filter.tgids[0]);
}

TEST(Attach, BadTargetsAreClearErrors)
{
	TargetOptions opts;
	opts.pids = {0x3fffffff}; // above any pid_max
	auto t = resolve_target(opts, std::nullopt);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("no such process")) << t.error().message;

	opts.pids.assign(CLONESCOPE_FILTER_MAX_TGIDS + 1, static_cast<uint32_t>(getpid()));
	t = resolve_target(opts, std::nullopt);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("at most")) << t.error().message;

	opts = {};
	opts.system_wide = true;
	opts.comm = "a-comm-of-16-chr";
	t = resolve_target(opts, std::nullopt);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("at most 15")) << t.error().message;

	opts = {};
	opts.system_wide = true;
	opts.cgroup = "clonescope-test-no-such-cgroup";
	t = resolve_target(opts, std::nullopt);
	ASSERT_FALSE(t.ok());
	EXPECT_NE(std::string::npos, t.error().message.find("-G clonescope-test-no-such-cgroup"))
		<< t.error().message;
}

TEST(Attach, CgroupRootHasAnId)
{
	auto dir = cgroup_dir_of("/");
	if (!dir)
		GTEST_SKIP() << dir.error().message;
	auto id = cgroup_id_of(*dir);
	ASSERT_TRUE(id.ok()) << id.error().message;
	EXPECT_NE(0u, *id);
}

TEST(Attach, ConflictingRecordOptionsAreRefused)
{
	auto refused = [](const RecordOptions &o, const std::string &why) {
		const auto st = check_record_options(o);
		return !st.ok() && st.error().message.find(why) != std::string::npos;
	};
	RecordOptions o;
	EXPECT_TRUE(refused(o, "nothing to record"));
	o.target.pids = {1};
	EXPECT_TRUE(check_record_options(o).ok());
	o.target.system_wide = true;
	EXPECT_TRUE(refused(o, "exclude each other"));
	o.target.system_wide = false;
	o.command = {"true"};
	EXPECT_TRUE(refused(o, "not both"));
	o.target.pids.clear();
	o.duration_s = 1;
	EXPECT_TRUE(refused(o, "--duration is for -p and -a"));
	o.duration_s = 0;
	o.target.children = false;
	EXPECT_TRUE(refused(o, "--no-children needs -p"));
	// -a with a command: the command only says how long.
	o = {};
	o.target.system_wide = true;
	o.command = {"sleep", "1"};
	EXPECT_TRUE(check_record_options(o).ok());
}

// The clones of attached processes have no user call to match: named so.
TEST(Attach, UnshimmedClonesOfAnAttachedTraceSaySo)
{
	auto t = parse_trace(testing::read_fixture("trace.cst"));
	ASSERT_TRUE(t.ok()) << t.error().message;
	auto has_site = [](const Correlation &c, const std::string &prefix) {
		return std::any_of(c.samples.begin(), c.samples.end(), [&](const Sample &s) {
			return s.site.rfind(prefix, 0) == 0;
		});
	};
	// The fixture's raw clone is in the shimmed process: a raw syscall.
	EXPECT_TRUE(has_site(correlate(*t), "[no user call: shim bypassed"));

	t->meta["target"] = {{"system_wide", true}, {"children", true},
			     {"attached", nlohmann::json::array()}};
	t->kernel.push_back(
		fixtures::clone_event(777, 777, 0, CLONESCOPE_SYSCALL_CLONE, 10, 20, 778));
	const Correlation c = correlate(*t);
	EXPECT_TRUE(has_site(c, "[no user call: shim bypassed"));
	EXPECT_TRUE(has_site(c, "[no user call (attached)] fixture"));
}

} // namespace
} // namespace clonescope
