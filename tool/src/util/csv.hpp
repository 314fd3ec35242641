#pragma once
// CSV (RFC 4180) from the objects the JSON back end prints.

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace clonescope {

// The leaves of @j as ("a.b", text): nested objects' keys joined with '.',
// strings as they are, numbers in decimal, booleans as true/false, arrays
// of scalars joined with '|', null as "".
std::vector<std::pair<std::string, std::string>> flatten(const nlohmann::ordered_json &j);

// @s quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string &s);

// One line: @fields quoted and joined with ',', then '\n'.
std::string csv_line(const std::vector<std::string> &fields);

// The line of @j's leaves in the order of @columns; a column @j lacks is "".
std::string csv_row(const nlohmann::ordered_json &j, const std::vector<std::string> &columns);

} // namespace clonescope
