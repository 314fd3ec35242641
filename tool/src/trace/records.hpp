#pragma once
// Decoding the kernel record stream (uapi/linux/clonescope.h) in place: the
// records are read where they lie (a mapped trace file, a read buffer), no
// object is made per record, and each is seen as this tool's struct of its
// type.

#include <linux/clonescope.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "util/result.hpp"

namespace clonescope {

// The record types this tool knows: each one's type number, first size
// (..._SIZE_VER0: below it a record is corrupt) and name in errors.
template <typename Record>
struct RecordType;

template <uint16_t Id, size_t SizeVer0>
struct RecordTypeIs {
	static constexpr uint16_t id = Id;
	static constexpr size_t size_ver0 = SizeVer0;
};

#define CLONESCOPE_RECORD_TYPE(Record, Id, SizeVer0, Name)			\
	template <>							\
	struct RecordType<Record> : RecordTypeIs<Id, SizeVer0> {		\
		static constexpr const char *name = Name;			\
	}
CLONESCOPE_RECORD_TYPE(clonescope_clone_event, CLONESCOPE_RECORD_CLONE,
		       CLONESCOPE_CLONE_EVENT_SIZE_VER0, "clone");
CLONESCOPE_RECORD_TYPE(clonescope_child_start_event, CLONESCOPE_RECORD_CHILD_START,
		       CLONESCOPE_CHILD_START_EVENT_SIZE_VER0, "child-start");
CLONESCOPE_RECORD_TYPE(clonescope_lost_event, CLONESCOPE_RECORD_LOST,
		       CLONESCOPE_LOST_EVENT_SIZE_VER0, "lost");
CLONESCOPE_RECORD_TYPE(clonescope_cow_event, CLONESCOPE_RECORD_COW,
		       CLONESCOPE_COW_EVENT_SIZE_VER0, "cow");
CLONESCOPE_RECORD_TYPE(clonescope_lifecycle_event, CLONESCOPE_RECORD_LIFECYCLE,
		       CLONESCOPE_LIFECYCLE_EVENT_SIZE_VER0, "lifecycle");
#undef CLONESCOPE_RECORD_TYPE

// Every type above, for walks over them.
template <typename... Records>
struct RecordTypeList {};
using KnownRecordTypes = RecordTypeList<clonescope_clone_event, clonescope_child_start_event,
					clonescope_lost_event, clonescope_cow_event,
					clonescope_lifecycle_event>;

// Calls @fn.template operator()<Record>() for the known type @type; false
// for an unknown one.
template <typename Fn, typename... Records>
constexpr bool with_record_type_in(RecordTypeList<Records...>, uint16_t type, Fn &fn)
{
	return ((type == RecordType<Records>::id && (fn.template operator()<Records>(), true)) ||
		...);
}

template <typename Fn>
constexpr bool with_record_type(uint16_t type, Fn &&fn)
{
	return with_record_type_in(KnownRecordTypes{}, type, fn);
}

// One kernel record of a known type, where it lies: at least as long as
// this tool's struct of its type and aligned for it (KernelRecords makes
// sure), so it is read as that struct, a longer record's tail ignored.
// A view: valid while the KernelRecords it came from (or a copy) lives.
class KernelRecord {
public:
	KernelRecord() = default; // none: see operator bool
	explicit KernelRecord(const clonescope_record_header *hdr) : hdr_(hdr) {}

	explicit operator bool() const { return hdr_ != nullptr; }
	const clonescope_record_header &header() const { return *hdr_; }

	// The record as @Record, or nullptr when it is of another type.
	template <typename Record>
	const Record *get_if() const
	{
		if (!hdr_ || hdr_->type != RecordType<Record>::id)
			return nullptr;
		return reinterpret_cast<const Record *>(hdr_);
	}

	template <typename Record>
	bool holds() const
	{
		return get_if<Record>() != nullptr;
	}

	// @visit(const Record &) for the record's type: every known type must
	// be callable, so a type added here without its case does not compile.
	template <typename Visit>
	decltype(auto) visit(Visit &&visit) const
	{
		switch (hdr_->type) {
		case CLONESCOPE_RECORD_CHILD_START:
			return visit(*get_if<clonescope_child_start_event>());
		case CLONESCOPE_RECORD_LOST:
			return visit(*get_if<clonescope_lost_event>());
		case CLONESCOPE_RECORD_COW:
			return visit(*get_if<clonescope_cow_event>());
		case CLONESCOPE_RECORD_LIFECYCLE:
			return visit(*get_if<clonescope_lifecycle_event>());
		default: // KernelRecords holds known types only
			return visit(*get_if<clonescope_clone_event>());
		}
	}

	friend bool operator==(const KernelRecord &a, const KernelRecord &b)
	{
		return a.hdr_ == b.hdr_;
	}

private:
	const clonescope_record_header *hdr_ = nullptr;
};

// A walk over records is bound by memory latency, a cache miss per record
// header: it fetches this far ahead (as an address, so past the end is
// harmless).
inline void prefetch_ahead(const std::byte *pos)
{
	constexpr uintptr_t kAhead = 4096;
	__builtin_prefetch(reinterpret_cast<const void *>(reinterpret_cast<uintptr_t>(pos) + kAhead));
}

// Whether @type is one KernelRecord can hold.
constexpr bool is_known_record_type(uint16_t type)
{
	return with_record_type(type, []<typename>() {});
}

// The decoded kernel stream: its records, checked once when added and then
// walked in place, in order, as KernelRecord views.  Copies share the
// bytes (they are never changed).
class KernelRecords {
public:
	class iterator {
	public:
		using iterator_category = std::forward_iterator_tag;
		using value_type = KernelRecord;
		using difference_type = std::ptrdiff_t;
		using pointer = void;
		using reference = KernelRecord;

		iterator() = default;
		KernelRecord operator*() const
		{
			return KernelRecord(reinterpret_cast<const clonescope_record_header *>(pos_));
		}
		iterator &operator++()
		{
			pos_ += header_size();
			prefetch_ahead(pos_);
			settle();
			return *this;
		}
		iterator operator++(int)
		{
			iterator old = *this;
			++*this;
			return old;
		}
		friend bool operator==(const iterator &a, const iterator &b)
		{
			return a.pos_ == b.pos_;
		}

	private:
		friend class KernelRecords;
		iterator(const KernelRecords *owner, size_t segment) : owner_(owner), segment_(segment)
		{
			enter();
		}
		uint16_t header_size() const;
		uint16_t header_type() const;
		void enter();  // to the start of segment_ (or the end)
		void settle(); // past unknown records and ended segments

		const KernelRecords *owner_ = nullptr;
		size_t segment_ = 0;
		const std::byte *pos_ = nullptr; // nullptr: the end
		const std::byte *end_ = nullptr;
	};

	// Checks @bytes, whole records, and adds them, read in place while
	// @owner (which keeps @bytes alive) lives; a null @owner: while the
	// caller keeps them.  Each record of a known
	// type is read from its type's ..._SIZE_VER0 up: a shorter (older)
	// record is copied once, zero-filled to this tool's struct; a longer
	// (newer) one's tail is ignored.  Errors name @base_offset + the
	// record's position; on error nothing is added.
	Status append(std::span<const std::byte> bytes, uint64_t base_offset,
		      std::shared_ptr<const void> owner);
	// The same with a copy of @bytes: for a buffer the caller reuses.
	Status append_copy(std::span<const std::byte> bytes, uint64_t base_offset);
	// @more's records after these (sharing their bytes).
	void append(const KernelRecords &more);
	// One record from this tool's struct (tests, fixtures); its header's
	// type and size are set from @Record.
	template <typename Record>
	void push_back(Record rec)
	{
		static_assert(std::is_trivially_copyable_v<Record>);
		rec.hdr.type = RecordType<Record>::id;
		rec.hdr.size = sizeof(rec);
		const auto *p = reinterpret_cast<const std::byte *>(&rec);
		(void)append_copy(std::span(p, sizeof(rec)), 0);
	}

	iterator begin() const { return iterator(this, 0); }
	iterator end() const { return iterator(); }
	size_t size() const { return count_; }
	bool empty() const { return count_ == 0; }
	// Records of types this tool does not know: skipped.
	size_t unknown_skipped() const { return unknown_; }
	// The stream as added, byte for byte (unknown and shorter records as
	// they were): what a trace file stores.
	std::vector<std::byte> stream_bytes() const;

private:
	struct Segment {
		std::span<const std::byte> added;   // as given
		std::span<const std::byte> records; // what is walked
	};
	std::vector<Segment> segments_;
	std::vector<std::shared_ptr<const void>> owners_;
	size_t count_ = 0;
	size_t unknown_ = 0;
};

// Whether @ev measured phase @phase (CLONESCOPE_PHASE_*).
inline bool has_phase(const clonescope_clone_event &ev, uint32_t phase)
{
	return phase < 64 && (ev.phase_mask & (1ULL << phase));
}

// Whether @ev failed in a phase that tiles copy_process() before tiled
// phase @phase (CLONESCOPE_TILED_PHASES): then @phase did not happen, rather
// than went unmeasured.
inline bool phase_not_reached(const clonescope_clone_event &ev, uint32_t phase)
{
	const auto tiled = [](uint32_t p) { return p < 64 && (CLONESCOPE_TILED_PHASES & (1ULL << p)); };
	return ev.result < 0 && tiled(ev.failed_phase) && tiled(phase) && phase > ev.failed_phase;
}

// -ERESTARTNOINTR: the kernel restarts the syscall itself, so the caller
// never sees it. Counted apart from failures.
inline bool is_restart(const clonescope_clone_event &ev)
{
	return ev.flags & CLONESCOPE_CLONE_RESTART;
}

// Whether @ev's self_cost_ns was measured by a module of @features: since
// ABI 1.5 only the clones marked timed (CLONESCOPE_OPT_SAMPLED_COST times a
// sample), before it every clone of a module with the self-cost feature.
inline bool is_timed(const clonescope_clone_event &ev, uint64_t features)
{
	if (features & CLONESCOPE_FEAT_SAMPLED_COST)
		return ev.flags & CLONESCOPE_CLONE_TIMED;
	return features & CLONESCOPE_FEAT_SELF_COST;
}

// A failure the caller saw.
inline bool is_failure(const clonescope_clone_event &ev)
{
	return ev.result < 0 && !is_restart(ev);
}

// A child's lifecycle: fork (copy_process made it) to its first exec, fork
// to exit, exit to reap (a zombie); nullopt when one of the two did not
// happen while traced (its stamp is 0), never 0 for it.
inline std::optional<uint64_t> lifecycle_interval(uint64_t from, uint64_t to)
{
	if (!from || !to || to < from)
		return std::nullopt;
	return to - from;
}
inline std::optional<uint64_t> fork_to_exec_ns(const clonescope_lifecycle_event &l)
{
	return lifecycle_interval(l.fork_ns, l.exec_ns);
}
inline std::optional<uint64_t> lifetime_ns(const clonescope_lifecycle_event &l)
{
	return lifecycle_interval(l.fork_ns, l.exit_ns);
}
inline std::optional<uint64_t> zombie_ns(const clonescope_lifecycle_event &l)
{
	return lifecycle_interval(l.exit_ns, l.reap_ns);
}

// What `record` says about the records it read at the end.
struct RecordTally {
	size_t records = 0; // of every type, known or not
	size_t clones = 0;
	size_t failed = 0;    // is_failure
	size_t restarted = 0; // is_restart
	size_t child_starts = 0;
	uint64_t lost = 0; // the LOST records' counts

	// Counts @more's records too.
	void add(const KernelRecords &more);
};
RecordTally tally_records(const KernelRecords &records);

// Copies @rec into @dst, which the caller zeroed: what a shorter record (an
// older module) lacks stays zero, the tail of a longer one (a newer module)
// is ignored, as copy_struct_from_user() does.
template <typename Record>
void copy_record_prefix(Record &dst, std::span<const std::byte> rec)
{
	static_assert(std::is_trivially_copyable_v<Record>);
	std::memcpy(&dst, rec.data(), std::min(rec.size(), sizeof(dst)));
}

// A record of a known type as this tool's struct @Record (see
// copy_record_prefix); nothing when @rec is shorter than @size_ver0, the
// type's first size.
template <typename Record>
std::optional<Record> copy_record(std::span<const std::byte> rec, size_t size_ver0)
{
	if (rec.size() < size_ver0)
		return std::nullopt;
	Record r{};
	copy_record_prefix(r, rec);
	return r;
}

// Decodes whole records (a copy of @bytes: for tests and small buffers).
// @base_offset is added to offsets in error messages so they point into
// the file or stream the bytes came from.
Result<KernelRecords> decode_records(std::span<const std::byte> bytes, uint64_t base_offset = 0);

} // namespace clonescope
