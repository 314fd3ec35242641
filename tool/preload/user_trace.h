/*
 * clonescope user-side trace: the per-process file written by the
 * LD_PRELOAD shim (libclonescope-preload.so) and read by the tool.
 *
 * One file per process image, "$CLONESCOPE_USER_TRACE/<pid>-<start_ns>.cstu"
 * (a new file after exec, since the new image loads the shim again):
 *
 *   struct cs_user_file_header
 *   records, each starting with struct cs_user_record_header; @size is the
 *   whole record, a multiple of 8; readers skip unknown types by @size.
 *
 * Records are written with one write(2) each on an O_APPEND fd, so a crash
 * loses at most the record being written and threads never interleave
 * inside a record.  Integers are little-endian (the host's); times are
 * CLOCK_MONOTONIC ns, the clock of the kernel records.
 *
 * Kept in C: the shim is C so that what it does after fork is visibly
 * async-signal-safe.
 */
#ifndef CLONESCOPE_USER_TRACE_H
#define CLONESCOPE_USER_TRACE_H

#include <assert.h> /* static_assert, in C too */
#include <stdint.h>

#define CS_USER_MAGIC		"CSUSERTR"
#define CS_USER_VERSION		1
#define CS_USER_FILE_SUFFIX	".cstu"

struct cs_user_file_header {
	char		magic[8];	/* CS_USER_MAGIC, no NUL */
	uint32_t	version;	/* CS_USER_VERSION */
	uint32_t	header_size;	/* sizeof(struct cs_user_file_header) */
	uint32_t	pid;
	uint32_t	ppid;
	uint64_t	start_ns;	/* when this image's shim started */
	char		exe[256];	/* /proc/self/exe, NUL-terminated */
	/* since VER1 (grows at the end; readers go by @header_size): */
	char		comm[16];	/* the task's comm at start-up, as the
					   kernel records name it */
};
#define CS_USER_FILE_HEADER_SIZE_VER0	288	/* up to @exe */
#define CS_USER_FILE_HEADER_SIZE_VER1	304	/* up to @comm */
static_assert(sizeof(struct cs_user_file_header) == CS_USER_FILE_HEADER_SIZE_VER1,
	      "cs_user_file_header grew: add a _VERn size");

#define CS_USER_RECORD_CALL	1
#define CS_USER_RECORD_MAP	2

struct cs_user_record_header {
	uint16_t	type;
	uint16_t	size;
	uint32_t	tid;
};

/* What was called: cs_user_call.kind */
#define CS_KIND_FORK		1
#define CS_KIND_VFORK		2
#define CS_KIND__FORK		3
#define CS_KIND_CLONE		4
#define CS_KIND_POSIX_SPAWN	5
#define CS_KIND_POSIX_SPAWNP	6
#define CS_KIND_PTHREAD_CREATE	7
#define CS_KIND_SYSTEM		8
#define CS_KIND_POPEN		9
#define CS_KIND_DAEMON		10
#define CS_KIND_CLONE3		11	/* syscall(SYS_clone3, ...) */

/* One interposed call, written when it returns (in the calling process). */
struct cs_user_call {
	struct cs_user_record_header hdr;
	uint32_t	kind;		/* CS_KIND_* */
	int32_t		err;		/* errno (or the error number returned by
					   pthread_create/posix_spawn), 0 on success */
	int64_t		ret;		/* return value (popen: 0 or -1) */
	uint64_t	entry_ns;
	uint64_t	return_ns;
	uint64_t	call_site;	/* return address into the caller */
	int64_t		child;		/* child pid when the call tells it, else 0 */
};

/*
 * One loaded object (dl_iterate_phdr): [start, end) of its PT_LOAD
 * segments, @base the load bias (dlpi_addr), then @path_len bytes of path
 * (no NUL), zero-padded to 8.
 */
struct cs_user_map {
	struct cs_user_record_header hdr;
	uint64_t	start;
	uint64_t	end;
	uint64_t	base;
	uint32_t	path_len;
	uint32_t	__reserved;
	/* char path[path_len]; */
};

#endif /* CLONESCOPE_USER_TRACE_H */
