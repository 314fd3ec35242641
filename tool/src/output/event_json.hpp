#pragma once
// Every field of an event, decoded: the one description of an event that
// the JSON and CSV back ends print.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report/script.hpp"

namespace clonescope {

// One object, keys in a fixed order: "type" (clone, child_start, lost, cow,
// user_call), "time_ns", then the record's fields with numbers named
// (flags, errno, syscall, signal, phases; unavailable phases listed in
// "unavailable", never 0), the child's and the parent's COW counters
// apart, and "user", the user call and its call site, or null.
nlohmann::ordered_json event_json(const Event &ev, const EventContext &ctx);

// The CSV columns of events: every key event_json can produce, nested
// objects flattened to "a.b" (e.g. "phases.dup_task.duration_ns",
// "cow.child.copied").
const std::vector<std::string> &event_columns();

} // namespace clonescope
