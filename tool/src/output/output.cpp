#include "output/output.hpp"

#include <ostream>

#include "util/csv.hpp"
#include "output/event_json.hpp"
#include "report/event_line.hpp"

namespace clonescope {

namespace {

class TextOutput : public Output {
public:
	TextOutput(std::ostream &out, OutputOptions opts) : out_(out), opts_(opts) {}

	void event(const Event &ev, const EventContext &ctx) override
	{
		if (!ev.record) {
			out_ << format_lone_call(*ev.call, ev.site, ctx.t0_ns) << '\n';
			return;
		}
		out_ << format_record(*ev.record, ctx.t0_ns) << '\n';
		if (ev.call)
			out_ << format_joined_call(*ev.call, ev.site) << '\n';
	}

	void report(const Report &report) override { out_ << render_text(report, opts_.histograms); }

private:
	std::ostream &out_;
	OutputOptions opts_;
};

class JsonOutput : public Output {
public:
	explicit JsonOutput(std::ostream &out) : out_(out) {}

	void event(const Event &ev, const EventContext &ctx) override
	{
		out_ << event_json(ev, ctx).dump() << '\n';
	}

	void report(const Report &report) override { out_ << render_json(report).dump(2) << '\n'; }

private:
	std::ostream &out_;
};

class CsvOutput : public Output {
public:
	explicit CsvOutput(std::ostream &out) : out_(out) {}

	void event(const Event &ev, const EventContext &ctx) override
	{
		if (!event_header_done_) {
			out_ << csv_line(event_columns());
			event_header_done_ = true;
		}
		out_ << csv_row(event_json(ev, ctx), event_columns());
	}

	void report(const Report &report) override { out_ << render_csv(report); }

private:
	std::ostream &out_;
	bool event_header_done_ = false;
};

} // namespace

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
