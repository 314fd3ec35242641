#include "trace/trace_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <optional>

#include "trace/record_walker.hpp"
#include "user_trace.h"
#include "util/named.hpp"

namespace clonescope {

namespace {

using json = nlohmann::json;

struct FileHeader {
	char magic[8];
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t header_size;
};
static_assert(sizeof(FileHeader) == 16);

struct SectionHeader {
	uint32_t type;
	uint32_t flags;
	uint64_t size;
};
static_assert(sizeof(SectionHeader) == 16);

constexpr uint64_t pad8(uint64_t n)
{
	return (n + 7) & ~uint64_t{7};
}

template <typename T>
void append_pod(std::vector<std::byte> &out, const T &v)
{
	// resize + memcpy rather than insert(): GCC 12 warns falsely
	// (-Wstringop-overflow) about insert() of a small object.
	const size_t at = out.size();
	out.resize(at + sizeof(v));
	std::memcpy(out.data() + at, &v, sizeof(v));
}

std::vector<std::byte> file_header()
{
	FileHeader h{};
	std::memcpy(h.magic, kTraceMagic, sizeof(h.magic));
	h.version_major = kTraceVersionMajor;
	h.version_minor = kTraceVersionMinor;
	h.header_size = sizeof(h);
	std::vector<std::byte> out;
	append_pod(out, h);
	return out;
}

// What follows a section's payload: zeros up to a multiple of 8.
constexpr std::byte kSectionPadding[7] = {};

// A section as its three parts (header, payload, padding), pointing into
// @header and @payload: written with one writev(), or joined.
std::array<std::span<const std::byte>, 3> section_parts(SectionType type,
							  std::span<const std::byte> payload,
							  SectionHeader &header)
{
	header = SectionHeader{static_cast<uint32_t>(type), 0, payload.size()};
	return {std::as_bytes(std::span(&header, 1)), payload,
		std::span(kSectionPadding).first(pad8(payload.size()) - payload.size())};
}

std::vector<std::byte> encode_section(SectionType type, std::span<const std::byte> payload)
{
	SectionHeader header;
	std::vector<std::byte> out;
	out.reserve(sizeof(SectionHeader) + pad8(payload.size()));
	for (auto part : section_parts(type, payload, header))
		out.insert(out.end(), part.begin(), part.end());
	return out;
}

std::vector<std::byte> to_cbor_bytes(const json &j)
{
	std::vector<uint8_t> c = json::to_cbor(j);
	std::vector<std::byte> out(c.size());
	std::memcpy(out.data(), c.data(), c.size());
	return out;
}

json processes_json(const std::vector<ProcessInfo> &processes)
{
	json a = json::array();
	for (const auto &p : processes)
		a.push_back({{"pid", p.pid},
			     {"tgid", p.tgid},
			     {"ppid", p.ppid},
			     {"comm", p.comm},
			     {"start_ns", p.start_ns}});
	return a;
}

json symbols_json(const std::vector<SymbolInfo> &symbols)
{
	json a = json::array();
	for (const auto &s : symbols)
		a.push_back({{"image", s.image},
			     {"address", s.address},
			     {"module", s.module},
			     {"symbol", s.symbol},
			     {"offset", s.offset},
			     {"file", s.file},
			     {"line", s.line}});
	return a;
}

// CBOR payload -> json, errors naming the section's offset.
Result<json> parse_cbor(std::span<const std::byte> payload, uint64_t offset, const char *what)
{
	const auto *begin = reinterpret_cast<const uint8_t *>(payload.data());
	json j;
	try {
		j = json::from_cbor(begin, begin + payload.size(), true, false);
	} catch (const json::exception &e) {
		// allow_exceptions=false does not cover everything: an array
		// claiming more elements than memory holds still throws
		// (out_of_range.408, found by the trace fuzzer).
		return Error{fmt::format("{} section at offset {}: invalid CBOR ({})", what,
					 offset, e.what())};
	}
	if (j.is_discarded())
		return Error{fmt::format("{} section at offset {}: invalid CBOR", what, offset)};
	return j;
}

// Reads the fields of one CBOR entry; the first problem, naming the
// section's offset, is kept in @error.
class FieldReader {
public:
	FieldReader(const json &obj, uint64_t offset, const char *what)
		: obj_(obj), offset_(offset), what_(what)
	{
	}

	template <typename T>
	FieldReader &operator()(const char *key, T &dst)
	{
		if (error)
			return *this;
		auto it = obj_.find(key);
		if (it == obj_.end()) {
			error = Error{fmt::format("{} section at offset {}: entry without \"{}\"",
						  what_, offset_, key)};
			return *this;
		}
		try {
			dst = it->get<T>();
		} catch (const json::exception &) {
			error = Error{fmt::format("{} section at offset {}: \"{}\" has the wrong type",
						  what_, offset_, key)};
		}
		return *this;
	}

	std::optional<Error> error;

private:
	const json &obj_;
	uint64_t offset_;
	const char *what_;
};

// What each META key written by `clonescope record` must hold. Keys are
// optional (older writers wrote fewer) and unknown keys are a newer
// writer's: both are fine, a known key of the wrong type is not.
enum class MetaKind { String, Unsigned, Integer, StringArray, Object, ObjectOrNull };

struct MetaField {
	const char *key;
	MetaKind kind;
};

constexpr MetaField kMetaFields[] = {
	{"tool", MetaKind::String},	       {"abi_major", MetaKind::Unsigned},
	{"abi_minor", MetaKind::Unsigned},     {"features", MetaKind::Unsigned},
	{"probe_groups", MetaKind::Unsigned},  {"command", MetaKind::StringArray},
	{"root_pid", MetaKind::Unsigned},      {"start_ns", MetaKind::Unsigned},
	{"end_ns", MetaKind::Unsigned},	       {"exit_status", MetaKind::Integer},
	{"uname", MetaKind::ObjectOrNull},     {"stats", MetaKind::Object},
};

bool has_kind(const json &v, MetaKind kind)
{
	switch (kind) {
	case MetaKind::String:
		return v.is_string();
	case MetaKind::Unsigned:
		return v.is_number_unsigned();
	case MetaKind::Integer:
		return v.is_number_integer();
	case MetaKind::StringArray:
		return v.is_array() &&
		       std::all_of(v.begin(), v.end(), [](const json &e) { return e.is_string(); });
	case MetaKind::Object:
		return v.is_object();
	case MetaKind::ObjectOrNull:
		return v.is_object() || v.is_null();
	}
	return false;
}

const char *kind_name(MetaKind kind)
{
	static constexpr const char *names[] = {"a string", "an unsigned integer", "an integer",
						  "an array of strings", "a map", "a map or null"};

	return enum_name(names, kind);
}

// @v as JSON for an error message: cut short, and never throwing on a
// string that is not UTF-8.
std::string shown_value(const json &v)
{
	constexpr size_t kMax = 40;
	std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
	if (text.size() > kMax)
		text = text.substr(0, kMax - 3) + "...";
	return text;
}

Status check_meta(const json &meta, uint64_t offset)
{
	if (!meta.is_object())
		return Error{fmt::format("meta section at offset {}: not a map", offset)};
	for (const auto &f : kMetaFields) {
		auto it = meta.find(f.key);
		if (it != meta.end() && !has_kind(*it, f.kind))
			return Error{fmt::format("meta section at offset {}: \"{}\" is {} ({}), "
						 "expected {}",
						 offset, f.key, it->type_name(), shown_value(*it),
						 kind_name(f.kind))};
	}
	return Ok{};
}

Status parse_processes(const json &a, uint64_t offset, Trace &trace)
{
	if (!a.is_array())
		return Error{fmt::format("process-tree section at offset {}: not an array", offset)};
	for (const auto &o : a) {
		ProcessInfo p;
		FieldReader r(o, offset, "process-tree");
		r("pid", p.pid)("tgid", p.tgid)("ppid", p.ppid)("comm", p.comm)("start_ns", p.start_ns);
		if (r.error)
			return *r.error;
		trace.processes.push_back(std::move(p));
	}
	return Ok{};
}

Status parse_symbols(const json &a, uint64_t offset, Trace &trace)
{
	if (!a.is_array())
		return Error{fmt::format("symbols section at offset {}: not an array", offset)};
	for (const auto &o : a) {
		SymbolInfo s;
		FieldReader r(o, offset, "symbols");
		r("image", s.image)("address", s.address)("module", s.module)("symbol", s.symbol);
		r("offset", s.offset)("file", s.file)("line", s.line);
		if (r.error)
			return *r.error;
		trace.symbols.push_back(std::move(s));
	}
	return Ok{};
}

} // namespace

std::optional<uint64_t> meta_u64(const json &meta, const char *key)
{
	auto it = meta.find(key);
	if (it == meta.end() || !it->is_number_unsigned())
		return std::nullopt;
	return it->get<uint64_t>();
}

namespace {

// @rec, a user record of @size bytes, as @Record; @what names its type in
// the error when it is shorter than @Record.
template <typename Record>
Result<Record> read_user_record(std::span<const std::byte> rec, size_t size, uint64_t offset,
				const char *what)
{
	Record r;
	if (size < sizeof(r))
		return Error{fmt::format("user trace: {} record at offset {} too short ({} bytes)",
					 what, offset, size)};
	std::memcpy(&r, rec.data(), sizeof(r));
	return r;
}

} // namespace

Status parse_user_stream(std::span<const std::byte> bytes, uint64_t base_offset, Trace &trace)
{
	cs_user_file_header fh{};
	if (bytes.size() < CS_USER_FILE_HEADER_SIZE_VER0)
		return Error{fmt::format("user trace at offset {}: truncated header ({} bytes, "
					 "needs {})",
					 base_offset, bytes.size(), CS_USER_FILE_HEADER_SIZE_VER0)};
	std::memcpy(&fh, bytes.data(), CS_USER_FILE_HEADER_SIZE_VER0);
	if (std::memcmp(fh.magic, CS_USER_MAGIC, sizeof(fh.magic)) != 0)
		return Error{fmt::format("user trace at offset {}: bad magic", base_offset)};
	if (fh.version != CS_USER_VERSION)
		return Error{fmt::format("user trace at offset {}: version {} (this tool reads {})",
					 base_offset, fh.version, CS_USER_VERSION)};
	if (fh.header_size < CS_USER_FILE_HEADER_SIZE_VER0 || fh.header_size > bytes.size())
		return Error{fmt::format("user trace at offset {}: bad header size {}", base_offset,
					 fh.header_size)};
	// A shorter (older) header leaves the later fields zero.
	std::memcpy(&fh, bytes.data(), std::min<size_t>(fh.header_size, sizeof(fh)));

	const auto image_index = static_cast<uint32_t>(trace.images.size());
	UserImage image;
	image.pid = fh.pid;
	image.ppid = fh.ppid;
	image.start_ns = fh.start_ns;
	image.exe.assign(fh.exe, strnlen(fh.exe, sizeof(fh.exe)));
	image.comm.assign(fh.comm, strnlen(fh.comm, sizeof(fh.comm)));

	auto st = walk_records<cs_user_record_header>(
		bytes.subspan(fh.header_size), base_offset + fh.header_size, "user trace: ",
		[&](const cs_user_record_header &rh, std::span<const std::byte> rec,
		    uint64_t offset) -> Status {
			if (rh.type == CS_USER_RECORD_CALL) {
				auto read = read_user_record<cs_user_call>(rec, rh.size, offset, "call");
				if (!read)
					return read.error();
				const cs_user_call &c = *read;
				trace.calls.push_back(UserCall{image_index, fh.pid, c.hdr.tid, c.kind,
							       c.err, c.ret, c.entry_ns, c.return_ns,
							       c.call_site, c.child});
			} else if (rh.type == CS_USER_RECORD_MAP) {
				auto read = read_user_record<cs_user_map>(rec, rh.size, offset, "map");
				if (!read)
					return read.error();
				const cs_user_map &m = *read;
				if (m.path_len > rh.size - sizeof(m))
					return Error{fmt::format("user trace: map record at offset {}: path "
								 "length {} exceeds the record",
								 offset, m.path_len)};
				image.maps.push_back(Mapping{
					m.start, m.end, m.base,
					std::string(reinterpret_cast<const char *>(rec.data() + sizeof(m)),
						    m.path_len)});
			}
			return Ok{};
		});
	if (!st)
		return st;
	trace.images.push_back(std::move(image));
	return Ok{};
}

namespace {

// What parse_trace() does; with @owner (which keeps @bytes alive) the kernel
// records are read in place, without it they are copied.
Result<Trace> parse_trace_bytes(std::span<const std::byte> bytes,
				const std::shared_ptr<const void> &owner)
{
	FileHeader fh;
	if (bytes.size() < sizeof(fh))
		return Error{fmt::format("not a clonescope trace: {} bytes, the header alone is {}",
					 bytes.size(), sizeof(fh))};
	std::memcpy(&fh, bytes.data(), sizeof(fh));
	if (std::memcmp(fh.magic, kTraceMagic, sizeof(fh.magic)) != 0)
		return Error{"not a clonescope trace: bad magic at offset 0"};
	if (fh.version_major != kTraceVersionMajor)
		return Error{fmt::format("trace format version {}.{} is not supported (this tool "
					 "reads {}.x)",
					 fh.version_major, fh.version_minor, kTraceVersionMajor)};
	if (fh.header_size < sizeof(fh) || fh.header_size > bytes.size())
		return Error{fmt::format("bad trace header size {} at offset 12", fh.header_size)};

	Trace trace;
	uint64_t pos = fh.header_size;
	while (pos < bytes.size()) {
		const uint64_t offset = pos;
		SectionHeader sh;
		if (bytes.size() - pos < sizeof(sh))
			return Error{fmt::format("truncated section header at offset {}", offset)};
		std::memcpy(&sh, bytes.data() + pos, sizeof(sh));
		pos += sizeof(sh);
		if (sh.size > bytes.size() - pos || pad8(sh.size) > bytes.size() - pos)
			return Error{fmt::format("truncated section (type {}) at offset {}: size {} "
						 "(padded to 8) but only {} bytes left",
						 sh.type, offset, sh.size, bytes.size() - pos)};
		auto payload = bytes.subspan(pos, sh.size);
		pos += pad8(sh.size);

		switch (static_cast<SectionType>(sh.type)) {
		case SectionType::Meta: {
			auto j = parse_cbor(payload, offset, "meta");
			if (!j)
				return j.error();
			if (auto st = check_meta(*j, offset); !st)
				return st.error();
			trace.meta = std::move(*j);
			break;
		}
		case SectionType::KernelRecords: {
			// Record offsets are reported as file offsets.
			const uint64_t at = offset + sizeof(sh);
			auto st = owner ? trace.kernel.append(payload, at, owner)
					: trace.kernel.append_copy(payload, at);
			if (!st)
				return st.error();
			break;
		}
		case SectionType::UserRecords:
			if (auto st = parse_user_stream(payload, offset + sizeof(sh), trace); !st)
				return st.error();
			break;
		case SectionType::ProcessTree: {
			auto j = parse_cbor(payload, offset, "process-tree");
			if (!j)
				return j.error();
			if (auto st = parse_processes(*j, offset, trace); !st)
				return st.error();
			break;
		}
		case SectionType::Symbols: {
			auto j = parse_cbor(payload, offset, "symbols");
			if (!j)
				return j.error();
			if (auto st = parse_symbols(*j, offset, trace); !st)
				return st.error();
			break;
		}
		default:
			break; // a newer writer's section: skip it
		}
	}
	return trace;
}

// A read-only mapping of a whole file, unmapped with its last user.
class FileMapping {
public:
	FileMapping(const void *addr, size_t size) : addr_(addr), size_(size) {}
	~FileMapping() { ::munmap(const_cast<void *>(addr_), size_); }
	FileMapping(const FileMapping &) = delete;
	FileMapping &operator=(const FileMapping &) = delete;

	std::span<const std::byte> bytes() const
	{
		return {static_cast<const std::byte *>(addr_), size_};
	}

private:
	const void *addr_;
	size_t size_;
};

} // namespace

Result<Trace> parse_trace(std::span<const std::byte> bytes)
{
	return parse_trace_bytes(bytes, nullptr);
}

namespace {

// Maps the trace file @path open on @fd and decodes its kernel records where
// they lie.
Result<Trace> map_trace(int fd, const std::string &path)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errno_error("cannot stat " + path, errno);
	const auto size = static_cast<size_t>(st.st_size);
	if (size == 0)
		return Error{path + ": " + parse_trace({}).error().message};
	// Mapped, not read: the page cache's bytes are decoded where they are,
	// and the trace keeps the mapping for its records.
	void *map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED)
		return errno_error("cannot map " + path, errno);
	auto mapping = std::make_shared<const FileMapping>(map, size);
	auto t = parse_trace_bytes(mapping->bytes(), mapping);
	if (!t)
		return Error{path + ": " + t.error().message};
	return t;
}

} // namespace

Result<Trace> read_trace(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd)
		return errno_error("cannot open trace " + path, errno);
	return map_trace(fd.get(), path);
}

Result<Trace> TraceWriter::read_back() const
{
	return map_trace(fd_.get(), path_);
}

Result<TraceWriter> TraceWriter::create(const std::string &path)
{
	// Read too: read_back() maps it.
	UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
	if (!fd)
		return errno_error("cannot create " + path, errno);
	struct stat st;
	if (fstat(fd.get(), &st) < 0)
		return errno_error("cannot stat " + path, errno);
	TraceWriter w(std::move(fd), path, S_ISREG(st.st_mode));
	if (auto st = w.write_all(file_header()); !st)
		return st.error();
	return w;
}

Status writev_all(int fd, std::span<std::span<const std::byte>> parts, WritevFn writev_fn,
		  const std::string &what)
{
	std::array<iovec, kMaxWriteParts> iov;
	if (parts.size() > iov.size())
		return Error{fmt::format("cannot write {}: {} parts at once (at most {})", what,
					 parts.size(), iov.size())};
	for (;;) {
		// Empty parts are skipped: done when none is left.
		int n_iov = 0;
		for (auto part : parts)
			if (!part.empty())
				iov[n_iov++] = {const_cast<std::byte *>(part.data()), part.size()};
		if (n_iov == 0)
			return Ok{};
		const ssize_t n = writev_fn(fd, iov.data(), n_iov);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno_error("cannot write " + what, errno);
		if (n == 0)
			return Error{fmt::format("cannot write {}: no progress (writev returned 0)",
						 what)};
		// A short write (a signal, a pipe): go on after what was taken.
		auto left = static_cast<size_t>(n);
		for (auto &part : parts) {
			const size_t taken = std::min(left, part.size());
			part = part.subspan(taken);
			left -= taken;
		}
	}
}

Status TraceWriter::write_all(std::span<const std::byte> bytes)
{
	std::span<const std::byte> parts[] = {bytes};
	return writev_all(fd_.get(), parts, ::writev, path_);
}

Status TraceWriter::write_section(SectionType type, std::span<const std::byte> payload)
{
	// Written from where the payload lies (record's read buffer): no copy.
	SectionHeader header;
	auto parts = section_parts(type, payload, header);
	return writev_all(fd_.get(), parts, ::writev, path_);
}

Status TraceWriter::write_meta(const json &meta)
{
	return write_section(SectionType::Meta, to_cbor_bytes(meta));
}

Status TraceWriter::write_processes(const std::vector<ProcessInfo> &processes)
{
	return write_section(SectionType::ProcessTree, to_cbor_bytes(processes_json(processes)));
}

Status TraceWriter::write_symbols(const std::vector<SymbolInfo> &symbols)
{
	return write_section(SectionType::Symbols, to_cbor_bytes(symbols_json(symbols)));
}

std::vector<std::byte> serialize_trace(const Trace &trace,
				       const std::vector<std::vector<std::byte>> &user_streams)
{
	std::vector<std::byte> out = file_header();
	auto add = [&out](SectionType t, std::span<const std::byte> p) {
		auto s = encode_section(t, p);
		out.insert(out.end(), s.begin(), s.end());
	};
	add(SectionType::Meta, to_cbor_bytes(trace.meta));
	add(SectionType::KernelRecords, trace.kernel.stream_bytes());
	for (const auto &u : user_streams)
		add(SectionType::UserRecords, u);
	add(SectionType::ProcessTree, to_cbor_bytes(processes_json(trace.processes)));
	add(SectionType::Symbols, to_cbor_bytes(symbols_json(trace.symbols)));
	return out;
}

} // namespace clonescope
