// SPDX-License-Identifier: GPL-2.0
// Decode throughput of the tool's own trace reader: times
// clonescope::read_trace() (read the file, parse its sections, decode every
// kernel record) on one trace file and prints key=value pairs.
//
// usage: cs-decode-bench FILE [REPEATS]   (best of REPEATS, default 3)

#include <time.h>

#include <cstdio>
#include <cstdlib>

#include "trace/trace_file.hpp"

namespace {

uint64_t now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 2) {
		std::fprintf(stderr, "usage: cs-decode-bench FILE [REPEATS]\n");
		return 2;
	}
	const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
	uint64_t best = UINT64_MAX;
	size_t records = 0, bytes = 0;

	for (int r = 0; r < repeats; r++) {
		const uint64_t t0 = now_ns();
		auto trace = clonescope::read_trace(argv[1]);
		const uint64_t t1 = now_ns();
		if (!trace) {
			std::fprintf(stderr, "cs-decode-bench: %s\n", trace.error().message.c_str());
			return 1;
		}
		records = trace->kernel.records.size();
		bytes = trace->kernel_bytes.size();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	std::printf("records=%zu kernel_bytes=%zu best_ns=%llu repeats=%d events_per_s=%.0f\n",
		    records, bytes, static_cast<unsigned long long>(best), repeats,
		    records * 1e9 / static_cast<double>(best));
	return 0;
}
