#pragma once
// Every field of each message, decoded and named: the one description of
// a message that the JSON and CSV back ends print.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "output/output.hpp"
#include "report/script.hpp"

namespace clonescope {

// One object, keys in a fixed order: "type" (clone, child_start, lost, cow,
// lifecycle, user_call), "time_ns", then the record's fields with numbers named
// (flags, errno, syscall, signal, phases; unavailable phases listed in
// "unavailable", never 0, and the tiled phases a failed clone never reached
// in "not_reached"), the child's and the parent's COW counters
// apart, and "user", the user call and its call site, or null.
nlohmann::ordered_json event_json(const Event &ev, const EventContext &ctx);

// The CSV columns of events: every key event_json can produce, nested
// objects flattened to "a.b" (e.g. "phases.dup_task.duration_ns",
// "cow.child.copied").
const std::vector<std::string> &event_columns();

// A stat line: "time", "seconds", "partial", the counts and rates of
// interval_fields, "lost".
nlohmann::ordered_json interval_json(const IntervalView &view);
// A top table: "time", "seconds", "partial", "clones_per_s", "lost" and
// "rows", each {"comm" or "kind", interval_fields...}.
nlohmann::ordered_json top_json(const TopView &view);
// One CSV row of a top table: "time", "seconds", "comm" or "kind",
// interval_fields.
nlohmann::ordered_json top_row_json(const TopView &view, size_t row);
// The module's ABI, features, session counters and "probes".
nlohmann::ordered_json status_json(const StatusView &view);
nlohmann::ordered_json probe_json(uint32_t index, const clonescope_probe_info &probe);

} // namespace clonescope
