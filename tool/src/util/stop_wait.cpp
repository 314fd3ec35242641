#include "util/stop_wait.hpp"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

#include "util/clock.hpp"

namespace clonescope {

int wait_until_stopped(std::span<pollfd> fds, uint64_t deadline_ns, const std::atomic<bool> &stop)
{
	sigset_t stop_signals, caller_mask;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &caller_mask);
	// The caller's mask, but open to the stop signals, whose handler may
	// already be pending.
	sigset_t wait_mask = caller_mask;
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	int ready = 0;
	for (uint64_t now = monotonic_ns(); !stop && now < deadline_ns; now = monotonic_ns()) {
		const uint64_t left = deadline_ns - now;
		const timespec ts{static_cast<time_t>(left / 1'000'000'000),
				  static_cast<long>(left % 1'000'000'000)};
		ready = ppoll(fds.data(), fds.size(), &ts, &wait_mask);
		if (ready > 0 || (ready < 0 && errno != EINTR))
			break;
		ready = 0;
	}
	const int err = errno;
	pthread_sigmask(SIG_SETMASK, &caller_mask, nullptr);
	errno = err;
	return ready;
}

} // namespace clonescope
