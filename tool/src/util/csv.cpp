#include "util/csv.hpp"

#include <unordered_map>

namespace clonescope {

namespace {

using ojson = nlohmann::ordered_json;

std::string scalar_text(const ojson &v)
{
	if (v.is_null())
		return "";
	if (v.is_string())
		return v.get<std::string>();
	return v.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

void flatten_into(const ojson &j, const std::string &prefix,
		  std::vector<std::pair<std::string, std::string>> &out)
{
	if (j.is_object()) {
		for (const auto &[key, value] : j.items())
			flatten_into(value, prefix.empty() ? key : prefix + "." + key, out);
		return;
	}
	if (j.is_array()) {
		std::string joined;
		for (const auto &v : j)
			joined += (joined.empty() ? "" : "|") + scalar_text(v);
		out.emplace_back(prefix, joined);
		return;
	}
	out.emplace_back(prefix, scalar_text(j));
}

} // namespace

std::vector<std::pair<std::string, std::string>> flatten(const ojson &j)
{
	std::vector<std::pair<std::string, std::string>> out;
	flatten_into(j, "", out);
	return out;
}

std::string csv_field(const std::string &s)
{
	if (s.find_first_of(",\"\r\n") == std::string::npos)
		return s;
	std::string q = "\"";
	for (char c : s)
		q += c == '"' ? std::string("\"\"") : std::string(1, c);
	return q + "\"";
}

std::string csv_line(const std::vector<std::string> &fields)
{
	std::string line;
	for (size_t i = 0; i < fields.size(); i++)
		line += (i ? "," : "") + csv_field(fields[i]);
	return line + "\n";
}

std::string csv_row(const ojson &j, const std::vector<std::string> &columns)
{
	std::unordered_map<std::string, std::string> leaves;
	for (auto &[key, value] : flatten(j))
		leaves.emplace(std::move(key), std::move(value));
	std::vector<std::string> fields;
	fields.reserve(columns.size());
	for (const auto &c : columns) {
		auto it = leaves.find(c);
		fields.push_back(it == leaves.end() ? std::string() : it->second);
	}
	return csv_line(fields);
}

} // namespace clonescope
