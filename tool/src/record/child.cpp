#include "record/child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

namespace clonescope {

namespace {

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void child_main(int go_fd, int err_fd, char *const argv[], char *const env[])
{
	char c;
	ssize_t n;
	do
		n = ::read(go_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127); // the tracer gave up before releasing us
	execvpe(argv[0], argv, env);
	int err = errno;
	(void)!::write(err_fd, &err, sizeof(err));
	_exit(127);
}

} // namespace

Result<HeldChild> HeldChild::spawn(const std::vector<std::string> &argv,
				   const std::vector<std::string> &env)
{
	if (argv.empty())
		return Error{"no command given"};
	// Built before fork: the child must not allocate.
	std::vector<std::string> env_storage;
	for (char **e = environ; *e; e++) {
		std::string_view entry(*e);
		auto name = entry.substr(0, entry.find('=') + 1);
		bool overridden = std::any_of(env.begin(), env.end(), [&](const std::string &o) {
			return o.compare(0, name.size(), name) == 0;
		});
		if (!overridden)
			env_storage.emplace_back(entry);
	}
	env_storage.insert(env_storage.end(), env.begin(), env.end());
	std::vector<char *> cargv, cenv;
	for (const auto &a : argv)
		cargv.push_back(const_cast<char *>(a.c_str()));
	cargv.push_back(nullptr);
	for (auto &e : env_storage)
		cenv.push_back(e.data());
	cenv.push_back(nullptr);

	int go[2], err[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return errno_error("pipe", errno);
	UniqueFd go_r(go[0]), go_w(go[1]);
	if (pipe2(err, O_CLOEXEC) < 0)
		return errno_error("pipe", errno);
	UniqueFd err_r(err[0]), err_w(err[1]);

	pid_t pid = fork();
	if (pid < 0)
		return errno_error("fork", errno);
	if (pid == 0)
		child_main(go_r.get(), err_w.get(), cargv.data(), cenv.data());

	HeldChild child;
	child.pid_ = pid;
	child.reaped_ = false;
	child.go_ = std::move(go_w);
	child.exec_err_ = std::move(err_r);
	int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
	if (pidfd < 0)
		return errno_error("pidfd_open", errno);
	child.pidfd_.reset(pidfd);
	return child;
}

HeldChild::HeldChild(HeldChild &&o) noexcept
	: pid_(std::exchange(o.pid_, -1)), reaped_(std::exchange(o.reaped_, true)),
	  released_(o.released_), go_(std::move(o.go_)), exec_err_(std::move(o.exec_err_)),
	  pidfd_(std::move(o.pidfd_))
{
}

HeldChild::~HeldChild()
{
	if (reaped_ || pid_ <= 0)
		return;
	if (!released_) {
		go_.reset(); // the child sees EOF and exits 127
	} else {
		// The command may have work to save or children to stop:
		// SIGTERM first, SIGKILL only to one still running after the
		// grace period.
		kill(pid_, SIGTERM);
		if (!exits_within(kTerminateGrace))
			kill(pid_, SIGKILL);
	}
	int status;
	while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
	}
}

Status HeldChild::release()
{
	char c = 1;
	if (::write(go_.get(), &c, 1) != 1)
		return errno_error("cannot start the command", errno);
	released_ = true;
	go_.reset();
	int err = 0;
	ssize_t n;
	do
		n = ::read(exec_err_.get(), &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	exec_err_.reset();
	if (n == sizeof(err))
		return Error{std::string("cannot run the command: ") + std::strerror(err), err};
	return Ok{};
}

bool HeldChild::exits_within(std::chrono::milliseconds grace) const
{
	const auto deadline = std::chrono::steady_clock::now() + grace;
	for (;;) {
		// Rounded up, and again if poll() ends early: the command gets
		// all of @grace, not a millisecond less.
		const auto left = std::chrono::ceil<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		pollfd pfd = {pidfd_.get(), POLLIN, 0};
		const int n = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
		if (n > 0)
			return pfd.revents & POLLIN;
		if (n < 0 && errno != EINTR)
			return false;
		if (n == 0 && std::chrono::steady_clock::now() >= deadline)
			return false;
	}
}

Result<int> HeldChild::wait()
{
	int status;
	pid_t r;
	do
		r = waitpid(pid_, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno_error("waitpid", errno);
	reaped_ = true;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

} // namespace clonescope
