#include "cli/status.hpp"

#include <fmt/format.h>
#include <iostream>

#include "device/device.hpp"

namespace clonescope {

int run_status(const std::string &device, Format format)
{
	auto fail = [](const Error &e) {
		fmt::print(stderr, "clonescope: {}\n", e.message);
		return 1;
	};
	auto dev = Device::open(device.empty() ? kDevicePath : device);
	if (!dev)
		return fail(dev.error());
	auto ver = dev->version();
	if (!ver)
		return fail(ver.error());
	if (auto st = check_abi(*ver); !st)
		return fail(st.error());
	auto s = dev->stats();
	if (!s)
		return fail(s.error());
	StatusView view{*ver, *s, {}};
	for (uint32_t i = 0; i < s->nr_probes; i++) {
		auto p = dev->probe(i);
		if (!p)
			return fail(Error{fmt::format("probe {}: {}", i, p.error().message)});
		view.probes.push_back(*p);
	}
	make_output(format, std::cout)->status(view);
	return std::cout.flush() ? 0 : fail(Error{"cannot write to stdout"});
}

} // namespace clonescope
