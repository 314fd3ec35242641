// wait_until_stopped(): stat's interval sleep and its record waits end at
// a stop signal, the deadline or a ready fd, whichever comes first.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "util/clock.hpp"
#include "util/stop_wait.hpp"
#include "util/unique_fd.hpp"

namespace clonescope {
namespace {

using std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

void set_stop(int)
{
	g_stop = true;
}

class StopWait : public ::testing::Test {
protected:
	void SetUp() override
	{
		g_stop = false;
		struct sigaction sa = {};
		sa.sa_handler = set_stop; // no SA_RESTART, as stat installs it
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int_);
	}
	void TearDown() override { sigaction(SIGINT, &old_int_, nullptr); }

	struct sigaction old_int_ = {};
};

constexpr uint64_t kLongWaitNs = 10'000'000'000ULL;

// The race: the signal comes after the caller's look at the flag and
// before the wait (here it is pending, blocked, when the wait starts).
TEST_F(StopWait, SignalJustBeforeTheWaitEndsIt)
{
	sigset_t sigint, old;
	sigemptyset(&sigint);
	sigaddset(&sigint, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigint, &old);
	raise(SIGINT);
	ASSERT_FALSE(g_stop);
	const auto start = steady_clock::now();
	EXPECT_EQ(0, wait_until_stopped({}, monotonic_ns() + kLongWaitNs, g_stop));
	EXPECT_TRUE(g_stop);
	EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST_F(StopWait, EndsAtTheDeadline)
{
	const uint64_t deadline = monotonic_ns() + 50'000'000;
	EXPECT_EQ(0, wait_until_stopped({}, deadline, g_stop));
	EXPECT_GE(monotonic_ns(), deadline);
	EXPECT_FALSE(g_stop);
}

TEST_F(StopWait, EndsWhenAnFdIsReady)
{
	int p[2];
	ASSERT_EQ(0, pipe(p));
	UniqueFd rd(p[0]), wr(p[1]);
	ASSERT_EQ(1, write(wr.get(), "x", 1));
	pollfd pfds[] = {{-1, POLLIN, 0}, {rd.get(), POLLIN, 0}};
	const auto start = steady_clock::now();
	EXPECT_EQ(1, wait_until_stopped(pfds, monotonic_ns() + kLongWaitNs, g_stop));
	EXPECT_TRUE(pfds[1].revents & POLLIN);
	EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
}

} // namespace
} // namespace clonescope
