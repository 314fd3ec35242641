#include "cli/status.hpp"

#include <fmt/format.h>
#include <iostream>

#include "cli/fail.hpp"
#include "device/device.hpp"

namespace clonescope {

int run_status(const std::string &device, Format format)
{
	auto dev = Device::open_checked(device);
	if (!dev)
		return fail(dev.error());
	auto s = dev->stats();
	if (!s)
		return fail(s.error());
	StatusView view{dev->abi(), *s, {}};
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
