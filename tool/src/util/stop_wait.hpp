#pragma once

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <span>

namespace clonescope {

// Waits until one of @fds (none: a sleep) polls ready, CLOCK_MONOTONIC
// reaches @deadline_ns, or @stop is set, by a SIGINT or SIGTERM handler
// installed without SA_RESTART.  Those two signals are blocked from the
// look at @stop until ppoll() unblocks them atomically (whatever the
// caller's mask): one that comes just before the wait, or is pending when
// it starts, ends it at once, instead of when it would have ended.  Returns how many of @fds are ready (their revents set), 0 at
// the deadline or a stop, -1 with errno on an error.
int wait_until_stopped(std::span<pollfd> fds, uint64_t deadline_ns, const std::atomic<bool> &stop);

} // namespace clonescope
