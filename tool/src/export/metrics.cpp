#include "export/metrics.hpp"

#include <fmt/format.h>

#include <iterator>

#include "trace/names.hpp"
#include "trace/process_tree.hpp"

namespace clonescope {

namespace {

// Writes the families into one string; each family's HELP and TYPE once,
// before its first sample.
class Writer {
public:
	void family(const char *name, const char *type, const char *help)
	{
		fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help,
			       name, type);
	}

	// @value: uint64_t for counts, double for seconds.
	template <typename T> void sample(std::string_view name, const std::string &labels, T value)
	{
		fmt::format_to(std::back_inserter(out_), "{}{} {}\n", name, braced(labels), value);
	}

	// A counter family of one sample without labels.
	template <typename T> void counter(const char *name, const char *help, T value)
	{
		family(name, "counter", help);
		sample(name, "", value);
	}

	// A log2 histogram (bucket 0: values 0 and 1, bucket n: [2^n,
	// 2^(n+1)), the last one also larger) as cumulative buckets.  The
	// bound of bucket n is its largest value, 2^(n+1) - 1, over @per_unit
	// (1e9 for nanoseconds to seconds: a division by an exact 1e9 prints
	// 3e-09 where a product with 1e-9 prints 3.0000000000000004e-09); the
	// last is +Inf.
	void histogram(const char *name, const std::string &labels,
		       const clonescope_log2_hist &h, double per_unit)
	{
		const std::string sep = labels.empty() ? "" : ",";
		uint64_t cumulative = 0;
		for (size_t b = 0; b + 1 < CLONESCOPE_AGG_BUCKETS; b++) {
			cumulative += h.buckets[b];
			const double le = static_cast<double>((uint64_t{2} << b) - 1) / per_unit;
			fmt::format_to(std::back_inserter(out_), "{}_bucket{{{}{}le=\"{}\"}} {}\n",
				       name, labels, sep, le, cumulative);
		}
		// The module counts a clone in count and in one bucket at once:
		// +Inf is the count, so the buckets never exceed it.
		fmt::format_to(std::back_inserter(out_), "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name,
			       labels, sep, h.count);
		sample(fmt::format("{}_sum", name), labels, static_cast<double>(h.sum) / per_unit);
		sample(fmt::format("{}_count", name), labels, h.count);
	}

	std::string take() { return std::move(out_); }

private:
	static std::string braced(const std::string &labels)
	{
		return labels.empty() ? labels : "{" + labels + "}";
	}

	std::string out_;
};

std::string kind_label(size_t kind)
{
	return fmt::format("kind=\"{}\"", agg_kind_name(static_cast<uint32_t>(kind)));
}

std::string comm_label(const clonescope_agg_comm &c)
{
	return fmt::format("comm=\"{}\"", label_value(comm_of(c.comm)));
}

constexpr double kNsPerSecond = 1e9;

void clone_families(Writer &w, const Aggregate &agg)
{
	const auto &t = agg.totals;
	w.family("clonescope_clones_total", "counter",
		 "Clones (kernel_clone calls) traced, failed ones included, by kind.");
	for (size_t k = 0; k < CLONESCOPE_AGG_NR_KINDS; k++)
		w.sample("clonescope_clones_total", kind_label(k), t.kinds[k].duration_ns.count);
	w.family("clonescope_clone_failures_total", "counter",
		 "Clones that returned an error, restarts included, by kind.");
	for (size_t k = 0; k < CLONESCOPE_AGG_NR_KINDS; k++)
		w.sample("clonescope_clone_failures_total", kind_label(k), t.kinds[k].failed);
	w.family("clonescope_clone_restarts_total", "counter",
		 "Clones interrupted by a signal (-ERESTARTNOINTR) and retried, by kind.");
	for (size_t k = 0; k < CLONESCOPE_AGG_NR_KINDS; k++)
		w.sample("clonescope_clone_restarts_total", kind_label(k), t.kinds[k].restarted);
	w.family("clonescope_clone_errors_total", "counter",
		 "Failed clones by errno; errno=\"other\" counts every errno from "
		 "63 up, ERESTARTNOINTR included.");
	for (size_t e = 1; e < CLONESCOPE_AGG_NR_ERRNOS; e++) {
		if (!t.errnos[e])
			continue;
		const auto name = e + 1 < CLONESCOPE_AGG_NR_ERRNOS ? errno_name(static_cast<int>(e))
								    : std::string("other");
		w.sample("clonescope_clone_errors_total", fmt::format("errno=\"{}\"", name),
			 t.errnos[e]);
	}
	w.family("clonescope_clone_duration_seconds", "histogram",
		 "kernel_clone entry to return, by kind.");
	for (size_t k = 0; k < CLONESCOPE_AGG_NR_KINDS; k++)
		w.histogram("clonescope_clone_duration_seconds", kind_label(k),
			    t.kinds[k].duration_ns, kNsPerSecond);
	w.family("clonescope_phase_duration_seconds", "histogram",
		 "Phases of copy_process and the wake-up, each between two landmark probes "
		 "(Documentation/clonescope.rst); only clones where the phase was measured.");
	for (uint32_t p = 0; p < CLONESCOPE_NR_PHASES; p++)
		w.histogram("clonescope_phase_duration_seconds",
			    fmt::format("phase=\"{}\"", phase_name(p)), t.phase_ns[p], kNsPerSecond);
	w.family("clonescope_wakeup_latency_seconds", "histogram",
		 "Wake-up of a new task to its first run.");
	w.histogram("clonescope_wakeup_latency_seconds", "", t.wakeup_ns, kNsPerSecond);
	w.family("clonescope_cow_copied_pages_per_fork", "histogram",
		 "4K pages copied on write after one fork, child and parent, counted when "
		 "the child execs or exits.");
	w.histogram("clonescope_cow_copied_pages_per_fork", "", t.cow_copied, 1.0);
	w.counter("clonescope_cow_copied_pages_total",
		  "4K pages copied on write after traced forks whose bill is complete.",
		  t.cow_copied.sum);
}

void comm_families(Writer &w, const Aggregate &agg)
{
	w.family("clonescope_comm_clones_total", "counter",
		 "Clones by the parent's command name and kind.");
	for (const auto &c : agg.comms)
		for (size_t k = 0; k < CLONESCOPE_AGG_NR_KINDS; k++)
			if (c.kinds[k])
				w.sample("clonescope_comm_clones_total",
					 comm_label(c) + "," + kind_label(k), c.kinds[k]);
	w.family("clonescope_comm_clone_failures_total", "counter",
		 "Failed clones by the parent's command name, restarts included.");
	for (const auto &c : agg.comms)
		w.sample("clonescope_comm_clone_failures_total", comm_label(c), c.failed);
	w.family("clonescope_comm_cow_copied_pages_total", "counter",
		 "4K pages copied on write after the forks of a command name.");
	for (const auto &c : agg.comms)
		w.sample("clonescope_comm_cow_copied_pages_total", comm_label(c), c.cow_copied);
	w.family("clonescope_comm_clone_duration_seconds", "histogram",
		 "kernel_clone entry to return, by the parent's command name.");
	for (const auto &c : agg.comms)
		w.histogram("clonescope_comm_clone_duration_seconds", comm_label(c), c.duration_ns,
			    kNsPerSecond);
	w.family("clonescope_comm_wakeup_latency_seconds", "histogram",
		 "Wake-up of a new task to its first run, by the parent's command name.");
	for (const auto &c : agg.comms)
		w.histogram("clonescope_comm_wakeup_latency_seconds", comm_label(c), c.wakeup_ns,
			    kNsPerSecond);
	w.counter("clonescope_comm_overflow_clones_total",
		  "Clones not counted by command name: the module's table of names was full.",
		  agg.totals.comms_overflow);
}

void session_families(Writer &w, const clonescope_stats &s)
{
	w.counter("clonescope_records_dropped_total",
		  "Records lost to a full per-CPU buffer (0 while only aggregating).",
		  s.dropped);
	w.counter("clonescope_inflight_overflow_total",
		  "Clones left untraced because the module's in-flight table was full.",
		  s.inflight_overflow);
	w.counter("clonescope_handler_calls_total",
		  "Calls of clonescope's probe handlers.",
		  s.handler_calls);
	w.counter("clonescope_handler_seconds_total",
		  "Time spent inside clonescope's probe handlers: the tracer's own cost.",
		  static_cast<double>(s.handler_ns) / kNsPerSecond);
}

} // namespace

std::string label_value(std::string_view value)
{
	std::string out;
	for (const char ch : value) {
		const auto c = static_cast<unsigned char>(ch);
		if (c == '\\')
			out += "\\\\";
		else if (c == '"')
			out += "\\\"";
		else if (c == '\n')
			out += "\\n";
		else if (c < 0x20 || c >= 0x7f)
			out += fmt::format("\\\\x{:02x}", c);
		else
			out += ch;
	}
	return out;
}

std::string format_metrics(const Aggregate &agg, const clonescope_stats &stats)
{
	Writer w;
	clone_families(w, agg);
	comm_families(w, agg);
	session_families(w, stats);
	return w.take();
}

} // namespace clonescope
