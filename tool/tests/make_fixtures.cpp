// Writes the test fixtures into the directory given as argv[1]
// (tool/tests/fixtures): run it after changing fixture_data.cpp.

#include <cstdio>
#include <fmt/format.h>
#include <string>

#include "fixture_data.hpp"

namespace {

bool write_file(const std::string &path, const std::vector<std::byte> &bytes)
{
	std::FILE *f = std::fopen(path.c_str(), "wb");
	if (!f) {
		fmt::print(stderr, "cannot create {}\n", path);
		return false;
	}
	bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
	ok = std::fclose(f) == 0 && ok;
	if (!ok)
		fmt::print(stderr, "cannot write {}\n", path);
	return ok;
}

} // namespace

int main(int argc, char **argv)
{
	using namespace clonescope::fixtures;
	if (argc != 2) {
		fmt::print(stderr, "usage: {} DIR\n", argv[0]);
		return 2;
	}
	const std::string dir = argv[1];
	bool ok = write_file(dir + "/kernel_records.bin", kernel_stream()) &&
		  write_file(dir + "/user_records.cstu", user_stream()) &&
		  write_file(dir + "/trace.cst", trace_file());
	return ok ? 0 : 1;
}
