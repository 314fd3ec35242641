// SPDX-License-Identifier: GPL-2.0
// Decode throughput of the tool's own trace reader on one trace file, in
// three ways, each the best of REPEATS, and prints key=value pairs:
//
//   decode   clonescope::read_trace() (map the file, parse its sections,
//            check every kernel record) and one pass over the records that
//            reads them (tally_records(): every type, its fields): what
//            every command does before its own work
//   walk     that pass alone, on the trace already read
//   objects  read_trace() and one pass that copies every record into an
//            object of its own (a std::variant of the record structs, as
//            the tool decoded before it read records in place): what
//            per-record objects cost, for comparison in the same run
//
// usage: cs-decode-bench FILE [REPEATS]   (default 3)

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <variant>
#include <vector>

#include "trace/trace_file.hpp"

namespace {

using clonescope::KernelRecord;

uint64_t now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

using RecordObject = std::variant<clonescope_clone_event, clonescope_child_start_event,
				  clonescope_lost_event, clonescope_cow_event,
				  clonescope_lifecycle_event>;

struct Best {
	uint64_t ns = UINT64_MAX;
	size_t records = 0;

	void add(uint64_t t0, size_t n)
	{
		const uint64_t d = now_ns() - t0;
		if (d < ns)
			ns = d;
		records = n;
	}
	void print(const char *what) const
	{
		std::printf(" %s_ns=%llu %s_events_per_s=%.0f", what,
			    static_cast<unsigned long long>(ns), what,
			    records * 1e9 / static_cast<double>(ns));
	}
};

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2) {
		std::fprintf(stderr, "usage: cs-decode-bench FILE [REPEATS]\n");
		return 2;
	}
	const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
	Best decode, walk, objects;
	size_t bytes = 0, sink = 0;

	for (int r = 0; r < repeats; r++) {
		uint64_t t0 = now_ns();
		auto trace = clonescope::read_trace(argv[1]);
		if (!trace) {
			std::fprintf(stderr, "cs-decode-bench: %s\n", trace.error().message.c_str());
			return 1;
		}
		const auto tally = clonescope::tally_records(trace->kernel);
		decode.add(t0, trace->kernel.size());
		sink += tally.clones + tally.child_starts;

		t0 = now_ns();
		sink += clonescope::tally_records(trace->kernel).clones;
		walk.add(t0, trace->kernel.size());

		t0 = now_ns();
		auto again = clonescope::read_trace(argv[1]);
		if (!again)
			return 1;
		std::vector<RecordObject> copies;
		copies.reserve(again->kernel.size());
		for (const KernelRecord rec : again->kernel)
			rec.visit([&copies](const auto &ev) { copies.emplace_back(ev); });
		objects.add(t0, copies.size());
		sink += copies.size();
		if (r == 0)
			bytes = trace->kernel.stream_bytes().size();
	}
	std::printf("records=%zu kernel_bytes=%zu repeats=%d", decode.records, bytes, repeats);
	decode.print("decode");
	walk.print("walk");
	objects.print("objects");
	// The old key: what bench/report.py reads as the decode rate.
	std::printf(" events_per_s=%.0f sink=%zu\n",
		    decode.records * 1e9 / static_cast<double>(decode.ns), sink);
	return 0;
}
