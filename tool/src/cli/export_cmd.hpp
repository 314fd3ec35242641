#pragma once

#include <cstdint>
#include <string>

#include "util/result.hpp"

namespace clonescope {

struct ExportOptions {
	std::string device;
	std::string listen = "127.0.0.1:9477";
	uint32_t probe_groups = 0; // CLONESCOPE_PROBES_*
};

struct ListenAddress {
	std::string host; // as httplib binds it: "127.0.0.1", "::1", "0.0.0.0"
	uint16_t port = 0;
};

// "ADDR:PORT", "[IPv6]:PORT" or ":PORT" (all addresses); the port 1..65535.
Result<ListenAddress> parse_listen_address(const std::string &text);

// `clonescope export [--listen ADDR:PORT]`: enables in-kernel aggregation
// (no record per clone) and serves the aggregates at /metrics in the
// Prometheus text format until SIGINT or SIGTERM.
int run_export(const ExportOptions &opts);

} // namespace clonescope
