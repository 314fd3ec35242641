#pragma once
/*
 * The clonescope trace file (.cst), version 1.0.
 *
 * Little-endian. A 16-byte file header, then sections until end of file:
 *
 *   file header   char magic[8] = "CLNSCOPE"
 *                 u16 version_major (1), u16 version_minor (0)
 *                 u32 header_size (16; a reader skips what it does not know)
 *   section       u32 type, u32 flags (0), u64 size (payload bytes)
 *                 payload, then zero padding to a multiple of 8
 *
 * Section types (a reader skips types it does not know, by size):
 *   1 META            CBOR map: tool, abi_major/minor, features, command,
 *                     root_pid, start_ns/end_ns, exit_status, stats, uname
 *   2 KERNEL_RECORDS  raw bytes as read() from /dev/clonescope: whole
 *                     records of uapi/linux/clonescope.h; may repeat, the
 *                     payloads concatenated in file order form the stream
 *   3 USER_RECORDS    one user-side file of the preload shim, verbatim
 *                     (tool/preload/user_trace.h); one section per file
 *   4 PROCESS_TREE    CBOR array of {pid, tgid, ppid, comm, start_ns}
 *   5 SYMBOLS         CBOR array of {image, address, module, symbol,
 *                     offset, file, line}: call sites resolved at record
 *                     time; image = index of the USER_RECORDS section
 *
 * A newer minor version only adds section types or CBOR keys; a different
 * major is refused. Every parse error names the file offset.
 */

#include <cstddef>
#include <cstdint>
#include <sys/uio.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "trace/records.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace clonescope {

inline constexpr char kTraceMagic[8] = {'C', 'L', 'N', 'S', 'C', 'O', 'P', 'E'};
inline constexpr uint16_t kTraceVersionMajor = 1;
inline constexpr uint16_t kTraceVersionMinor = 0;

enum class SectionType : uint32_t {
	Meta = 1,
	KernelRecords = 2,
	UserRecords = 3,
	ProcessTree = 4,
	Symbols = 5,
};

struct Mapping {
	uint64_t start = 0;
	uint64_t end = 0;
	uint64_t base = 0;
	std::string path;
};

// One process image that ran the shim (one USER_RECORDS section).
struct UserImage {
	uint32_t pid = 0;
	uint32_t ppid = 0;
	uint64_t start_ns = 0;
	std::string exe;
	std::vector<Mapping> maps;
	std::string comm = {}; // at start-up; empty from a VER0 header
};

struct UserCall {
	uint32_t image = 0; // index into Trace::images
	uint32_t pid = 0;
	uint32_t tid = 0;
	uint32_t kind = 0; // CS_KIND_*
	int32_t err = 0;
	int64_t ret = 0;
	uint64_t entry_ns = 0;
	uint64_t return_ns = 0;
	uint64_t call_site = 0;
	int64_t child = 0;
};

struct ProcessInfo {
	uint32_t pid = 0;
	uint32_t tgid = 0;
	uint32_t ppid = 0;
	std::string comm;
	uint64_t start_ns = 0;
};

struct SymbolInfo {
	uint32_t image = 0;
	uint64_t address = 0;
	std::string module;
	std::string symbol; // empty when unknown
	uint64_t offset = 0; // from symbol, or from module base without one
	std::string file;    // empty without debug info
	int line = 0;
};

struct Trace {
	nlohmann::json meta = nlohmann::json::object();
	// The KERNEL_RECORDS sections' stream (read_trace(): in place, in the
	// mapped file it keeps).
	KernelRecords kernel;
	std::vector<UserImage> images;
	std::vector<UserCall> calls;
	std::vector<ProcessInfo> processes;
	std::vector<SymbolInfo> symbols;
};

// META's unsigned number @key; nullopt when absent or not one.
std::optional<uint64_t> meta_u64(const nlohmann::json &meta, const char *key);

// Parses one user-side file (verbatim bytes) into @trace as image number
// trace.images.size(). Offsets in errors are @base_offset + position.
Status parse_user_stream(std::span<const std::byte> bytes, uint64_t base_offset, Trace &trace);

// Parses @bytes; the kernel records are copied (the trace does not need
// @bytes afterwards).
Result<Trace> parse_trace(std::span<const std::byte> bytes);
// Maps the file and decodes its kernel records where they lie: no copy.
Result<Trace> read_trace(const std::string &path);

// writev(): what writev_all() calls (tests give one that writes little at a
// time, or fails with EINTR).
using WritevFn = ssize_t (*)(int fd, const iovec *iov, int iovcnt);
// A section's header, payload and padding.
inline constexpr size_t kMaxWriteParts = 3;

// Writes every byte of @parts (at most kMaxWriteParts of them), in order, to
// @fd with @writev_fn: a short write resumes where it stopped, EINTR is
// retried.  @parts is consumed.  Errors name @what.
Status writev_all(int fd, std::span<std::span<const std::byte>> parts, WritevFn writev_fn,
		  const std::string &what);

// Streams sections to a file as they become available.
class TraceWriter {
public:
	static Result<TraceWriter> create(const std::string &path);

	Status write_section(SectionType type, std::span<const std::byte> payload);
	Status write_meta(const nlohmann::json &meta);
	Status write_processes(const std::vector<ProcessInfo> &processes);
	Status write_symbols(const std::vector<SymbolInfo> &symbols);
	// The file as written so far, read as read_trace() reads it (mapped,
	// the kernel records in place): what a recording counts at its end
	// instead of keeping the records while it runs.  Only a regular file
	// can be (not a pipe or a device): see can_read_back().
	Result<Trace> read_back() const;
	bool can_read_back() const { return regular_file_; }
	const std::string &path() const { return path_; }

private:
	TraceWriter(UniqueFd fd, std::string path, bool regular_file)
		: fd_(std::move(fd)), path_(std::move(path)), regular_file_(regular_file)
	{
	}
	Status write_all(std::span<const std::byte> bytes);

	UniqueFd fd_;
	std::string path_;
	bool regular_file_;
};

// The whole file in memory, for writers of fixtures and for tests.
std::vector<std::byte> serialize_trace(const Trace &trace,
				       const std::vector<std::vector<std::byte>> &user_streams);

} // namespace clonescope
