#include "test_util.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <iterator>
#include <stdexcept>

namespace clonescope::testing {

std::vector<std::byte> read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	std::vector<std::byte> bytes(chars.size());
	std::memcpy(bytes.data(), chars.data(), chars.size());
	return bytes;
}

std::vector<std::byte> read_fixture(const std::string &name)
{
	const std::string path = std::string(CLONESCOPE_FIXTURE_DIR) + "/" + name;
	if (!std::ifstream(path, std::ios::binary))
		throw std::runtime_error("missing fixture " + path);
	return read_file(path);
}

int run_program(const std::vector<std::string> &argv, std::string &err)
{
	char err_path[] = "/tmp/clonescope-test-stderr.XXXXXX";
	const int err_fd = mkstemp(err_path);
	if (err_fd < 0)
		return -1;
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
	std::vector<std::string> args = argv;
	std::vector<char *> cargv;
	for (auto &a : args)
		cargv.push_back(a.data());
	cargv.push_back(nullptr);
	char *envp[] = {nullptr};
	pid_t pid;
	int status = -1;
	const bool ran = posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), envp) == 0 &&
			 waitpid(pid, &status, 0) == pid;
	posix_spawn_file_actions_destroy(&actions);
	close(err_fd);
	std::ifstream in(err_path);
	err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
	std::remove(err_path);
	if (!ran)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Trace fixture_trace()
{
	auto t = parse_trace(read_fixture("trace.cst"));
	EXPECT_TRUE(t.ok()) << t.error().message;
	return t ? std::move(*t) : Trace{};
}

std::vector<KernelRecord> records_of(const KernelRecords &records)
{
	return {records.begin(), records.end()};
}

std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> lines;
	std::istringstream in(text);
	for (std::string l; std::getline(in, l);)
		lines.push_back(l);
	return lines;
}

} // namespace clonescope::testing
