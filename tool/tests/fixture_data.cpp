#include "fixture_data.hpp"

#include <linux/sched.h>
#include <signal.h>

#include <cerrno>
#include <cstring>

#include "user_trace.h"

namespace clonescope::fixtures {

void append(std::vector<std::byte> &out, const void *p, size_t n)
{
	const size_t at = out.size();
	out.resize(at + n);
	std::memcpy(out.data() + at, p, n);
}

clonescope_clone_event clone_event(uint32_t tid, uint32_t tgid, uint64_t flags, uint32_t syscall,
				   uint64_t start_ns, uint64_t end_ns, int64_t result)
{
	clonescope_clone_event ev{};
	ev.hdr.type = CLONESCOPE_RECORD_CLONE;
	ev.hdr.size = sizeof(ev);
	ev.hdr.cpu = 1;
	ev.hdr.timestamp_ns = end_ns;
	ev.clone_flags = flags;
	ev.start_ns = start_ns;
	ev.end_ns = end_ns;
	ev.result = result;
	ev.parent_pid = tid;
	ev.parent_tgid = tgid;
	if (result > 0) {
		ev.child_pid = static_cast<uint32_t>(result);
		ev.child_tgid = (flags & CLONE_THREAD) ? tgid : ev.child_pid;
	} else {
		ev.flags = CLONESCOPE_CLONE_FAILED;
	}
	ev.syscall = syscall;
	ev.exit_signal = (flags & CLONE_THREAD) ? 0 : SIGCHLD;
	ev.failed_phase = CLONESCOPE_PHASE_NONE;
	std::strncpy(ev.comm, "fixture", sizeof(ev.comm));
	return ev;
}

clonescope_clone_event restarted_event(uint32_t tid, uint64_t start_ns, uint64_t end_ns)
{
	constexpr int64_t kErestartnointr = 513; // include/linux/errno.h
	auto ev = clone_event(tid, tid, 0, CLONESCOPE_SYSCALL_CLONE, start_ns, end_ns,
			      -kErestartnointr);
	ev.flags |= CLONESCOPE_CLONE_RESTART;
	return ev;
}

namespace {

// Phases laid end to end from @start, each @step ns long, for the phases
// in @mask; the enclosing spans cover them.
void add_phases(clonescope_clone_event &ev, uint64_t mask, uint64_t step)
{
	uint64_t t = ev.start_ns + 1000;
	for (uint32_t i = 0; i <= CLONESCOPE_PHASE_ATTACH; i++) {
		if (!(mask & (1ULL << i)))
			continue;
		ev.phases[i] = {t, step * (i + 1)};
		t += step * (i + 1);
	}
	ev.phases[CLONESCOPE_PHASE_COPY_PROCESS] = {ev.start_ns + 1000, t - ev.start_ns - 1000};
	ev.phases[CLONESCOPE_PHASE_WAKE_UP_NEW_TASK] = {t + 100, 400};
	ev.phases[CLONESCOPE_PHASE_KERNEL_CLONE] = {ev.start_ns + 500, t + 600 - ev.start_ns};
	ev.phase_mask = mask | (1ULL << CLONESCOPE_PHASE_COPY_PROCESS) |
			(1ULL << CLONESCOPE_PHASE_WAKE_UP_NEW_TASK) |
			(1ULL << CLONESCOPE_PHASE_KERNEL_CLONE);
}

void append_child_start(std::vector<std::byte> &out, uint32_t pid, uint32_t tgid,
			uint32_t parent_tgid, uint64_t ts)
{
	clonescope_child_start_event cs{};
	cs.hdr = {CLONESCOPE_RECORD_CHILD_START, sizeof(cs), 0, ts};
	cs.pid = pid;
	cs.tgid = tgid;
	cs.parent_tgid = parent_tgid;
	append(out, &cs, sizeof(cs));
}

void append_call(std::vector<std::byte> &out, uint32_t tid, uint32_t kind, int64_t ret, int err,
		 uint64_t entry, uint64_t ret_ns, uint64_t site, int64_t child)
{
	cs_user_call c{};
	c.hdr = {CS_USER_RECORD_CALL, sizeof(c), tid};
	c.kind = kind;
	c.err = err;
	c.ret = ret;
	c.entry_ns = entry;
	c.return_ns = ret_ns;
	c.call_site = site;
	c.child = child;
	append(out, &c, sizeof(c));
}

} // namespace

std::vector<std::byte> kernel_stream()
{
	std::vector<std::byte> out;
	constexpr uint64_t us = 1000;
	constexpr uint64_t kFork = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
	constexpr uint64_t kSpawn = CLONE_VM | CLONE_VFORK;
	constexpr uint64_t kThread = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				     CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
				     CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

	auto fork_ev = clone_event(kPid, kPid, kFork, CLONESCOPE_SYSCALL_CLONE, kT0 + 10 * us,
				   kT0 + 110 * us, 5000);
	add_phases(fork_ev, (1ULL << (CLONESCOPE_PHASE_ATTACH + 1)) - 1, 200);
	// Inside FILES_TO_MM (1000 ns long with this step).
	fork_ev.phases[CLONESCOPE_PHASE_DUP_MMAP] = {fork_ev.phases[4].start_ns + 100, 800};
	fork_ev.phases[CLONESCOPE_PHASE_COPY_PAGE_RANGE] = {fork_ev.phases[4].start_ns + 200, 500};
	fork_ev.phase_mask |= (1ULL << CLONESCOPE_PHASE_DUP_MMAP) |
			      (1ULL << CLONESCOPE_PHASE_COPY_PAGE_RANGE);
	fork_ev.copy_page_range_calls = 12;
	fork_ev.self_cost_ns = 3 * us;
	append(out, &fork_ev, sizeof(fork_ev));
	append_child_start(out, 5000, 5000, kPid, kT0 + 130 * us);

	// posix_spawn: only some phases measured (the rest must show as unavailable).
	auto spawn_ev = clone_event(kPid, kPid, kSpawn, CLONESCOPE_SYSCALL_CLONE3, kT0 + 200 * us,
				    kT0 + 260 * us, 5001);
	add_phases(spawn_ev, (1ULL << CLONESCOPE_PHASE_DUP_TASK) | (1ULL << CLONESCOPE_PHASE_ALLOC_PID),
		   us);
	spawn_ev.clone3_size = 88;
	spawn_ev.self_cost_ns = 1200;
	append(out, &spawn_ev, sizeof(spawn_ev));
	append_child_start(out, 5001, 5001, kPid, kT0 + 215 * us);

	auto thread_ev = clone_event(kTid2, kPid, kThread, CLONESCOPE_SYSCALL_CLONE3,
				     kT0 + 300 * us, kT0 + 340 * us, 5002);
	add_phases(thread_ev, (1ULL << CLONESCOPE_PHASE_COPY_THREAD), us);
	thread_ev.clone3_size = 88;
	thread_ev.self_cost_ns = 800;
	append(out, &thread_ev, sizeof(thread_ev));
	append_child_start(out, 5002, kPid, kPid, kT0 + 345 * us);

	// A record of a type this tool does not know: skipped by size.
	clonescope_record_header unknown{99, 32, 0, kT0 + 350 * us};
	append(out, &unknown, sizeof(unknown));
	const uint64_t pad[2] = {0xdeadbeef, 0xfeedface};
	append(out, pad, sizeof(pad));

	auto failed = clone_event(kPid, kPid, CLONE_THREAD, CLONESCOPE_SYSCALL_CLONE3,
				  kT0 + 400 * us, kT0 + 402 * us, -EINVAL);
	failed.flags |= CLONESCOPE_CLONE_NO_KERNEL_CLONE;
	failed.self_cost_ns = 300;
	append(out, &failed, sizeof(failed));

	clonescope_lost_event lost{};
	lost.hdr = {CLONESCOPE_RECORD_LOST, sizeof(lost), 1, kT0 + 450 * us};
	lost.lost = 7;
	append(out, &lost, sizeof(lost));

	// A raw clone syscall: no libc call to match.
	auto raw = clone_event(kPid, kPid, 0, CLONESCOPE_SYSCALL_CLONE, kT0 + 500 * us,
			       kT0 + 580 * us, 5003);
	raw.self_cost_ns = 1500;
	append(out, &raw, sizeof(raw));

	// The COW bill of the first fork, when its child exited.
	clonescope_cow_event cow{};
	cow.hdr = {CLONESCOPE_RECORD_COW, sizeof(cow), 0, kT0 + 600 * us};
	cow.fork_ns = fork_ev.phases[CLONESCOPE_PHASE_COPY_PROCESS].start_ns +
		      fork_ev.phases[CLONESCOPE_PHASE_COPY_PROCESS].duration_ns;
	cow.rss_anon_pages = 300;
	cow.map_count = 40;
	cow.end_reason = CLONESCOPE_COW_END_EXIT;
	cow.child_pid = 5000;
	cow.child_tgid = 5000;
	cow.parent_pid = kPid;
	cow.parent_tgid = kPid;
	cow.child.copied = 25;
	cow.child.copy_ns = 50 * us;
	cow.child.zero_copied = 4;
	cow.parent.thp_faults = 2;
	cow.parent.thp_fallback = 2;
	cow.parent.copied = 12;
	cow.parent.reused = 3;
	cow.parent.copy_ns = 20 * us;
	append(out, &cow, sizeof(cow));
	return out;
}

std::vector<std::byte> user_stream()
{
	std::vector<std::byte> out;
	cs_user_file_header fh{};
	std::memcpy(fh.magic, CS_USER_MAGIC, sizeof(fh.magic));
	fh.version = CS_USER_VERSION;
	// A VER0 header (no comm), as older shims wrote: readers must take it.
	fh.header_size = CS_USER_FILE_HEADER_SIZE_VER0;
	fh.pid = kPid;
	fh.ppid = 1;
	fh.start_ns = kT0;
	std::strncpy(fh.exe, "/usr/bin/fixture", sizeof(fh.exe) - 1);
	append(out, &fh, CS_USER_FILE_HEADER_SIZE_VER0);

	const char path[] = "/usr/bin/fixture";
	cs_user_map m{};
	const uint32_t len = sizeof(path) - 1;
	m.hdr = {CS_USER_RECORD_MAP, static_cast<uint16_t>((sizeof(m) + len + 7) & ~7u), kPid};
	m.start = kExeBase;
	m.end = kExeBase + 0x4000;
	m.base = kExeBase;
	m.path_len = len;
	append(out, &m, sizeof(m));
	append(out, path, len);
	out.resize(out.size() + (m.hdr.size - sizeof(m) - len), std::byte{0});

	constexpr uint64_t us = 1000;
	append_call(out, kPid, CS_KIND_FORK, 5000, 0, kT0 + 5 * us, kT0 + 120 * us, kSiteFork, 5000);
	append_call(out, kPid, CS_KIND_POSIX_SPAWN, 0, 0, kT0 + 190 * us, kT0 + 270 * us,
		    kSiteSpawn, 5001);
	append_call(out, kTid2, CS_KIND_PTHREAD_CREATE, 0, 0, kT0 + 295 * us, kT0 + 350 * us,
		    kSiteFork + 0x40, 0);
	append_call(out, kPid, CS_KIND_PTHREAD_CREATE, EINVAL, EINVAL, kT0 + 399 * us, kT0 + 404 * us,
		    kSiteFork + 0x40, 0);
	// A call whose kernel record is missing (e.g. lost).
	append_call(out, kPid, CS_KIND_FORK, 5009, 0, kT0 + 440 * us, kT0 + 460 * us, kSiteFork,
		    5009);
	return out;
}

std::vector<std::byte> trace_file()
{
	Trace t;
	// Recorded with ABI 1.0: newer tools must keep reading such traces.
	t.meta = {{"tool", "clonescope"},	 {"abi_major", CLONESCOPE_ABI_MAJOR},
		  {"abi_minor", 0},		 {"features", kFeatures},
		  {"command", {"fixture", "--run"}},
		  {"root_pid", kPid},		 {"start_ns", kT0},
		  {"end_ns", kT0 + 1'000'000},	 {"exit_status", 0}};
	if (auto st = t.kernel.append_copy(kernel_stream(), 0); !st)
		throw std::runtime_error(st.error().message);
	t.processes = {{kPid, kPid, 1, "fixture", kT0},
		       {5000, 5000, kPid, "fixture", kT0 + 110'000},
		       {5001, 5001, kPid, "fixture", kT0 + 260'000},
		       {5002, kPid, kPid, "fixture", kT0 + 340'000}};
	t.symbols = {{0, kSiteFork, "/usr/bin/fixture", "run_forks", 0x20, "fixture.c", 42},
		     {0, kSiteSpawn, "/usr/bin/fixture", "run_spawns", 0x18, "fixture.c", 57},
		     {0, kSiteFork + 0x40, "/usr/bin/fixture", "", 0x1140, "", 0}};
	return serialize_trace(t, {user_stream()});
}

} // namespace clonescope::fixtures
