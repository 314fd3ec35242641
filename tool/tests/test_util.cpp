#include "test_util.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
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

Trace fixture_trace()
{
	auto t = parse_trace(read_fixture("trace.cst"));
	EXPECT_TRUE(t.ok()) << t.error().message;
	return t ? std::move(*t) : Trace{};
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
