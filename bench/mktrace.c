// SPDX-License-Identifier: GPL-2.0
/*
 * Writes a synthetic clonescope trace file (.cst v1.0, see
 * tool/src/trace/trace_file.hpp) for the decode-throughput benchmark.
 *
 * usage: cs-mktrace FILE EVENTS
 *
 * EVENTS kernel records: clone records, each but the last followed by its
 * child's start record (so half and half), with every phase of a
 * successful fork filled in, written in 64 KiB KERNEL_RECORDS sections as
 * `clonescope record` writes them, after a small META section.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/clonescope.h>

#define SECTION_KERNEL_RECORDS	2
#define SECTION_META		1
#define SECTION_BYTES		(64 * 1024)

static FILE *out;
static unsigned char section[SECTION_BYTES];
static size_t fill;

static void put(const void *p, size_t n)
{
	if (fwrite(p, 1, n, out) != n) {
		perror("cs-mktrace: write");
		exit(1);
	}
}

static void write_section(uint32_t type, const void *payload, uint64_t size)
{
	static const unsigned char zero[8];
	uint32_t hdr[2] = { type, 0 };

	put(hdr, sizeof(hdr));
	put(&size, sizeof(size));
	put(payload, size);
	if (size % 8)
		put(zero, 8 - size % 8);
}

static void add_record(const void *rec, size_t size)
{
	if (fill + size > sizeof(section)) {
		write_section(SECTION_KERNEL_RECORDS, section, fill);
		fill = 0;
	}
	memcpy(section + fill, rec, size);
	fill += size;
}

static void clone_record(struct clonescope_clone_event *ev, uint64_t i,
			 uint64_t t)
{
	static const int phases[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
				      12, 13, 14, 15 };
	uint64_t start = t;

	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = CLONESCOPE_RECORD_CLONE;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.cpu = i % 2;
	ev->clone_flags = 17; /* SIGCHLD: fork() */
	ev->start_ns = start;
	ev->end_ns = start + 40000 + (i * 7919) % 20000;
	ev->hdr.timestamp_ns = ev->end_ns;
	ev->self_cost_ns = 900 + i % 300;
	ev->parent_pid = 1000;
	ev->parent_tgid = 1000;
	ev->child_pid = 2000 + i % 4000000;
	ev->child_tgid = ev->child_pid;
	ev->result = ev->child_pid;
	ev->syscall = CLONESCOPE_SYSCALL_CLONE;
	ev->exit_signal = 17;
	ev->failed_phase = CLONESCOPE_PHASE_NONE;
	ev->copy_page_range_calls = 20;
	memcpy(ev->comm, "bench", 6);
	for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
		ev->phase_mask |= 1ULL << phases[p];
		ev->phases[phases[p]].start_ns = start + 1000 * p;
		ev->phases[phases[p]].duration_ns = 500 + (i + p) % 700;
	}
}

int main(int argc, char **argv)
{
	/* CBOR {"tool": "cs-mktrace"} */
	static const unsigned char meta[] = {
		0xa1, 0x64, 't', 'o', 'o', 'l',
		0x6a, 'c', 's', '-', 'm', 'k', 't', 'r', 'a', 'c', 'e',
	};
	struct {
		char magic[8];
		uint16_t major, minor;
		uint32_t header_size;
	} fh = { { 'C', 'L', 'N', 'S', 'C', 'O', 'P', 'E' }, 1, 0, 16 };
	struct clonescope_clone_event ev;
	struct clonescope_child_start_event cs;
	uint64_t events, i, t = 1000000000ULL;

	if (argc != 3 || (events = strtoull(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: cs-mktrace FILE EVENTS\n");
		return 2;
	}
	out = fopen(argv[1], "wb");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	put(&fh, sizeof(fh));
	write_section(SECTION_META, meta, sizeof(meta));
	for (i = 0; i < events; i++) {
		if (i % 2 == 0) {
			clone_record(&ev, i / 2, t);
			add_record(&ev, sizeof(ev));
		} else {
			memset(&cs, 0, sizeof(cs));
			cs.hdr.type = CLONESCOPE_RECORD_CHILD_START;
			cs.hdr.size = sizeof(cs);
			cs.hdr.cpu = ev.hdr.cpu;
			cs.hdr.timestamp_ns = ev.end_ns + 5000;
			cs.pid = ev.child_pid;
			cs.tgid = ev.child_tgid;
			cs.parent_tgid = ev.parent_tgid;
			add_record(&cs, sizeof(cs));
			t += 100000;
		}
	}
	if (fill)
		write_section(SECTION_KERNEL_RECORDS, section, fill);
	if (fclose(out)) {
		perror("cs-mktrace: close");
		return 1;
	}
	return 0;
}
