// `clonescope script`: the events of the fixture trace in JSON Lines, CSV
// and text, checked against the fixture's records.

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "correlate/correlate.hpp"
#include "fixture_data.hpp"
#include "output/fields.hpp"
#include "output/output.hpp"
#include "report/event_line.hpp"
#include "report/script.hpp"
#include "test_util.hpp"
#include "trace/names.hpp"
#include "util/csv.hpp"

namespace clonescope {
namespace {

using json = nlohmann::json;
using namespace fixtures;
using testing::lines_of;

// Splits one CSV line (RFC 4180 quotes, no line breaks inside fields).
std::vector<std::string> csv_fields(const std::string &line)
{
	std::vector<std::string> out(1);
	bool quoted = false;
	for (size_t i = 0; i < line.size(); i++) {
		const char c = line[i];
		if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"')
			out.back() += line[++i];
		else if (c == '"')
			quoted = !quoted;
		else if (c == ',' && !quoted)
			out.emplace_back();
		else
			out.back() += c;
	}
	return out;
}

// The lifecycle of the fixture's fork (child 5000): forked inside the
// clone, exec'd 2 ms later, exited after 3 ms more with status 3, reaped by
// the parent 5 ms after that.
clonescope_lifecycle_event fork_lifecycle(const Trace &trace)
{
	const auto &fork = *(*trace.kernel.begin()).get_if<clonescope_clone_event>();
	clonescope_lifecycle_event l{};
	l.hdr = {CLONESCOPE_RECORD_LIFECYCLE, sizeof(l), 1, 0};
	l.pid = l.tgid = fork.child_pid;
	l.parent_tgid = fork.parent_tgid;
	l.fork_ns = fork.end_ns - 1;
	l.exec_ns = l.fork_ns + 2'000'000;
	l.exit_ns = l.exec_ns + 3'000'000;
	l.reap_ns = l.exit_ns + 5'000'000;
	l.hdr.timestamp_ns = l.reap_ns;
	l.execs = 1;
	l.exit_code = 3 << 8;
	l.reaper_pid = kPid;
	std::memcpy(l.comm, "true", 5);
	return l;
}

class Script : public ::testing::Test {
protected:
	void SetUp() override
	{
		trace = testing::fixture_trace();
		with_lifecycle(fork_lifecycle(trace));
	}

	// The fixture's records, then @life.
	void with_lifecycle(const clonescope_lifecycle_event &life)
	{
		trace.kernel = testing::fixture_trace().kernel;
		trace.kernel.push_back(life);
		corr = correlate(trace);
		ctx = event_context(trace);
		events = script_events(trace, corr);
	}

	std::string print(Format format) const
	{
		std::ostringstream out;
		auto o = make_output(format, out);
		for (const auto &ev : events)
			o->event(ev, ctx);
		return out.str();
	}

	std::vector<json> json_events() const
	{
		std::vector<json> out;
		for (const auto &l : lines_of(print(Format::Json)))
			out.push_back(json::parse(l));
		return out;
	}

	const json &first_of(const std::vector<json> &evs, const std::string &type) const
	{
		auto it = std::find_if(evs.begin(), evs.end(),
				       [&](const json &e) { return e["type"] == type; });
		if (it == evs.end())
			throw std::runtime_error("no " + type + " event");
		return *it;
	}

	Trace trace;
	Correlation corr;
	EventContext ctx;
	std::vector<Event> events;
};

// One event per kernel record and per user call without one: every record
// type of the fixture appears, as often as the fixture wrote it.
TEST_F(Script, EveryRecordTypeAppears)
{
	std::map<std::string, size_t> by_type;
	for (const auto &e : json_events())
		by_type[e["type"].get<std::string>()]++;
	std::map<std::string, size_t> want;
	for (const auto r : trace.kernel) {
		switch (r.header().type) {
		case CLONESCOPE_RECORD_CLONE:
			want["clone"]++;
			break;
		case CLONESCOPE_RECORD_CHILD_START:
			want["child_start"]++;
			break;
		case CLONESCOPE_RECORD_LOST:
			want["lost"]++;
			break;
		case CLONESCOPE_RECORD_COW:
			want["cow"]++;
			break;
		case CLONESCOPE_RECORD_LIFECYCLE:
			want["lifecycle"]++;
			break;
		default:
			want["a type script has no name for"]++;
		}
	}
	want["user_call"] = 1; // the fork of 5009, whose record was lost
	EXPECT_EQ(want, by_type);
	EXPECT_EQ((std::map<std::string, size_t>{{"child_start", 3},
						 {"clone", 5},
						 {"cow", 1},
						 {"lifecycle", 1},
						 {"lost", 1},
						 {"user_call", 1}}),
		  by_type);
	// Every type a KernelRecord holds is one of the types above.
	size_t known = 0;
	for (uint32_t type = 0; type <= UINT16_MAX; type++)
		known += is_known_record_type(static_cast<uint16_t>(type));
	EXPECT_EQ(5u, known);
	EXPECT_EQ(7, first_of(json_events(), "lost")["lost"]);
}

TEST_F(Script, InTimeOrder)
{
	const auto evs = json_events();
	ASSERT_EQ(events.size(), evs.size());
	for (size_t i = 1; i < evs.size(); i++)
		EXPECT_LE(evs[i - 1]["time_ns"].get<uint64_t>(), evs[i]["time_ns"].get<uint64_t>());
	// A clone sorts at its entry, before its child's first run.
	EXPECT_EQ("clone", evs[0]["type"]);
	EXPECT_EQ("child_start", evs[1]["type"]);
}

TEST_F(Script, CloneFieldsDecoded)
{
	const auto evs = json_events();
	std::vector<const json *> clones;
	for (const auto &e : evs)
		if (e["type"] == "clone")
			clones.push_back(&e);
	ASSERT_EQ(5u, clones.size());
	// The posix_spawn: two of the tiled phases measured, the rest named.
	const json &spawn = *clones[1];
	const auto *rec = events[2].record.get_if<clonescope_clone_event>();
	ASSERT_NE(nullptr, rec);
	EXPECT_EQ("clone3", spawn["syscall"]);
	EXPECT_EQ(json::array({"CLONE_VM", "CLONE_VFORK"}), spawn["clone_flags"]);
	EXPECT_EQ("SIGCHLD", spawn["exit_signal"]);
	EXPECT_EQ(88, spawn["clone3_size"]);
	EXPECT_TRUE(spawn["copy_page_range_calls"].is_null());
	std::vector<std::string> unavailable;
	for (uint32_t i = 0; i < CLONESCOPE_NR_PHASES; i++) {
		if (has_phase(*rec, i)) {
			EXPECT_EQ(rec->phases[i].duration_ns,
				  spawn["phases"][phase_name(i)]["duration_ns"]);
			EXPECT_EQ(rec->phases[i].start_ns, spawn["phases"][phase_name(i)]["start_ns"]);
		} else {
			unavailable.push_back(phase_name(i));
			EXPECT_FALSE(spawn["phases"].contains(phase_name(i))) << phase_name(i);
		}
	}
	EXPECT_EQ(json(unavailable), spawn["unavailable"]);
	EXPECT_EQ(1200, spawn["self_cost_ns"]);
	// Its user call and source location.
	EXPECT_EQ("posix_spawn", spawn["user"]["kind"]);
	EXPECT_EQ(kSiteSpawn, spawn["user"]["call_site"]);
	EXPECT_EQ("run_spawns", spawn["user"]["symbol"]);
	EXPECT_EQ("fixture.c", spawn["user"]["file"]);
	EXPECT_EQ(57, spawn["user"]["line"]);

	// The failed clone3: errno and the record flags by name.
	const json &failed = *clones[3];
	EXPECT_EQ(-EINVAL, failed["result"]);
	EXPECT_EQ("EINVAL", failed["errno"]);
	EXPECT_EQ(json::array({"failed", "no_kernel_clone"}), failed["flags"]);
	EXPECT_TRUE(failed["child_pid"].is_null());
	EXPECT_TRUE(failed["exit_signal"].is_null());
	// The call site without a symbol: no symbol, file or line, but a site.
	EXPECT_TRUE(failed["user"]["symbol"].is_null());
	EXPECT_TRUE(failed["user"]["line"].is_null());
	EXPECT_EQ("fixture+0x1140", failed["user"]["site"]);

	// The raw clone: no user call.
	EXPECT_TRUE((*clones[4])["user"].is_null());
	EXPECT_EQ(json::array(), (*clones[4])["clone_flags"]);
}

// The COW bill: each side apart, every counter, exactly the live line's.
TEST_F(Script, CowSidesApart)
{
	const json cow = first_of(json_events(), "cow");
	const auto it = std::find_if(trace.kernel.begin(), trace.kernel.end(),
				     [](const KernelRecord r) { return r.holds<clonescope_cow_event>(); });
	ASSERT_NE(trace.kernel.end(), it);
	const auto &rec = *(*it).get_if<clonescope_cow_event>();
	for (const auto &c : cow_counters()) {
		EXPECT_EQ(rec.child.*c.field, cow["cow"]["child"][c.name]) << c.name;
		EXPECT_EQ(rec.parent.*c.field, cow["cow"]["parent"][c.name]) << c.name;
	}
	EXPECT_EQ(25, cow["cow"]["child"]["copied"]);
	EXPECT_EQ(12, cow["cow"]["parent"]["copied"]);
	EXPECT_EQ("exit", cow["end_reason"]);
	EXPECT_EQ(5000, cow["child_pid"]);
	// The text back end prints the live line itself.
	const auto text = lines_of(print(Format::Text));
	EXPECT_NE(text.end(), std::find(text.begin(), text.end(), format_cow(rec, ctx.t0_ns)));
}

// The child's lifecycle: every stamp, the intervals between them, the
// wait status decoded; what did not happen is null, never 0.
TEST_F(Script, LifecycleFieldsDecoded)
{
	const json life = first_of(json_events(), "lifecycle");
	EXPECT_EQ(5000, life["pid"]);
	EXPECT_EQ(kPid, life["parent_tgid"]);
	EXPECT_EQ("true", life["comm"]);
	EXPECT_EQ(2'000'000, life["fork_to_exec_ns"]);
	EXPECT_EQ(5'000'000, life["lifetime_ns"]);
	EXPECT_EQ(5'000'000, life["zombie_ns"]);
	EXPECT_EQ(3, life["exit_status"]);
	EXPECT_TRUE(life["exit_signal"].is_null());
	EXPECT_EQ(kPid, life["reaper_pid"]);
	EXPECT_EQ(json::array(), life["flags"]);

	// Killed by SIGKILL before it exec'd, still a zombie when tracing
	// stopped.
	auto rec = fork_lifecycle(trace);
	rec.exec_ns = rec.reap_ns = 0;
	rec.execs = 0;
	rec.exit_code = SIGKILL;
	rec.reaper_pid = 0;
	rec.flags = CLONESCOPE_LIFE_UNFINISHED;
	with_lifecycle(rec);
	const json killed = first_of(json_events(), "lifecycle");
	EXPECT_TRUE(killed["exec_ns"].is_null());
	EXPECT_TRUE(killed["fork_to_exec_ns"].is_null());
	EXPECT_TRUE(killed["zombie_ns"].is_null());
	EXPECT_TRUE(killed["reaper_pid"].is_null());
	EXPECT_EQ(5'000'000, killed["lifetime_ns"]);
	EXPECT_TRUE(killed["exit_status"].is_null());
	EXPECT_EQ("SIGKILL", killed["exit_signal"]);
	EXPECT_EQ(false, killed["core_dumped"]);
	EXPECT_EQ(json::array({"unfinished"}), killed["flags"]);
	EXPECT_NE(std::string::npos, format_record(testing::records_of(trace.kernel).back(), 0)
					     .find("fork->exec - lifetime 5000.0us zombie - killed by "
						   "SIGKILL (tracing stopped first)"));
}

TEST_F(Script, TextHasEveryRecordsLiveLine)
{
	const std::string text = print(Format::Text);
	for (const auto r : trace.kernel)
		EXPECT_NE(std::string::npos, text.find(format_record(r, ctx.t0_ns) + "\n"));
	EXPECT_NE(std::string::npos,
		  text.find("call: posix_spawn() by tid 4242 at run_spawns+0x18 (fixture.c:57) "
			    "[fixture], 80.0us\n"))
		<< text;
	EXPECT_NE(std::string::npos, text.find("fork() by tid 4242 at run_forks+0x20 (fixture.c:42) "
					       "[fixture] -> 5009 20.0us, no kernel record\n"))
		<< text;
}

TEST_F(Script, Csv)
{
	const auto lines = lines_of(print(Format::Csv));
	ASSERT_EQ(events.size() + 1, lines.size());
	const auto header = csv_fields(lines[0]);
	EXPECT_EQ(event_columns(), header);
	std::map<std::string, size_t> col;
	for (size_t i = 0; i < header.size(); i++)
		col[header[i]] = i;
	for (const auto *key : {"type", "time_ns", "phases.alloc_pid.duration_ns", "user.line",
				"cow.child.copied", "cow.parent.hugetlb_bytes", "lost", "fork_to_exec_ns",
				"zombie_ns", "exit_signal", "reaper_pid"})
		EXPECT_TRUE(col.count(key)) << key;
	size_t cows = 0;
	for (size_t i = 1; i < lines.size(); i++) {
		const auto f = csv_fields(lines[i]);
		ASSERT_EQ(header.size(), f.size()) << lines[i];
		if (f[col["type"]] == "cow") {
			cows++;
			EXPECT_EQ("25", f[col["cow.child.copied"]]);
			EXPECT_EQ("12", f[col["cow.parent.copied"]]);
			EXPECT_EQ("2", f[col["cow.parent.thp_fallback"]]);
		}
		if (f[col["type"]] == "clone" && f[col["syscall"]] == "clone3" &&
		    f[col["user.kind"]] == "posix_spawn") {
			EXPECT_EQ("CLONE_VM|CLONE_VFORK", f[col["clone_flags"]]);
			EXPECT_EQ("", f[col["phases.copy_creds.duration_ns"]]); // unavailable
			EXPECT_EQ("57", f[col["user.line"]]);
		}
	}
	EXPECT_EQ(1u, cows);
}

// A module without the self-cost feature: null, not 0.
TEST_F(Script, SelfCostNullWithoutTheFeature)
{
	trace.meta["features"] = kFeatures & ~static_cast<uint64_t>(CLONESCOPE_FEAT_SELF_COST);
	ctx = event_context(trace);
	EXPECT_TRUE(first_of(json_events(), "clone")["self_cost_ns"].is_null());
	// A META that is not what the tool wrote: no exception, defaults.
	trace.meta = {{"features", "all"}, {"start_ns", -1}};
	ctx = event_context(trace);
	EXPECT_EQ(0u, ctx.features);
	EXPECT_EQ(0u, ctx.t0_ns);
}

// A clone that failed in a tiled phase (CLONESCOPE_TILED_PHASES) never ran
// the tiled phases after it: "not reached", not "unavailable"; the phases
// outside the tiling stay unavailable, and a successful clone missing a
// tiled phase has it unavailable.
TEST(Phases, TiledPhasesAfterTheFailureAreNotReached)
{
	auto failed = fixtures::clone_event(10, 10, 0, CLONESCOPE_SYSCALL_FORK, 1000, 9000, -EAGAIN);
	failed.failed_phase = CLONESCOPE_PHASE_SCHED_FORK;
	for (uint32_t p : {CLONESCOPE_PHASE_DUP_TASK, CLONESCOPE_PHASE_COPY_CREDS,
			   CLONESCOPE_PHASE_SCHED_FORK, CLONESCOPE_PHASE_COPY_PROCESS,
			   CLONESCOPE_PHASE_KERNEL_CLONE})
		failed.phase_mask |= 1ULL << p;
	const json after = {"task_init", "files_to_mm", "copy_namespaces", "copy_io",
			    "copy_thread", "alloc_pid", "cgroup_can_fork", "attach"};
	const json outside = {"dup_mmap", "copy_page_range", "wake_up_new_task"};

	const KernelRecord rec(&failed.hdr);
	const json j = event_json(Event{0, rec, nullptr, "", nullptr}, EventContext{});
	EXPECT_EQ(after, j["not_reached"]);
	EXPECT_EQ(outside, j["unavailable"]);
	const std::string line = format_clone_event(failed, 0);
	EXPECT_NE(std::string::npos,
		  line.find("not reached: task_init,files_to_mm,copy_namespaces,copy_io,"
			    "copy_thread,alloc_pid,cgroup_can_fork,attach"))
		<< line;
	EXPECT_NE(std::string::npos, line.find("unavailable: dup_mmap,copy_page_range,"
					       "wake_up_new_task"))
		<< line;

	// The same phases missing from a successful clone: unmeasured.
	auto ok = failed;
	ok.result = 11;
	ok.flags = 0;
	ok.failed_phase = CLONESCOPE_PHASE_NONE;
	const KernelRecord ok_rec(&ok.hdr);
	const json k = event_json(Event{0, ok_rec, nullptr, "", nullptr}, EventContext{});
	EXPECT_EQ(json::array(), k["not_reached"]);
	EXPECT_EQ(after.size() + outside.size(), k["unavailable"].size());
	EXPECT_EQ(std::string::npos, format_clone_event(ok, 0).find("not reached"));
}

TEST(Csv, FlattenAndQuote)
{
	const nlohmann::ordered_json j = {{"a", 1},
					  {"b", {{"c", "x,y"}, {"d", nullptr}}},
					  {"e", {"p", "q"}},
					  {"f", true}};
	EXPECT_EQ((std::vector<std::pair<std::string, std::string>>{
			  {"a", "1"}, {"b.c", "x,y"}, {"b.d", ""}, {"e", "p|q"}, {"f", "true"}}),
		  flatten(j));
	EXPECT_EQ("1,\"x,y\",,p|q,\n", csv_row(j, {"a", "b.c", "b.d", "e", "missing"}));
	EXPECT_EQ("\"say \"\"hi\"\"\"", csv_field("say \"hi\""));
	EXPECT_EQ("plain", csv_field("plain"));
}

} // namespace
} // namespace clonescope
