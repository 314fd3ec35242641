#include "report/report.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <functional>
#include <set>

#include "report/event_line.hpp"
#include "trace/names.hpp"
#include "util/csv.hpp"
#include "util/named.hpp"

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

// The CLONESCOPE_FEAT_* of the module that recorded @meta's trace.
uint64_t trace_features(const json &meta)
{
	return meta_u64(meta, "features").value_or(0);
}

std::vector<MetricDef> metric_defs(uint64_t features)
{
	std::vector<MetricDef> defs = {
		{"total", "ns", [](const Sample &s) { return s.kernel_ns(); }},
		{"user", "ns", [](const Sample &s) { return s.user_ns(); }},
		{"overhead", "ns", [](const Sample &s) { return s.overhead_ns(); }},
		{"wakeup", "ns", [](const Sample &s) { return s.wakeup_ns; }},
		{"cow_pages", "pages", [](const Sample &s) { return s.cow_pages(); }},
		{"cow_copy", "ns", [](const Sample &s) { return s.cow_copy_ns(); }},
	};
	// Each side of the fork apart: 4K copies, zero-page copies, THP faults
	// and hugetlb copies.
	for (auto side : {&clonescope_cow_event::child, &clonescope_cow_event::parent}) {
		const char *who = side == &clonescope_cow_event::child ? "child" : "parent";
		for (const auto &c : cow_counters()) {
			const auto counter = c.field;
			const bool faults = counter == &clonescope_cow_counts::thp_faults;
			if (!faults && counter != &clonescope_cow_counts::copied &&
			    counter != &clonescope_cow_counts::zero_copied &&
			    counter != &clonescope_cow_counts::hugetlb_copied)
				continue;
			defs.push_back({fmt::format("cow_{}_{}", who, c.name), faults ? "faults" : "pages",
					[side, counter](const Sample &s) -> std::optional<uint64_t> {
						if (!s.cow)
							return std::nullopt;
						return (s.cow->*side).*counter;
					}});
		}
	}
	defs.push_back({"fork_to_exec", "ns", [](const Sample &s) { return s.fork_to_exec_ns(); }});
	defs.push_back({"lifetime", "ns", [](const Sample &s) { return s.lifetime_ns(); }});
	defs.push_back({"zombie", "ns", [](const Sample &s) { return s.zombie_ns(); }});
	defs.push_back(
		{"self_cost", "ns",
		 [features](const Sample &s) { return s.self_cost_ns(features); }});
	for (uint32_t i = 0; i < CLONESCOPE_NR_PHASES; i++)
		defs.push_back({phase_name(i), "ns", [i](const Sample &s) -> std::optional<uint64_t> {
					const auto *k = s.primary();
					if (!k || !has_phase(*k, i))
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
		g.restarts += s->restarts();
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

std::vector<Group> group_by(const Correlation &corr, const std::vector<MetricDef> &defs,
			    const std::function<std::string(const Sample &)> &key_of)
{
	std::map<std::string, std::vector<const Sample *>> buckets;
	for (const auto &s : corr.samples)
		buckets[key_of(s)].push_back(&s);
	std::vector<Group> groups;
	for (const auto &[key, samples] : buckets)
		groups.push_back(make_group(key, samples, defs));
	std::stable_sort(groups.begin(), groups.end(),
			 [](const Group &a, const Group &b) { return a.count > b.count; });
	return groups;
}

// Each site group's address-level sites (user calls only).
void add_addresses(const Correlation &corr, SiteGrouping sites, std::vector<Group> &groups)
{
	std::map<std::string, std::set<std::string>> by_key;
	for (const auto &s : corr.samples)
		if (s.user)
			by_key[site_key(s, sites)].insert(s.site);
	for (auto &g : groups)
		if (auto it = by_key.find(g.key); it != by_key.end())
			g.addresses.assign(it->second.begin(), it->second.end());
}

const char *site_grouping_name(SiteGrouping g)
{
	static constexpr const char *names[] = {"line", "function", "address"};

	return enum_name(names, g);
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
	out += fmt::format("\n{}\n  kinds: {}   count: {}   matched: {}   failed: {}   "
			   "restarted: {}\n",
			   g.key, join(g.kinds, ","), g.count, g.matched, g.failures, g.restarts);
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

std::optional<Report::CowTotals> cow_total_of(const Trace &trace)
{
	std::optional<Report::CowTotals> total;
	for (const auto r : trace.kernel) {
		if (const auto *w = r.get_if<clonescope_cow_event>()) {
			// Not emplace(): clang 14 does not see a nested struct with
			// member initialisers as default-constructible here.
			if (!total)
				total = Report::CowTotals{};
			auto &t = *total;
			t.child = add_cow_counts(t.child, w->child);
			t.parent = add_cow_counts(t.parent, w->parent);
		}
	}
	return total;
}

json cow_counts_json(const clonescope_cow_counts &c)
{
	json j = json::object();
	for (const auto &f : cow_counters())
		j[f.name] = c.*f.field;
	return j;
}

json cow_total_json(const std::optional<Report::CowTotals> &t)
{
	if (!t)
		return nullptr;
	return {{"child", cow_counts_json(t->child)}, {"parent", cow_counts_json(t->parent)}};
}

std::optional<SelfCost> self_cost_of(const Trace &trace)
{
	const uint64_t features = trace_features(trace.meta);
	std::vector<uint64_t> costs, times;
	// Only the timed clones: the median of a sample, if the module sampled.
	for (const auto r : trace.kernel) {
		if (const auto *c = r.get_if<clonescope_clone_event>(); c && is_timed(*c, features)) {
			costs.push_back(c->self_cost_ns);
			times.push_back(c->end_ns - c->start_ns);
		}
	}
	auto cost = summarize(std::move(costs));
	auto time = summarize(std::move(times));
	if (!cost || !time)
		return std::nullopt;
	return SelfCost{*cost, *time};
}

std::string self_cost_text(const std::optional<SelfCost> &c)
{
	if (!c)
		return "clonescope cost: unavailable (no clone records, or the module does not "
		       "measure its self-cost)\n";
	return fmt::format("clonescope cost: {:.1f} us per clone (median self_cost_ns), {:.1f}% of "
			   "median clone time\n",
			   static_cast<double>(c->per_clone.p50) / 1e3,
			   c->percent_of_median_clone());
}

json self_cost_json(const std::optional<SelfCost> &c)
{
	if (!c)
		return nullptr;
	return {{"clones", c->per_clone.n},
		{"median_ns", c->per_clone.p50},
		{"p90_ns", c->per_clone.p90},
		{"max_ns", c->per_clone.max},
		{"median_clone_ns", c->clone_time.p50},
		{"percent_of_median_clone", c->percent_of_median_clone()}};
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
		{"restarts", g.restarts},
		{"failures_by_errno", errors},
		{"metrics", metrics},
		{"histogram_total_usecs", g.total_us.slots()}};
}

// "n,p50,p90,p99,max" of a CSV row; "0,,,," when unavailable.
std::string csv_values(const std::optional<Summary> &s)
{
	if (!s)
		return "0,,,,";
	return fmt::format("{},{},{},{},{}", s->n, s->p50, s->p90, s->p99, s->max);
}

// "attached: ..." for a trace of running processes (-p, -a), else "".
std::string target_text(const json &meta)
{
	const auto t = meta.find("target");
	if (t == meta.end() || !t->is_object())
		return {};
	auto flag = [&t](const char *key) {
		const auto v = t->find(key);
		return v != t->end() && v->is_boolean() && v->get<bool>();
	};
	auto text = [&t](const char *key) {
		const auto v = t->find(key);
		return v != t->end() && v->is_string() ? v->get<std::string>() : std::string();
	};
	std::string what;
	if (flag("system_wide"))
		what = "system-wide";
	if (const auto a = t->find("attached"); a != t->end() && a->is_array() && !a->empty()) {
		std::vector<std::string> procs;
		for (const auto &p : *a)
			if (p.is_object() && p.contains("pid") && p["pid"].is_number_unsigned())
				procs.push_back(fmt::format("{} ({})", p["pid"].get<uint32_t>(),
							    p.contains("comm") && p["comm"].is_string()
								    ? p["comm"].get<std::string>()
								    : "?"));
		what = fmt::format("pid {}{}", join(procs, ", "),
				   flag("children") ? " and the tasks they created" : " alone");
	}
	if (what.empty())
		return {};
	if (const auto comm = text("comm"); !comm.empty())
		what += fmt::format(", comm {}", comm);
	if (const auto cg = text("cgroup"); !cg.empty())
		what += fmt::format(", cgroup {}", cg);
	return fmt::format("attached: {} (no user-side shim in running processes)\n", what);
}

} // namespace

double SelfCost::percent_of_median_clone() const
{
	if (clone_time.p50 == 0)
		return 0;
	return 100.0 * static_cast<double>(per_clone.p50) / static_cast<double>(clone_time.p50);
}

Report build_report(const Trace &trace, const Correlation &corr, SiteGrouping sites)
{
	Report r;
	r.meta = trace.meta;
	r.user_calls = corr.user_calls;
	r.user_matched = corr.user_matched;
	r.kernel_clones = corr.kernel_clones;
	r.kernel_matched = corr.kernel_matched;
	r.kernel_restarts = corr.kernel_restarts;
	r.child_starts = corr.child_starts;
	r.cow_records = corr.cow_records;
	r.lifecycle_records = corr.lifecycle_records;
	r.lost = corr.lost;
	r.cow_total = cow_total_of(trace);
	r.self_cost = self_cost_of(trace);
	const auto defs = metric_defs(trace_features(trace.meta));
	r.by_kind = group_by(corr, defs, [](const Sample &s) { return s.kind; });
	r.site_grouping = sites;
	r.by_site = group_by(corr, defs, [sites](const Sample &s) { return site_key(s, sites); });
	add_addresses(corr, sites, r.by_site);
	r.pid_namespaces = foreign_pid_namespaces(trace.kernel);
	return r;
}

std::string render_text(const Report &r, bool histograms)
{
	std::string out;
	if (r.meta.contains("command"))
		out += fmt::format("command: {}\n", join(r.meta["command"].get<std::vector<std::string>>(), " "));
	out += target_text(r.meta);
	out += fmt::format("user calls: {} ({} matched a kernel record, {} unmatched)\n", r.user_calls,
			   r.user_matched, r.user_calls - r.user_matched);
	out += fmt::format("kernel clones: {} ({} matched a user call, {} without one: raw "
			   "syscalls or untraced programs)\n",
			   r.kernel_clones, r.kernel_matched, r.kernel_clones - r.kernel_matched);
	out += fmt::format("restarted clones: {} (ERESTARTNOINTR: the kernel retried the syscall; "
			   "not failures)\n",
			   r.kernel_restarts);
	out += fmt::format("child first runs: {}   COW records: {}   lifecycle records: {}   "
			   "records lost: {}\n",
			   r.child_starts, r.cow_records, r.lifecycle_records, r.lost);
	if (r.cow_total)
		out += fmt::format("COW of all forks: children {}, parents {}, copying took {}\n",
				   format_cow_counts(r.cow_total->child),
				   format_cow_counts(r.cow_total->parent),
				   format_duration(r.cow_total->child.copy_ns +
						   r.cow_total->parent.copy_ns));
	out += "\n=== by kind ===\n";
	for (const auto &g : r.by_kind)
		render_group_text(out, g, histograms);
	out += fmt::format("\n=== by call site ({}) ===\n", site_grouping_name(r.site_grouping));
	for (const auto &g : r.by_site) {
		render_group_text(out, g, false);
		if (g.addresses.size() > 1)
			out += fmt::format("  {} return addresses: {}\n", g.addresses.size(),
					   join(g.addresses, ", "));
	}
	out += pid_namespaces_text(r.pid_namespaces);
	out += "\n" + self_cost_text(r.self_cost);
	return out;
}

json render_json(const Report &r)
{
	json by_kind = json::array(), by_site = json::array();
	for (const auto &g : r.by_kind)
		by_kind.push_back(group_json(g));
	for (const auto &g : r.by_site) {
		by_site.push_back(group_json(g));
		by_site.back()["addresses"] = g.addresses;
	}
	return {{"meta", r.meta},
		{"correlation",
		 {{"user_calls", r.user_calls},
		  {"user_matched", r.user_matched},
		  {"user_unmatched", r.user_calls - r.user_matched},
		  {"kernel_clones", r.kernel_clones},
		  {"kernel_matched", r.kernel_matched},
		  {"kernel_unmatched", r.kernel_clones - r.kernel_matched},
		  {"kernel_restarts", r.kernel_restarts},
		  {"child_starts", r.child_starts},
		  {"cow_records", r.cow_records},
		  {"lifecycle_records", r.lifecycle_records},
		  {"lost", r.lost}}},
		{"self_cost", self_cost_json(r.self_cost)},
		{"cow", cow_total_json(r.cow_total)},
		{"by_kind", by_kind},
		{"site_grouping", site_grouping_name(r.site_grouping)},
		{"by_site", by_site},
		{"pid_namespaces", pid_namespaces_json(r.pid_namespaces)}};
}

std::string render_csv(const Report &r)
{
	std::string out = "group_by,key,kinds,count,matched,failures,restarts,metric,unit,n,p50,p90,"
			  "p99,max\n";
	auto rows = [&out](const char *by, const std::vector<Group> &groups) {
		for (const auto &g : groups)
			for (const auto &m : g.metrics) {
				out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", by,
						   csv_field(g.key), csv_field(join(g.kinds, " ")),
						   g.count, g.matched, g.failures, g.restarts, m.name,
						   m.unit, csv_values(m.summary));
			}
	};
	rows("kind", r.by_kind);
	rows("site", r.by_site);
	// The self-cost summary: two rows over all clone records, whose p50s
	// give the percentage (self_cost p50 / clone_time p50).
	if (r.self_cost) {
		const size_t n = r.self_cost->per_clone.n;
		out += fmt::format("trace,all,,{},,,,self_cost,ns,{}\n", n,
				   csv_values(r.self_cost->per_clone));
		out += fmt::format("trace,all,,{},,,,clone_time,ns,{}\n", n,
				   csv_values(r.self_cost->clone_time));
	}
	return out;
}

} // namespace clonescope
