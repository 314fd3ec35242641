#include "record/shim.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>

#include "user_trace.h"

namespace clonescope {

namespace fs = std::filesystem;

namespace {

std::string default_preload_path()
{
	std::error_code ec;
	fs::path exe = fs::read_symlink("/proc/self/exe", ec);
	if (ec)
		return {};
	return (exe.parent_path() / "libclonescope-preload.so").string();
}

// The shim's files in @dir, in name order (pid, then start time).
std::vector<fs::path> user_files(const std::string &dir)
{
	std::vector<fs::path> files;
	std::error_code ec;
	for (const auto &e : fs::directory_iterator(dir, ec))
		if (e.path().extension() == CS_USER_FILE_SUFFIX)
			files.push_back(e.path());
	std::sort(files.begin(), files.end());
	return files;
}

std::optional<std::vector<std::byte>> read_bytes(const fs::path &f)
{
	std::FILE *fp = std::fopen(f.c_str(), "rb");
	if (!fp)
		return std::nullopt;
	std::vector<std::byte> bytes;
	std::byte chunk[8192];
	size_t n;
	while ((n = std::fread(chunk, 1, sizeof(chunk), fp)) > 0)
		bytes.insert(bytes.end(), chunk, chunk + n);
	std::fclose(fp);
	return bytes;
}

void warn_skipped(const fs::path &f, const Error &e)
{
	fmt::print(stderr, "clonescope: skipping {}: {}\n", f.filename().string(), e.message);
}

} // namespace

Result<TempDir> TempDir::create()
{
	std::string tmpl = (fs::temp_directory_path() / "clonescope-user.XXXXXX").string();
	if (!mkdtemp(tmpl.data()))
		return errno_error("cannot create a directory for user-side traces", errno);
	// Traced programs may change uid: let anyone add files, as /tmp does.
	chmod(tmpl.c_str(), 01777);
	return TempDir(tmpl);
}

TempDir::~TempDir()
{
	if (!path_.empty()) {
		std::error_code ec;
		fs::remove_all(path_, ec);
	}
}

Result<std::optional<Shim>> prepare_shim(const std::string &path, bool required)
{
	const std::string lib = path.empty() ? default_preload_path() : path;
	if (::access(lib.c_str(), R_OK) != 0) {
		if (!path.empty())
			return errno_error("preload library " + lib, errno);
		if (required)
			return Error{fmt::format("{} not found: call sites need the user-side shim "
						 "(give its path with --preload)",
						 lib)};
		fmt::print(stderr, "clonescope: {} not found: recording kernel events only\n", lib);
		return std::optional<Shim>();
	}
	auto dir = TempDir::create();
	if (!dir)
		return dir.error();
	const char *old = getenv("LD_PRELOAD");
	std::vector<std::string> env{
		fmt::format("LD_PRELOAD={}{}{}", old ? old : "", old && *old ? ":" : "", lib),
		"CLONESCOPE_USER_TRACE=" + dir->path()};
	return std::optional<Shim>(Shim{std::move(env), std::move(*dir)});
}

std::vector<std::vector<std::byte>> collect_user_streams(const std::string &dir, Trace &user)
{
	std::vector<std::vector<std::byte>> streams;
	for (const auto &f : user_files(dir)) {
		auto bytes = read_bytes(f);
		if (!bytes)
			continue;
		if (auto st = parse_user_stream(*bytes, 0, user); !st) {
			warn_skipped(f, st.error());
			continue;
		}
		streams.push_back(std::move(*bytes));
	}
	return streams;
}

void UserStreamFollower::update(Trace &user, bool last)
{
	user.calls.clear();
	for (const auto &f : user_files(dir_)) {
		auto bytes = read_bytes(f);
		if (!bytes)
			continue;
		// The whole file again: its header and maps come first, and a
		// file holds one image's calls, a few dozen bytes each.
		Trace file;
		if (auto st = parse_user_stream(*bytes, 0, file); !st) {
			if (last)
				warn_skipped(f, st.error());
			continue;
		}
		auto [it, added] = files_.try_emplace(
			f.string(), Followed{static_cast<uint32_t>(user.images.size()), 0});
		Followed &seen = it->second;
		if (added)
			user.images.push_back(std::move(file.images[0]));
		else
			user.images[seen.image].maps = std::move(file.images[0].maps);
		for (size_t i = seen.calls; i < file.calls.size(); i++) {
			file.calls[i].image = seen.image;
			user.calls.push_back(file.calls[i]);
		}
		seen.calls = file.calls.size();
	}
}

} // namespace clonescope
