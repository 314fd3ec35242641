#pragma once
// Running the traced command: fork it held on a pipe so that the tracer can
// set a filter on its pid and enable tracing before the command execs.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace clonescope {

class HeldChild {
public:
	// Forks; the child waits until release(), then execvpe()s @argv with
	// the current environment plus @env ("NAME=value", overriding).
	static Result<HeldChild> spawn(const std::vector<std::string> &argv,
				       const std::vector<std::string> &env);
	HeldChild(HeldChild &&o) noexcept;
	HeldChild &operator=(HeldChild &&) = delete;
	HeldChild(const HeldChild &) = delete;
	// Reaps the child if wait() was not called: one never released exits
	// on its own, a released one gets SIGTERM, and SIGKILL if it still
	// runs kTerminateGrace later (the tracer stops early or failed).
	~HeldChild();
	static constexpr std::chrono::milliseconds kTerminateGrace{2000};

	pid_t pid() const { return pid_; }
	// A pidfd that polls readable when the child exits.
	int pidfd() const { return pidfd_.get(); }
	// Whether the child exits within @grace (0: has exited), its exit
	// not yet reaped.
	bool exits_within(std::chrono::milliseconds grace) const;
	// Lets the child exec; fails with the exec error (e.g. command not found).
	Status release();
	// Waits for the child; returns its shell-style status (128+sig if killed).
	Result<int> wait();

private:
	HeldChild() = default;

	pid_t pid_ = -1;
	bool reaped_ = true;
	bool released_ = false;
	UniqueFd go_;	   // write end: a byte lets the child exec
	UniqueFd exec_err_; // read end: errno of a failed exec, EOF on success
	UniqueFd pidfd_;
};

} // namespace clonescope
