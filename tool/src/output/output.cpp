#include "output/output.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <ostream>

#include "output/fields.hpp"
#include "report/event_line.hpp"
#include "trace/names.hpp"
#include "util/csv.hpp"
#include "util/named.hpp"

namespace clonescope {

namespace {

// stat's and top's columns.
constexpr const char *kColumns =
	"{:>8} {:>6} {:>6} {:>6} {:>6} {:>5} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7}";

std::string pct(const std::optional<Summary> &s, uint64_t Summary::*field)
{
	return s ? format_duration((*s).*field) : std::string("-");
}

std::string columns_header()
{
	return fmt::format(kColumns, "CLONES/s", "FORK", "VFORK", "THREAD", "OTHER", "FAIL", "RSTRT",
			   "p50", "p99", "max", "WAKEp50", "COWpg");
}

std::string columns(const IntervalStats &l, double seconds)
{
	return fmt::format(kColumns, fmt::format("{:.1f}", static_cast<double>(l.clones) / seconds),
			   l.fork, l.vfork, l.thread, l.other(), l.failed, l.restarted,
			   pct(l.total, &Summary::p50), pct(l.total, &Summary::p99),
			   pct(l.total, &Summary::max), pct(l.wakeup, &Summary::p50),
			   l.cow_pages ? fmt::format("{}", *l.cow_pages) : std::string("-"));
}

template <size_t N>
std::string cstr(const char (&s)[N])
{
	return std::string(s, strnlen(s, N));
}

class TextOutput : public Output {
public:
	TextOutput(std::ostream &out, OutputOptions opts) : out_(out), opts_(opts) {}

	void event(const Event &ev, const EventContext &ctx) override
	{
		if (!ev.record) {
			out_ << format_lone_call(*ev.call, ev.site, ctx.t0_ns) << '\n';
			return;
		}
		out_ << format_record(ev.record, ctx.t0_ns) << '\n';
		if (ev.call)
			out_ << format_joined_call(*ev.call, ev.site) << '\n';
	}

	void report(const Report &report) override { out_ << render_text(report, opts_.histograms); }

	void interval(const IntervalView &v) override
	{
		if (!header_done_) {
			out_ << fmt::format("{:<8} {} {:>5}\n", "TIME", columns_header(), "LOST");
			header_done_ = true;
		}
		out_ << fmt::format("{:<8} {} {:>5}{}\n", v.clock, columns(v.stats, v.seconds), v.lost,
				    v.partial ? fmt::format("  (last {:.1f}s)", v.seconds) : "");
	}

	void top(const TopView &v) override
	{
		if (opts_.redraw)
			out_ << "\033[H\033[2J";
		out_ << fmt::format("clonescope top - {}   {:.1f} clones/s   lost {}{}\n\n", v.clock,
				    static_cast<double>(v.clones) / v.seconds, v.lost,
				    v.partial ? fmt::format("   (last {:.1f}s)", v.seconds) : "");
		// A call site is long: last, as perf report prints symbols.
		if (v.by == TopGrouping::site)
			out_ << fmt::format("{} SITE\n", columns_header());
		else
			out_ << fmt::format("{:<16} {}\n",
					    v.by == TopGrouping::kind ? "KIND" : "COMM",
					    columns_header());
		for (const auto &[key, stats] : v.rows)
			out_ << (v.by == TopGrouping::site
					 ? fmt::format("{} {}\n", columns(stats, v.seconds), key)
					 : fmt::format("{:<16} {}\n", key, columns(stats, v.seconds)));
		if (!opts_.redraw)
			out_ << '\n';
	}

	void status(const StatusView &v) override
	{
		const clonescope_stats &s = v.stats;
		out_ << fmt::format("module ABI:  {}.{} (tool built for {}.{})\n", v.abi.major,
				    v.abi.minor, CLONESCOPE_ABI_MAJOR, CLONESCOPE_ABI_MINOR);
		out_ << fmt::format("features:    {}\n", fmt::join(feature_names(v.abi.features), " "));
		out_ << fmt::format("tracing:     {}, {} CPU buffers of {} pages\n",
				    s.enabled ? "enabled" : "disabled", s.nr_cpus, s.pages_per_cpu);
		// Counters of the current (or last) tracing session.
		out_ << fmt::format("records:     produced {}, delivered {}, dropped {}, in-flight "
				    "overflow {}\n",
				    s.produced, s.delivered, s.dropped, s.inflight_overflow);
		out_ << fmt::format("handlers:    {} calls, {} ns", s.handler_calls, s.handler_ns);
		if (s.cost_sampled)
			out_ << fmt::format(" (estimated from {} timed calls)", s.timed_calls);
		if (s.clones)
			out_ << fmt::format(", {} ns per clone over {} clones\n", s.handler_ns / s.clones,
					    s.clones);
		else
			out_ << ", no clones traced yet\n";

		constexpr const char *kProbeRow =
			"{:>3} {:<32} {:<26} {:<16} {:<12} {:<8} {:>10} {:>8} {:>8}\n";
		out_ << '\n'
		     << fmt::format(kProbeRow, "#", "SYMBOL", "ROLE", "KIND", "STATE", "ERROR", "HITS",
				    "MISSED", "NS/HIT");
		for (size_t i = 0; i < v.probes.size(); i++) {
			const auto &p = v.probes[i];
			const std::string err = p.error ? errno_name(-p.error) : "-";
			const std::string per_hit =
				p.hits ? fmt::format("{}", p.handler_ns / p.hits) : "-";
			out_ << fmt::format(kProbeRow, i, cstr(p.symbol), cstr(p.role),
					    probe_kind_name(p), probe_state_name(p.state), err, p.hits,
					    p.nmissed, per_hit);
		}
	}

private:
	std::ostream &out_;
	OutputOptions opts_;
	bool header_done_ = false; // stat's column header
};

// A name read from a trace is any bytes the kernel copied from a task: a
// name that is not UTF-8 is printed with U+FFFD, never thrown on.
template <typename Json> std::string dump_json(const Json &j, int indent = -1)
{
	return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

class JsonOutput : public Output {
public:
	explicit JsonOutput(std::ostream &out) : out_(out) {}

	void event(const Event &ev, const EventContext &ctx) override
	{
		out_ << dump_json(event_json(ev, ctx)) << '\n';
	}
	void report(const Report &report) override { out_ << dump_json(render_json(report), 2) << '\n'; }
	void interval(const IntervalView &v) override { out_ << dump_json(interval_json(v)) << '\n'; }
	void top(const TopView &v) override { out_ << dump_json(top_json(v)) << '\n'; }
	void status(const StatusView &v) override { out_ << dump_json(status_json(v), 2) << '\n'; }

private:
	std::ostream &out_;
};

class CsvOutput : public Output {
public:
	explicit CsvOutput(std::ostream &out) : out_(out) {}

	void event(const Event &ev, const EventContext &ctx) override
	{
		row(event_json(ev, ctx), event_columns());
	}
	void report(const Report &report) override { out_ << render_csv(report); }
	void interval(const IntervalView &v) override { row(interval_json(v)); }
	void top(const TopView &v) override
	{
		for (size_t i = 0; i < v.rows.size(); i++)
			row(top_row_json(v, i));
	}
	void status(const StatusView &v) override
	{
		for (size_t i = 0; i < v.probes.size(); i++)
			row(probe_json(static_cast<uint32_t>(i), v.probes[i]));
	}

private:
	// A row of @j's leaves under @columns, or the first row's own keys;
	// the header goes out before the first row.
	void row(const nlohmann::ordered_json &j, const std::vector<std::string> &columns = {})
	{
		if (columns_.empty()) {
			if (columns.empty())
				for (const auto &[key, value] : flatten(j))
					columns_.push_back(key);
			else
				columns_ = columns;
			out_ << csv_line(columns_);
		}
		out_ << csv_row(j, columns_);
	}

	std::ostream &out_;
	std::vector<std::string> columns_;
};

} // namespace

const char *top_grouping_name(TopGrouping by)
{
	static constexpr const char *names[] = {"comm", "kind", "site"};

	return enum_name(names, by);
}

std::unique_ptr<Output> make_output(Format format, std::ostream &out, OutputOptions opts)
{
	switch (format) {
	case Format::Json:
		return std::make_unique<JsonOutput>(out);
	case Format::Csv:
		return std::make_unique<CsvOutput>(out);
	case Format::Text:
		break;
	}
	return std::make_unique<TextOutput>(out, opts);
}

} // namespace clonescope
