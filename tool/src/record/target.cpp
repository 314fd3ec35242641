#include "record/target.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <mntent.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

namespace clonescope {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool on_cgroup2(const std::string &path)
{
	struct statfs sfs;
	return statfs(path.c_str(), &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

std::optional<std::string> cgroup2_mount()
{
	std::FILE *mounts = setmntent("/proc/self/mounts", "r");
	if (!mounts)
		return std::nullopt;
	std::optional<std::string> dir;
	while (const mntent *m = getmntent(mounts)) {
		if (std::strcmp(m->mnt_type, "cgroup2") == 0) {
			dir = m->mnt_dir;
			break;
		}
	}
	endmntent(mounts);
	return dir;
}

Result<AttachedProcess> attach_process(uint32_t pid)
{
	const int fd = static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
	if (fd < 0) {
		if (errno == ESRCH)
			return Error{fmt::format("-p {}: no such process", pid), ESRCH};
		if (errno == EINVAL)
			return Error{fmt::format("-p {}: not a process id (a thread's?): give the "
						 "process's (its Tgid in /proc/{}/status)",
						 pid, pid),
				     EINVAL};
		return errno_error(fmt::format("-p {}: pidfd_open", pid), errno);
	}
	AttachedProcess p{pid, {}, UniqueFd(fd)};
	std::ifstream comm(fmt::format("/proc/{}/comm", pid));
	std::getline(comm, p.comm);
	return p;
}

} // namespace

Result<std::string> cgroup_dir_of(const std::string &path)
{
	std::error_code ec;
	if (fs::path(path).is_absolute() && fs::is_directory(path, ec) && on_cgroup2(path))
		return path;
	const auto mount = cgroup2_mount();
	if (!mount)
		return Error{fmt::format("-G {}: no cgroup v2 hierarchy is mounted", path), ENOENT};
	const std::string dir = (fs::path(*mount) / fs::path(path).relative_path()).string();
	if (!fs::is_directory(dir, ec))
		return Error{fmt::format("-G {}: no such cgroup ({} is not a directory)", path, dir),
			     ENOENT};
	return dir;
}

Result<uint64_t> cgroup_id_of(const std::string &dir)
{
	// cgroup2's file handle is the kernfs node id, which is cgroup_id().
	struct {
		file_handle fh;
		uint64_t id;
	} handle = {};
	handle.fh.handle_bytes = sizeof(handle.id);
	int mount_id;
	if (name_to_handle_at(AT_FDCWD, dir.c_str(), &handle.fh, &mount_id, 0) < 0)
		return errno_error("cannot get the id of cgroup " + dir, errno);
	if (handle.fh.handle_bytes != sizeof(handle.id))
		return Error{fmt::format("cgroup {}: unexpected file handle of {} bytes", dir,
					 handle.fh.handle_bytes)};
	uint64_t id;
	std::memcpy(&id, handle.fh.f_handle, sizeof(id));
	return id;
}

Result<Target> resolve_target(const TargetOptions &opts, std::optional<pid_t> command_root)
{
	Target t;
	clonescope_filter &f = t.filter;
	std::vector<uint32_t> roots = opts.pids;
	if (command_root && !opts.system_wide)
		roots.push_back(static_cast<uint32_t>(*command_root));
	if (roots.size() > CLONESCOPE_FILTER_MAX_TGIDS)
		return Error{fmt::format("-p: at most {} processes", CLONESCOPE_FILTER_MAX_TGIDS)};
	for (uint32_t pid : opts.pids) {
		auto p = attach_process(pid);
		if (!p)
			return p.error();
		t.attached.push_back(std::move(*p));
	}
	if (!roots.empty()) {
		f.flags |= opts.children ? CLONESCOPE_FILTER_TREE : CLONESCOPE_FILTER_TGID;
		f.nr_tgids = static_cast<uint32_t>(roots.size());
		std::copy(roots.begin(), roots.end(), f.tgids);
	}
	if (!opts.comm.empty()) {
		if (opts.comm.size() >= sizeof(f.comm))
			return Error{fmt::format("-c {}: a comm has at most {} characters (the kernel "
						 "truncates longer names)",
						 opts.comm, sizeof(f.comm) - 1)};
		f.flags |= CLONESCOPE_FILTER_COMM;
		std::memcpy(f.comm, opts.comm.data(), opts.comm.size());
	}
	if (!opts.cgroup.empty()) {
		auto dir = cgroup_dir_of(opts.cgroup);
		if (!dir)
			return dir.error();
		auto id = cgroup_id_of(*dir);
		if (!id)
			return id.error();
		t.cgroup_dir = *dir;
		t.cgroup_id = *id;
		f.flags |= CLONESCOPE_FILTER_CGROUP;
		f.cgroup_id = *id;
	}
	return t;
}

json Target::to_json(const TargetOptions &opts) const
{
	json j = {{"system_wide", opts.system_wide}, {"children", opts.children}};
	json pids = json::array();
	for (const auto &p : attached)
		pids.push_back({{"pid", p.pid}, {"comm", p.comm}});
	j["attached"] = pids;
	if (!opts.comm.empty())
		j["comm"] = opts.comm;
	if (!cgroup_dir.empty()) {
		j["cgroup"] = cgroup_dir;
		j["cgroup_id"] = cgroup_id;
	}
	return j;
}

std::vector<ProcessInfo> Target::roots(uint64_t now_ns) const
{
	std::vector<ProcessInfo> out;
	for (const auto &p : attached)
		out.push_back({p.pid, p.pid, 0, p.comm, now_ns});
	return out;
}

} // namespace clonescope
