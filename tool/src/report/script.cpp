#include "report/script.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace clonescope {

namespace {

uint64_t record_time(const KernelRecord &r)
{
	if (const auto *c = r.get_if<clonescope_clone_event>())
		return c->start_ns;
	return r.header().timestamp_ns;
}

} // namespace

std::vector<Event> script_events(const Trace &trace, const Correlation &corr)
{
	std::map<std::pair<uint32_t, uint64_t>, const SymbolInfo *> symbols;
	for (const auto &s : trace.symbols)
		symbols.emplace(std::pair{s.image, s.address}, &s);
	auto symbol_of = [&symbols](const UserCall *c) -> const SymbolInfo * {
		if (!c)
			return nullptr;
		auto it = symbols.find({c->image, c->call_site});
		return it == symbols.end() ? nullptr : it->second;
	};

	std::unordered_map<const clonescope_clone_event *, const Sample *> sample_of;
	std::vector<Event> events;
	for (const auto &s : corr.samples) {
		for (const auto *k : s.kernel)
			sample_of.emplace(k, &s);
		if (s.user && s.kernel.empty())
			events.push_back({s.user->entry_ns, {}, s.user, s.site, symbol_of(s.user)});
	}
	for (const auto r : trace.kernel) {
		Event ev{record_time(r), r};
		if (const auto *c = r.get_if<clonescope_clone_event>()) {
			auto it = sample_of.find(c);
			if (it != sample_of.end() && it->second->user) {
				ev.call = it->second->user;
				ev.site = it->second->site;
				ev.symbol = symbol_of(ev.call);
			}
		}
		events.push_back(std::move(ev));
	}
	std::stable_sort(events.begin(), events.end(),
			 [](const Event &a, const Event &b) { return a.time_ns < b.time_ns; });
	return events;
}

EventContext event_context(const Trace &trace)
{
	EventContext ctx;
	ctx.t0_ns = meta_u64(trace.meta, "start_ns").value_or(0);
	ctx.features = meta_u64(trace.meta, "features").value_or(0);
	return ctx;
}

} // namespace clonescope
