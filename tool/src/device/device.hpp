#pragma once
// The clonescope character device: one RAII owner per open fd, one method
// per ioctl, and errno turned into a message that says what to do.

#include <linux/clonescope.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace clonescope {

inline constexpr const char *kDevicePath = "/dev/" CLONESCOPE_DEVICE_NAME;

struct AbiVersion {
	uint32_t major = 0;
	uint32_t minor = 0;
	uint64_t features = 0;
};

// Names of the CLONESCOPE_FEAT_* bits set in @features ("0x..." for unknown bits).
std::vector<std::string> feature_names(uint64_t features);

// "registered", "alias", ... for CLONESCOPE_PROBE_* @state; "unknown" else.
const char *probe_state_name(uint32_t state);

// "tracepoint", "kretprobe", "kprobe" (+ "/ftrace" on an ftrace site) from
// @p's flags; "-" when the module does not say (ABI 1.0: a shorter struct).
const char *probe_kind_name(const clonescope_probe_info &p);

// The names parse_probe_groups knows: all, clone, phases, page_tables, cow,
// lifecycle.
const std::vector<std::string> &probe_group_names();

// CLONESCOPE_PROBES_* from names of probe_group_names() ({"clone", "cow"}, or
// {"all"}); the clone group is always included (the module always arms it).
Result<uint32_t> parse_probe_groups(const std::vector<std::string> &names);

// Refuses a module whose ABI major differs from the one we were built with;
// a newer minor only adds things we can ignore.
Status check_abi(const AbiVersion &module);

// What CLONESCOPE_IOC_GET_AGGREGATE returned: the totals and the entries
// per command name.
struct Aggregate {
	clonescope_aggregate totals{};
	std::vector<clonescope_agg_comm> comms;
};

class Device {
public:
	// Opens @path non-blocking (the reader polls).
	static Result<Device> open(const std::string &path = kDevicePath);
	// open() (@path "" means kDevicePath), then reads the module's ABI
	// version, kept as abi(), and refuses one check_abi() refuses.
	static Result<Device> open_checked(const std::string &path);

	Result<AbiVersion> version() const;
	Result<clonescope_stats> stats() const;
	Result<clonescope_probe_info> probe(uint32_t index) const;
	Status set_filter(const clonescope_filter &filter) const;
	Status set_buffer_pages(uint32_t pages_per_cpu) const;
	// Which probe groups ENABLE arms (CLONESCOPE_PROBES_*). A module
	// without CLONESCOPE_FEAT_OPTIONS arms all of them: then this does
	// nothing for "all" and refuses anything less.
	// @options: CLONESCOPE_OPT_*, which need CLONESCOPE_FEAT_AGGREGATE.
	// @wakeup_ms: the longest a record may wait before a blocked reader
	// is woken (a half-full buffer wakes it sooner); unset, or a module
	// without CLONESCOPE_FEAT_WAKEUP_LATENCY: the module's default.
	Status set_probe_groups(uint32_t groups, uint64_t features, uint32_t options = 0,
				std::optional<uint32_t> wakeup_ms = std::nullopt) const;
	// Needs CLONESCOPE_FEAT_AGGREGATE.  @with_comms: the entries per
	// command name too (room for 1024: the module keeps 64 per CPU), which
	// costs the caller and the module most of the call; without, totals
	// only.
	Result<Aggregate> aggregate(bool with_comms = true) const;
	Status enable() const;
	Status disable() const;

	// Whole records into @buf. 0 means EOF (disabled and drained); an error
	// with errnum EAGAIN means "nothing buffered right now".
	Result<size_t> read(std::span<std::byte> buf) const;

	int fd() const { return fd_.get(); }
	// The module's version, as open_checked() read it.
	const AbiVersion &abi() const { return abi_; }

private:
	Device(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
	Status ioctl_checked(unsigned long cmd, void *arg, const char *name) const;

	UniqueFd fd_;
	std::string path_;
	AbiVersion abi_;
};

} // namespace clonescope
