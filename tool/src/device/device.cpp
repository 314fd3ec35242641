#include "device/device.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/named.hpp"

namespace clonescope {

namespace {

constexpr Named kFeatures[] = {
	{CLONESCOPE_FEAT_KERNEL_CLONE, "kernel_clone"},
	{CLONESCOPE_FEAT_SYSCALL, "syscall"},
	{CLONESCOPE_FEAT_PHASES, "phases"},
	{CLONESCOPE_FEAT_CHILD_START, "child_start"},
	{CLONESCOPE_FEAT_LOST_RECORDS, "lost_records"},
	{CLONESCOPE_FEAT_FILTER, "filter"},
	{CLONESCOPE_FEAT_SELF_COST, "self_cost"},
	{CLONESCOPE_FEAT_COW, "cow"},
	{CLONESCOPE_FEAT_COW_THP, "cow_thp"},
	{CLONESCOPE_FEAT_COW_HUGETLB, "cow_hugetlb"},
	{CLONESCOPE_FEAT_OPTIONS, "options"},
	{CLONESCOPE_FEAT_TIMED_WAKEUP, "timed_wakeup"},
	{CLONESCOPE_FEAT_AGGREGATE, "aggregate"},
	{CLONESCOPE_FEAT_PROBE_FLAGS, "probe_flags"},
	{CLONESCOPE_FEAT_NS_PIDS, "ns_pids"},
	{CLONESCOPE_FEAT_LIFECYCLE, "lifecycle"},
	{CLONESCOPE_FEAT_LIFECYCLE_REAP, "lifecycle_reap"},
	{CLONESCOPE_FEAT_SAMPLED_COST, "sampled_cost"},
	{CLONESCOPE_FEAT_WAKEUP_LATENCY, "wakeup_latency"},
};

constexpr Named kProbeStates[] = {
	{CLONESCOPE_PROBE_REGISTERED, "registered"},
	{CLONESCOPE_PROBE_UNAVAILABLE, "unavailable"},
	{CLONESCOPE_PROBE_FAILED, "failed"},
	{CLONESCOPE_PROBE_ALIAS, "alias"},
	{CLONESCOPE_PROBE_STANDBY, "standby"},
};

// What an errno from one of our ioctls means for the user.
std::string ioctl_hint(int err)
{
	switch (err) {
	case EBUSY:
		return "the device is busy: another clonescope session owns it, "
		       "or tracing is enabled";
	case ENOTTY:
		return "the module does not know this request (module older than the tool?)";
	case E2BIG:
		return "the module is older than the tool and does not know all of its settings";
	case EINVAL:
		return "the module rejected the arguments";
	default:
		return "";
	}
}

} // namespace

std::vector<std::string> feature_names(uint64_t features)
{
	return bit_names(kFeatures, features);
}

const char *probe_state_name(uint32_t state)
{
	return name_in(kProbeStates, state, "unknown");
}

namespace {

constexpr struct {
	const char *name;
	uint32_t bits;
} kProbeGroups[] = {
	{"all", CLONESCOPE_PROBES_ALL},
	{"clone", CLONESCOPE_PROBES_CLONE},
	{"phases", CLONESCOPE_PROBES_PHASES},
	{"page_tables", CLONESCOPE_PROBES_PAGE_TABLES},
	{"cow", CLONESCOPE_PROBES_COW},
	{"lifecycle", CLONESCOPE_PROBES_LIFECYCLE},
};

} // namespace

const std::vector<std::string> &probe_group_names()
{
	static const std::vector<std::string> names = [] {
		std::vector<std::string> v;
		for (const auto &g : kProbeGroups)
			v.emplace_back(g.name);
		return v;
	}();
	return names;
}

Result<uint32_t> parse_probe_groups(const std::vector<std::string> &names)
{
	const std::string known = fmt::format("{}", fmt::join(probe_group_names(), ", "));
	if (names.empty())
		return Error{fmt::format("no probe group given (known: {})", known)};
	uint32_t groups = CLONESCOPE_PROBES_CLONE;
	for (const auto &name : names) {
		auto it = std::find_if(std::begin(kProbeGroups), std::end(kProbeGroups),
				       [&name](const auto &g) { return name == g.name; });
		if (it == std::end(kProbeGroups))
			return Error{fmt::format("unknown probe group \"{}\" (known: {})", name, known)};
		groups |= it->bits;
	}
	return groups;
}

Status check_abi(const AbiVersion &module)
{
	if (module.major != CLONESCOPE_ABI_MAJOR)
		return Error{fmt::format("module ABI {}.{} is incompatible with this tool's ABI {}.{} "
					 "(major versions differ): rebuild the tool or the module",
					 module.major, module.minor, CLONESCOPE_ABI_MAJOR,
					 CLONESCOPE_ABI_MINOR)};
	return Ok{};
}

Result<Device> Device::open(const std::string &path)
{
	UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
	if (fd)
		return Device(std::move(fd), path);
	int err = errno;
	Error e = errno_error("cannot open " + path, err);
	if (err == ENOENT || err == ENODEV || err == ENXIO)
		e.message += ": module not loaded (try: sudo insmod module/clonescope.ko)";
	else if (err == EACCES || err == EPERM)
		e.message += ": needs root or CAP_PERFMON";
	return e;
}

Result<Device> Device::open_checked(const std::string &path)
{
	auto dev = open(path.empty() ? kDevicePath : path);
	if (!dev)
		return dev.error();
	auto ver = dev->version();
	if (!ver)
		return ver.error();
	if (auto st = check_abi(*ver); !st)
		return st.error();
	dev->abi_ = *ver;
	return dev;
}

Status Device::ioctl_checked(unsigned long cmd, void *arg, const char *name) const
{
	if (::ioctl(fd_.get(), cmd, arg) == 0)
		return Ok{};
	int err = errno;
	Error e = errno_error(fmt::format("{} {}", path_, name), err);
	if (std::string hint = ioctl_hint(err); !hint.empty())
		e.message += ": " + hint;
	return e;
}

Result<AbiVersion> Device::version() const
{
	clonescope_version v{};
	v.size = sizeof(v);
	if (auto st = ioctl_checked(CLONESCOPE_IOC_GET_VERSION, &v, "GET_VERSION"); !st)
		return st.error();
	return AbiVersion{v.abi_major, v.abi_minor, v.features};
}

Result<clonescope_stats> Device::stats() const
{
	clonescope_stats s{};
	s.size = sizeof(s);
	if (auto st = ioctl_checked(CLONESCOPE_IOC_GET_STATS, &s, "GET_STATS"); !st)
		return st.error();
	return s;
}

Result<clonescope_probe_info> Device::probe(uint32_t index) const
{
	clonescope_probe_info p{};
	p.size = sizeof(p);
	p.index = index;
	if (auto st = ioctl_checked(CLONESCOPE_IOC_GET_PROBE, &p, "GET_PROBE"); !st)
		return st.error();
	return p;
}

Status Device::set_filter(const clonescope_filter &filter) const
{
	clonescope_filter f = filter;
	f.size = sizeof(f);
	return ioctl_checked(CLONESCOPE_IOC_SET_FILTER, &f, "SET_FILTER");
}

Status Device::set_buffer_pages(uint32_t pages_per_cpu) const
{
	clonescope_buffer_config c{};
	c.size = sizeof(c);
	c.pages_per_cpu = pages_per_cpu;
	return ioctl_checked(CLONESCOPE_IOC_SET_BUFFER, &c, "SET_BUFFER");
}

const char *probe_kind_name(const clonescope_probe_info &p)
{
	if (p.size < CLONESCOPE_PROBE_INFO_SIZE_VER1)
		return "-";
	if (p.flags & CLONESCOPE_PROBE_F_TRACEPOINT)
		return "tracepoint";
	const bool ftrace = p.flags & CLONESCOPE_PROBE_F_FTRACE;
	if (p.flags & CLONESCOPE_PROBE_F_RETURN)
		return ftrace ? "kretprobe/ftrace" : "kretprobe";
	return ftrace ? "kprobe/ftrace" : "kprobe";
}

Status Device::set_probe_groups(uint32_t groups, uint64_t features, uint32_t options,
				std::optional<uint32_t> wakeup_ms) const
{
	if ((options & (CLONESCOPE_OPT_AGGREGATE | CLONESCOPE_OPT_NO_RECORDS)) &&
	    !(features & CLONESCOPE_FEAT_AGGREGATE))
		return Error{"this module cannot aggregate in the kernel (no "
			     "CLONESCOPE_FEAT_AGGREGATE: ABI 1.0)"};
	// A module before 1.3 has no lifecycle group and refuses its bit.
	if (!(features & CLONESCOPE_FEAT_LIFECYCLE))
		groups &= ~CLONESCOPE_PROBES_LIFECYCLE;
	if (!(features & CLONESCOPE_FEAT_OPTIONS)) {
		if ((groups | CLONESCOPE_PROBES_LIFECYCLE) == CLONESCOPE_PROBES_ALL)
			return Ok{};
		return Error{"this module arms every probe group: it cannot limit them "
			     "(no CLONESCOPE_FEAT_OPTIONS)"};
	}
	clonescope_options o{};
	// A 1.0 module takes the 1.1 size as long as flags are zero.
	o.size = sizeof(o);
	o.probes = groups;
	o.flags = options;
	// One clock read per handler call: only a sample of clones and calls
	// is timed (self-cost readers use the clones marked timed, see
	// is_timed()).  A module before 1.5 times every call.
	if (features & CLONESCOPE_FEAT_SAMPLED_COST)
		o.flags |= CLONESCOPE_OPT_SAMPLED_COST;
	// A module before 1.6 refuses the field: it wakes readers at its own
	// latency.
	if (wakeup_ms && (features & CLONESCOPE_FEAT_WAKEUP_LATENCY)) {
		o.flags |= CLONESCOPE_OPT_WAKEUP_MS;
		o.wakeup_ms = std::min<uint32_t>(*wakeup_ms, CLONESCOPE_MAX_WAKEUP_MS);
	}
	return ioctl_checked(CLONESCOPE_IOC_SET_OPTIONS, &o, "SET_OPTIONS");
}

Result<Aggregate> Device::aggregate(bool with_comms) const
{
	// The module keeps 64 command names per CPU: all of 16 CPUs' fit, and
	// the clones of what does not are counted in comms_overflow.
	constexpr size_t kMaxComms = 1024;
	Aggregate a;
	a.comms.resize(with_comms ? kMaxComms : 0);
	a.totals.size = sizeof(a.totals);
	a.totals.nr_comms = static_cast<uint32_t>(a.comms.size());
	a.totals.comms = reinterpret_cast<uintptr_t>(a.comms.data());
	if (auto st = ioctl_checked(CLONESCOPE_IOC_GET_AGGREGATE, &a.totals, "GET_AGGREGATE"); !st)
		return st.error();
	a.comms.resize(std::min<size_t>(a.totals.nr_comms, kMaxComms));
	return a;
}

Status Device::enable() const
{
	return ioctl_checked(CLONESCOPE_IOC_ENABLE, nullptr, "ENABLE");
}

Status Device::disable() const
{
	return ioctl_checked(CLONESCOPE_IOC_DISABLE, nullptr, "DISABLE");
}

Result<size_t> Device::read(std::span<std::byte> buf) const
{
	for (;;) {
		ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
		if (n >= 0)
			return static_cast<size_t>(n);
		if (errno == EINTR)
			continue;
		int err = errno;
		Error e = errno_error("read " + path_, err);
		if (err == EBUSY)
			e.message += ": " + ioctl_hint(err);
		return e;
	}
}

} // namespace clonescope
