#pragma once
// The LD_PRELOAD shim's side of a traced command (record, top --by site):
// the environment that injects it, the private directory its per-process
// files go to (tool/preload/user_trace.h), and reading those files.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trace/trace_file.hpp"
#include "util/result.hpp"

namespace clonescope {

// A private directory for the shim's per-process files, removed at the end.
class TempDir {
public:
	static Result<TempDir> create();
	TempDir(TempDir &&o) noexcept : path_(std::exchange(o.path_, {})) {}
	TempDir &operator=(TempDir &&) = delete;
	~TempDir();
	const std::string &path() const { return path_; }

private:
	explicit TempDir(std::string p) : path_(std::move(p)) {}
	std::string path_;
};

// The shim set up for a command: run it with @env added.
struct Shim {
	std::vector<std::string> env; // LD_PRELOAD (after any already set), CLONESCOPE_USER_TRACE
	TempDir dir;
};

// Sets up the shim at @path (empty: libclonescope-preload.so next to this
// executable). An error when @path was given but cannot be read, or when
// the shim is @required and missing; nullopt, with a warning printed, when
// the default one is missing and not required.
Result<std::optional<Shim>> prepare_shim(const std::string &path, bool required);

// Every file in @dir, each parsed into @user (a broken one is reported and
// skipped) and returned verbatim for the trace file.
std::vector<std::vector<std::byte>> collect_user_streams(const std::string &dir, Trace &user);

// Follows the files in a shim directory while the command runs.
class UserStreamFollower {
public:
	explicit UserStreamFollower(std::string dir) : dir_(std::move(dir)) {}

	// Adds the images that appeared since the last call to @user.images,
	// refreshes the mappings of known ones (dlopen), and replaces
	// @user.calls with the calls written since the last call.  A file
	// that does not parse (yet) is retried next time; with @last, it is
	// reported.
	void update(Trace &user, bool last = false);

private:
	struct Followed {
		uint32_t image; // index into Trace::images
		size_t calls;	// calls already returned
	};
	std::string dir_;
	std::map<std::string, Followed> files_;
};

} // namespace clonescope
