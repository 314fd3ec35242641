// The traced command's end when the tracer stops first (top --by site's
// COUNT, an error): SIGTERM, and SIGKILL only after a grace period.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "record/child.hpp"

namespace clonescope {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

class HeldChildEnd : public ::testing::Test {
protected:
	void SetUp() override
	{
		dir_ = fs::temp_directory_path() / ("clonescope-child-" + std::to_string(getpid()));
		fs::create_directories(dir_);
	}
	void TearDown() override { fs::remove_all(dir_); }

	// Runs @script under sh, released, and waits until it has written
	// the file "ready" (its traps are set by then).
	std::optional<HeldChild> start(const std::string &script)
	{
		auto child = HeldChild::spawn({"/bin/sh", "-c", script}, {"DIR=" + dir_.string()});
		if (!child || !child->release())
			return std::nullopt;
		const auto deadline = steady_clock::now() + std::chrono::seconds(10);
		while (!fs::exists(dir_ / "ready") && steady_clock::now() < deadline)
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
		return std::move(*child);
	}

	fs::path dir_;
};

TEST_F(HeldChildEnd, TerminatedCommandCanCleanUp)
{
	auto child = start("trap 'echo done > \"$DIR/cleaned\"; exit 0' TERM; "
			   ": > \"$DIR/ready\"; while :; do sleep 0.02; done");
	ASSERT_TRUE(child);
	const auto start_time = steady_clock::now();
	child.reset();
	EXPECT_TRUE(fs::exists(dir_ / "cleaned")) << "the command got no SIGTERM";
	EXPECT_LT(steady_clock::now() - start_time, HeldChild::kTerminateGrace);
}

TEST_F(HeldChildEnd, CommandIgnoringSigtermIsKilledAfterTheGrace)
{
	auto child = start("trap '' TERM; : > \"$DIR/ready\"; while :; do sleep 0.02; done");
	ASSERT_TRUE(child);
	const pid_t pid = child->pid();
	const auto start_time = steady_clock::now();
	child.reset();
	EXPECT_GE(steady_clock::now() - start_time, HeldChild::kTerminateGrace);
	// Reaped: the pid names no process of ours any more.
	EXPECT_EQ(-1, kill(pid, 0));
}

} // namespace
} // namespace clonescope
