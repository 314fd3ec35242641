#pragma once
// Resolving user call sites (return addresses) to module + symbol + offset
// and file:line, with libdw, while the binaries are at hand (record time).

#include <vector>

#include "trace/trace_file.hpp"

namespace clonescope {

// One SymbolInfo per distinct (image, call site) of @trace.calls. A site
// no mapping covers gets an empty module.
std::vector<SymbolInfo> symbolize_call_sites(const Trace &trace);

} // namespace clonescope
