#include "report/report.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <set>

#include "report/event_line.hpp"
#include "trace/names.hpp"

namespace clonescope {

namespace {

using json = nlohmann::json;

// A metric's value for one sample, nullopt when not measured.
using Extract = std::function<std::optional<uint64_t>(const Sample &)>;

struct MetricDef {
	std::string name;
	std::string unit;
	Extract extract;
};

std::vector<MetricDef> metric_defs()
{
	std::vector<MetricDef> defs = {
		{"total", "ns", [](const Sample &s) { return s.kernel_ns(); }},
		{"user", "ns", [](const Sample &s) { return s.user_ns(); }},
		{"overhead", "ns", [](const Sample &s) { return s.overhead_ns(); }},
		{"wakeup", "ns", [](const Sample &s) { return s.wakeup_ns; }},
		{"cow_pages", "pages", [](const Sample &s) { return s.cow_pages(); }},
		{"cow_copy", "ns", [](const Sample &s) { return s.cow_copy_ns(); }},
	};
	for (uint32_t i = 0; i < CLONESCOPE_NR_PHASES; i++)
		defs.push_back({phase_name(i), "ns", [i](const Sample &s) -> std::optional<uint64_t> {
					const auto *k = s.primary();
					if (!k || !(k->phase_mask & (1ULL << i)))
						return std::nullopt;
					return k->phases[i].duration_ns;
				}});
	return defs;
}

Group make_group(const std::string &key, const std::vector<const Sample *> &samples,
		 const std::vector<MetricDef> &defs)
{
	Group g;
	g.key = key;
	std::set<std::string> kinds;
	for (const auto *s : samples) {
		g.count++;
		kinds.insert(s->kind);
		g.matched += s->user && !s->kernel.empty();
		if (int e = s->error()) {
			g.failures++;
			g.errors[e]++;
		}
		if (auto t = s->kernel_ns())
			g.total_us.add(*t / 1000);
	}
	g.kinds.assign(kinds.begin(), kinds.end());
	for (const auto &d : defs) {
		std::vector<uint64_t> values;
		for (const auto *s : samples)
			if (auto v = d.extract(*s))
				values.push_back(*v);
		g.metrics.push_back({d.name, d.unit, summarize(std::move(values))});
	}
	return g;
}

std::vector<Group> group_by(const Correlation &corr,
			    const std::function<std::string(const Sample &)> &key_of)
{
	std::map<std::string, std::vector<const Sample *>> buckets;
	for (const auto &s : corr.samples)
		buckets[key_of(s)].push_back(&s);
	const auto defs = metric_defs();
	std::vector<Group> groups;
	for (const auto &[key, samples] : buckets)
		groups.push_back(make_group(key, samples, defs));
	std::stable_sort(groups.begin(), groups.end(),
			 [](const Group &a, const Group &b) { return a.count > b.count; });
	return groups;
}

std::string join(const std::vector<std::string> &v, const char *sep)
{
	std::string out;
	for (const auto &s : v)
		out += (out.empty() ? "" : sep) + s;
	return out;
}

std::string error_label(int err)
{
	return fmt::format("{} ({})", errno_name(err), std::strerror(err));
}

void render_group_text(std::string &out, const Group &g, bool histogram)
{
	out += fmt::format("\n{}\n  kinds: {}   count: {}   matched: {}   failed: {}\n", g.key,
			   join(g.kinds, ","), g.count, g.matched, g.failures);
	for (const auto &[err, n] : g.errors)
		out += fmt::format("    failed with {}: {}\n", error_label(err), n);
	out += fmt::format("  {:<18} {:>7} {:>10} {:>10} {:>10} {:>10}\n", "metric", "n", "p50",
			   "p90", "p99", "max");
	std::vector<std::string> unavailable;
	for (const auto &m : g.metrics) {
		if (!m.summary) {
			unavailable.push_back(m.name);
			continue;
		}
		const Summary &s = *m.summary;
		auto value = [&m](uint64_t v) {
			return m.unit == "ns" ? format_duration(v) : fmt::format("{}", v);
		};
		out += fmt::format("  {:<18} {:>7} {:>10} {:>10} {:>10} {:>10}\n", m.name, s.n,
				   value(s.p50), value(s.p90), value(s.p99), value(s.max));
	}
	if (!unavailable.empty())
		out += fmt::format("  unavailable: {}\n", join(unavailable, ", "));
	if (histogram) {
		std::string h = format_log2_hist(g.total_us, "usecs");
		if (!h.empty())
			out += "\n  total (kernel):\n" + h;
	}
}

json metric_json(const Metric &m)
{
	if (!m.summary)
		return nullptr; // unavailable, never 0
	const Summary &s = *m.summary;
	return {{"unit", m.unit}, {"n", s.n},	  {"min", s.min}, {"p50", s.p50},
		{"p90", s.p90},	  {"p99", s.p99}, {"max", s.max}};
}

json group_json(const Group &g)
{
	json errors = json::object();
	for (const auto &[err, n] : g.errors)
		errors[errno_name(err)] = {{"count", n}, {"message", std::strerror(err)}};
	json metrics = json::object();
	for (const auto &m : g.metrics)
		metrics[m.name] = metric_json(m);
	return {{"key", g.key},
		{"kinds", g.kinds},
		{"count", g.count},
		{"matched", g.matched},
		{"failures", g.failures},
		{"failures_by_errno", errors},
		{"metrics", metrics},
		{"histogram_total_usecs", g.total_us.slots()}};
}

// RFC 4180 quoting.
std::string csv_field(const std::string &s)
{
	if (s.find_first_of(",\"\n") == std::string::npos)
		return s;
	std::string q = "\"";
	for (char c : s)
		q += c == '"' ? std::string("\"\"") : std::string(1, c);
	return q + "\"";
}

} // namespace

Report build_report(const Trace &trace, const Correlation &corr)
{
	Report r;
	r.meta = trace.meta;
	r.user_calls = corr.user_calls;
	r.user_matched = corr.user_matched;
	r.kernel_clones = corr.kernel_clones;
	r.kernel_matched = corr.kernel_matched;
	r.child_starts = corr.child_starts;
	r.cow_records = corr.cow_records;
	r.lost = corr.lost;
	r.by_kind = group_by(corr, [](const Sample &s) { return s.kind; });
	r.by_site = group_by(corr, [](const Sample &s) { return s.site; });
	return r;
}

std::string render_text(const Report &r, bool histograms)
{
	std::string out;
	if (r.meta.contains("command"))
		out += fmt::format("command: {}\n", join(r.meta["command"].get<std::vector<std::string>>(), " "));
	out += fmt::format("user calls: {} ({} matched a kernel record, {} unmatched)\n", r.user_calls,
			   r.user_matched, r.user_calls - r.user_matched);
	out += fmt::format("kernel clones: {} ({} matched a user call, {} without one: raw "
			   "syscalls or untraced programs)\n",
			   r.kernel_clones, r.kernel_matched, r.kernel_clones - r.kernel_matched);
	out += fmt::format("child first runs: {}   COW records: {}   records lost: {}\n",
			   r.child_starts, r.cow_records, r.lost);
	out += "\n=== by kind ===\n";
	for (const auto &g : r.by_kind)
		render_group_text(out, g, histograms);
	out += "\n=== by call site ===\n";
	for (const auto &g : r.by_site)
		render_group_text(out, g, false);
	return out;
}

json render_json(const Report &r)
{
	json by_kind = json::array(), by_site = json::array();
	for (const auto &g : r.by_kind)
		by_kind.push_back(group_json(g));
	for (const auto &g : r.by_site)
		by_site.push_back(group_json(g));
	return {{"meta", r.meta},
		{"correlation",
		 {{"user_calls", r.user_calls},
		  {"user_matched", r.user_matched},
		  {"user_unmatched", r.user_calls - r.user_matched},
		  {"kernel_clones", r.kernel_clones},
		  {"kernel_matched", r.kernel_matched},
		  {"kernel_unmatched", r.kernel_clones - r.kernel_matched},
		  {"child_starts", r.child_starts},
		  {"cow_records", r.cow_records},
		  {"lost", r.lost}}},
		{"by_kind", by_kind},
		{"by_site", by_site}};
}

std::string render_csv(const Report &r)
{
	std::string out = "group_by,key,kinds,count,matched,failures,metric,unit,n,p50,p90,p99,max\n";
	auto rows = [&out](const char *by, const std::vector<Group> &groups) {
		for (const auto &g : groups)
			for (const auto &m : g.metrics) {
				out += fmt::format("{},{},{},{},{},{},{},{},", by, csv_field(g.key),
						   csv_field(join(g.kinds, " ")), g.count, g.matched,
						   g.failures, m.name, m.unit);
				if (m.summary)
					out += fmt::format("{},{},{},{},{}\n", m.summary->n,
							   m.summary->p50, m.summary->p90,
							   m.summary->p99, m.summary->max);
				else
					out += "0,,,,\n";
			}
	};
	rows("kind", r.by_kind);
	rows("site", r.by_site);
	return out;
}

} // namespace clonescope
