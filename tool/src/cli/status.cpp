#include "cli/status.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "device/device.hpp"
#include "trace/names.hpp"

namespace clonescope {

namespace {

template <size_t N>
std::string cstr(const char (&s)[N])
{
	return std::string(s, strnlen(s, N));
}

} // namespace

int run_status(const std::string &device)
{
	auto dev = Device::open(device.empty() ? kDevicePath : device);
	if (!dev) {
		fmt::print(stderr, "clonescope: {}\n", dev.error().message);
		return 1;
	}
	auto ver = dev->version();
	if (!ver) {
		fmt::print(stderr, "clonescope: {}\n", ver.error().message);
		return 1;
	}
	fmt::print("module ABI:  {}.{} (tool built for {}.{})\n", ver->major, ver->minor,
		   CLONESCOPE_ABI_MAJOR, CLONESCOPE_ABI_MINOR);
	if (auto st = check_abi(*ver); !st) {
		fmt::print(stderr, "clonescope: {}\n", st.error().message);
		return 1;
	}
	fmt::print("features:    {}\n", fmt::join(feature_names(ver->features), " "));

	auto s = dev->stats();
	if (!s) {
		fmt::print(stderr, "clonescope: {}\n", s.error().message);
		return 1;
	}
	fmt::print("tracing:     {}, {} CPU buffers of {} pages\n",
		   s->enabled ? "enabled" : "disabled", s->nr_cpus, s->pages_per_cpu);
	// Counters of the current (or last) tracing session.
	fmt::print("records:     produced {}, delivered {}, dropped {}, in-flight overflow {}\n",
		   s->produced, s->delivered, s->dropped, s->inflight_overflow);
	fmt::print("handlers:    {} calls, {} ns", s->handler_calls, s->handler_ns);
	if (s->clones)
		fmt::print(", {} ns per clone over {} clones\n", s->handler_ns / s->clones, s->clones);
	else
		fmt::print(", no clones traced yet\n");

	fmt::print("\n{:>3} {:<32} {:<26} {:<16} {:<12} {:<8} {:>10} {:>8} {:>8}\n", "#", "SYMBOL",
		   "ROLE", "KIND", "STATE", "ERROR", "HITS", "MISSED", "NS/HIT");
	for (uint32_t i = 0; i < s->nr_probes; i++) {
		auto p = dev->probe(i);
		if (!p) {
			fmt::print(stderr, "clonescope: probe {}: {}\n", i, p.error().message);
			return 1;
		}
		std::string err = p->error ? errno_name(-p->error) : "-";
		std::string per_hit = p->hits ? fmt::format("{}", p->handler_ns / p->hits) : "-";
		fmt::print("{:>3} {:<32} {:<26} {:<16} {:<12} {:<8} {:>10} {:>8} {:>8}\n", i,
			   cstr(p->symbol), cstr(p->role), probe_kind_name(*p),
			   probe_state_name(p->state), err, p->hits, p->nmissed, per_hit);
	}
	return 0;
}

} // namespace clonescope
