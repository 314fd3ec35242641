#pragma once
// The module's in-kernel aggregates in the Prometheus text exposition
// format (version 0.0.4, which Prometheus and promtool read), for
// `clonescope export`.

#include <linux/clonescope.h>

#include <string>
#include <string_view>

#include "device/device.hpp"

namespace clonescope {

// The Content-Type of what format_metrics() returns.
inline constexpr const char *kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Every metric family clonescope exports, from one GET_AGGREGATE and one
// GET_STATS of the same session: counters since the exporter enabled
// tracing, log2 histograms as cumulative Prometheus buckets.
std::string format_metrics(const Aggregate &agg, const clonescope_stats &stats);

// @value as a Prometheus label value: backslash, double quote and newline
// escaped; bytes that are not printable ASCII as "\\xNN" (a comm is any
// bytes, a label value must be UTF-8).
std::string label_value(std::string_view value);

} // namespace clonescope
