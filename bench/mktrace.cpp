// SPDX-License-Identifier: GPL-2.0
// Writes a synthetic clonescope trace file for the decode-throughput
// benchmark, with the tool's own trace writer (tool/src/trace/trace_file.hpp).
//
// usage: cs-mktrace FILE EVENTS
//
// EVENTS kernel records: clone records, each but the last followed by its
// child's start record (so half and half), with every phase of a
// successful fork filled in, written in 64 KiB KERNEL_RECORDS sections as
// `clonescope record` writes them, after a small META section.

#include <linux/clonescope.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "trace/trace_file.hpp"

namespace {

using clonescope::SectionType;
using clonescope::TraceWriter;

constexpr size_t kSectionBytes = 64 * 1024;

clonescope_clone_event clone_record(uint64_t i, uint64_t start)
{
	clonescope_clone_event ev{};
	ev.hdr.type = CLONESCOPE_RECORD_CLONE;
	ev.hdr.size = sizeof(ev);
	ev.hdr.cpu = i % 2;
	ev.clone_flags = 17; // SIGCHLD: fork()
	ev.start_ns = start;
	ev.end_ns = start + 40000 + (i * 7919) % 20000;
	ev.hdr.timestamp_ns = ev.end_ns;
	ev.self_cost_ns = 900 + i % 300;
	ev.parent_pid = 1000;
	ev.parent_tgid = 1000;
	ev.child_pid = 2000 + i % 4000000;
	ev.child_tgid = ev.child_pid;
	ev.result = ev.child_pid;
	ev.syscall = CLONESCOPE_SYSCALL_CLONE;
	ev.exit_signal = 17;
	ev.failed_phase = CLONESCOPE_PHASE_NONE;
	ev.copy_page_range_calls = 20;
	std::memcpy(ev.comm, "bench", 6);
	for (uint32_t p = 0; p < CLONESCOPE_NR_PHASES; p++) {
		ev.phase_mask |= 1ULL << p;
		ev.phases[p].start_ns = start + 1000 * p;
		ev.phases[p].duration_ns = 500 + (i + p) % 700;
	}
	return ev;
}

int fail(const clonescope::Error &e)
{
	std::fprintf(stderr, "cs-mktrace: %s\n", e.message.c_str());
	return 1;
}

} // namespace

int main(int argc, char **argv)
{
	uint64_t events = 0;
	if (argc == 3) {
		const std::string_view arg = argv[2];
		const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), events);
		if (ec != std::errc{} || end != arg.data() + arg.size())
			events = 0;
	}
	if (events == 0) {
		std::fprintf(stderr, "usage: cs-mktrace FILE EVENTS\n");
		return 2;
	}
	auto writer = TraceWriter::create(argv[1]);
	if (!writer)
		return fail(writer.error());
	if (auto st = writer->write_meta({{"tool", "cs-mktrace"}}); !st)
		return fail(st.error());

	std::vector<std::byte> section;
	section.reserve(kSectionBytes);
	auto add = [&](const auto &rec) -> clonescope::Status {
		if (section.size() + sizeof(rec) > kSectionBytes) {
			if (auto st = writer->write_section(SectionType::KernelRecords, section); !st)
				return st;
			section.clear();
		}
		const auto *p = reinterpret_cast<const std::byte *>(&rec);
		section.insert(section.end(), p, p + sizeof(rec));
		return clonescope::Ok{};
	};
	clonescope_clone_event ev{};
	uint64_t t = 1000000000ULL;
	for (uint64_t i = 0; i < events; i++) {
		clonescope::Status st = clonescope::Ok{};
		if (i % 2 == 0) {
			ev = clone_record(i / 2, t);
			st = add(ev);
		} else {
			clonescope_child_start_event cs{};
			cs.hdr.type = CLONESCOPE_RECORD_CHILD_START;
			cs.hdr.size = sizeof(cs);
			cs.hdr.cpu = ev.hdr.cpu;
			cs.hdr.timestamp_ns = ev.end_ns + 5000;
			cs.pid = ev.child_pid;
			cs.tgid = ev.child_tgid;
			cs.parent_tgid = ev.parent_tgid;
			st = add(cs);
			t += 100000;
		}
		if (!st)
			return fail(st.error());
	}
	if (!section.empty())
		if (auto st = writer->write_section(SectionType::KernelRecords, section); !st)
			return fail(st.error());
	return 0;
}
