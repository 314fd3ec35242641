#include "test_util.hpp"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace clonescope::testing {

std::vector<std::byte> read_fixture(const std::string &name)
{
	const std::string path = std::string(CLONESCOPE_FIXTURE_DIR) + "/" + name;
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw std::runtime_error("missing fixture " + path);
	std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	std::vector<std::byte> bytes(chars.size());
	for (size_t i = 0; i < chars.size(); i++)
		bytes[i] = static_cast<std::byte>(chars[i]);
	return bytes;
}

} // namespace clonescope::testing
