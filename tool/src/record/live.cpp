#include "record/live.hpp"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "util/clock.hpp"
#include "util/stop_wait.hpp"

namespace clonescope {

Result<LiveSession> LiveSession::start(const std::string &device, const LiveFilter &f,
				       bool in_kernel)
{
	auto dev = Device::open_checked(device);
	if (!dev)
		return dev.error();

	clonescope_filter filter{};
	if (f.tree_of_pid) {
		filter.flags |= CLONESCOPE_FILTER_TREE;
		filter.nr_tgids = 1;
		filter.tgids[0] = f.tree_of_pid;
	}
	if (!f.comm.empty()) {
		filter.flags |= CLONESCOPE_FILTER_COMM;
		std::strncpy(filter.comm, f.comm.c_str(), sizeof(filter.comm) - 1);
	}
	if (auto st = dev->set_filter(filter); !st)
		return st.error();
	const bool aggregating = in_kernel && (dev->abi().features & CLONESCOPE_FEAT_AGGREGATE);
	const uint32_t options =
		aggregating ? CLONESCOPE_OPT_AGGREGATE | CLONESCOPE_OPT_NO_RECORDS : 0;
	if (auto st = dev->set_probe_groups(f.probe_groups, dev->abi().features, options); !st)
		return st.error();
	if (auto st = dev->enable(); !st)
		return st.error();
	return LiveSession(std::move(*dev), aggregating);
}

LiveSession::~LiveSession()
{
	// Closing the owner fd disables tracing too; this just says so.
	if (dev_.fd() >= 0)
		(void)dev_.disable();
}

Result<Trace> LiveSession::collect(uint64_t ns, const std::atomic<bool> &stop, int until_readable)
{
	alignas(8) static std::byte buf[1 << 16];
	Trace window;
	const uint64_t deadline = monotonic_ns() + ns;
	for (bool done = false;;) {
		for (;;) {
			auto got = dev_.read(buf);
			if (!got && got.error().errnum == EAGAIN)
				break;
			if (!got)
				return got.error();
			if (*got == 0)
				break;
			if (auto st = window.kernel.append_copy(std::span(buf, *got), 0); !st)
				return st.error();
		}
		const uint64_t now = monotonic_ns();
		if (done || now >= deadline || stop)
			break;
		pollfd pfds[] = {{dev_.fd(), POLLIN, 0}, {until_readable, POLLIN, 0}};
		if (wait_until_stopped(pfds, deadline, stop) < 0)
			return errno_error("poll", errno);
		// One more read for what came before the end.
		done = pfds[1].revents & POLLIN;
	}
	return window;
}

} // namespace clonescope
