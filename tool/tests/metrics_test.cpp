// clonescope export: the Prometheus exposition of known aggregates, and
// the listen address parser.

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

#include "cli/export_cmd.hpp"
#include "export/metrics.hpp"

namespace clonescope {
namespace {

// "name{labels}" -> value, of every sample line.
std::map<std::string, std::string> samples(const std::string &text)
{
	std::map<std::string, std::string> out;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);) {
		if (line.empty() || line[0] == '#')
			continue;
		const auto space = line.rfind(' ');
		out[line.substr(0, space)] = line.substr(space + 1);
	}
	return out;
}

Aggregate known_aggregate()
{
	Aggregate a;
	auto &fork = a.totals.kinds[CLONESCOPE_AGG_KIND_FORK];
	// Three forks: 1 ns (bucket 0), 1000 ns and 1023 ns (bucket 9).
	fork.duration_ns.count = 3;
	fork.duration_ns.sum = 2024;
	fork.duration_ns.buckets[0] = 1;
	fork.duration_ns.buckets[9] = 2;
	fork.failed = 2;
	fork.restarted = 1;
	a.totals.errnos[EAGAIN] = 1;
	a.totals.errnos[CLONESCOPE_AGG_NR_ERRNOS - 1] = 1; // the restart
	a.totals.cow_copied.count = 1;
	a.totals.cow_copied.sum = 500;
	a.totals.cow_copied.buckets[8] = 1;
	clonescope_agg_comm c{};
	std::memcpy(c.comm, "a\"b\\c\xff", 6);
	c.kinds[CLONESCOPE_AGG_KIND_FORK] = 3;
	c.duration_ns = fork.duration_ns;
	a.comms.push_back(c);
	return a;
}

TEST(Metrics, CountersByKindErrnoAndComm)
{
	clonescope_stats st{};
	st.dropped = 7;
	st.handler_ns = 1'500'000'000;
	const auto s = samples(format_metrics(known_aggregate(), st));
	EXPECT_EQ("3", s.at("clonescope_clones_total{kind=\"fork\"}"));
	EXPECT_EQ("0", s.at("clonescope_clones_total{kind=\"thread\"}"));
	EXPECT_EQ("2", s.at("clonescope_clone_failures_total{kind=\"fork\"}"));
	EXPECT_EQ("1", s.at("clonescope_clone_restarts_total{kind=\"fork\"}"));
	EXPECT_EQ("1", s.at("clonescope_clone_errors_total{errno=\"EAGAIN\"}"));
	EXPECT_EQ("1", s.at("clonescope_clone_errors_total{errno=\"other\"}"));
	EXPECT_EQ(0u, s.count("clonescope_clone_errors_total{errno=\"ENOMEM\"}"));
	EXPECT_EQ("500", s.at("clonescope_cow_copied_pages_total"));
	EXPECT_EQ("7", s.at("clonescope_records_dropped_total"));
	EXPECT_EQ("1.5", s.at("clonescope_handler_seconds_total"));
	// The comm's quote and backslash escaped, its non-ASCII byte spelled out.
	EXPECT_EQ("3", s.at("clonescope_comm_clones_total{comm=\"a\\\"b\\\\c\\\\xff\",kind=\"fork\"}"));
	EXPECT_EQ(0u, s.count("clonescope_comm_clones_total{comm=\"a\\\"b\\\\c\\\\xff\",kind=\"vfork\"}"));
}

TEST(Metrics, Log2HistogramAsCumulativeBuckets)
{
	const auto s = samples(format_metrics(known_aggregate(), clonescope_stats{}));
	const std::string h = "clonescope_clone_duration_seconds";
	// Bucket n's bound is its largest value, 2^(n+1) - 1 ns.
	EXPECT_EQ("1", s.at(h + "_bucket{kind=\"fork\",le=\"1e-09\"}"));
	EXPECT_EQ("1", s.at(h + "_bucket{kind=\"fork\",le=\"5.11e-07\"}"));
	EXPECT_EQ("3", s.at(h + "_bucket{kind=\"fork\",le=\"1.023e-06\"}"));
	EXPECT_EQ("3", s.at(h + "_bucket{kind=\"fork\",le=\"+Inf\"}"));
	EXPECT_EQ("3", s.at(h + "_count{kind=\"fork\"}"));
	EXPECT_EQ("2.024e-06", s.at(h + "_sum{kind=\"fork\"}"));
	EXPECT_EQ("1", s.at("clonescope_cow_copied_pages_per_fork_bucket{le=\"511\"}"));
	EXPECT_EQ("0", s.at("clonescope_cow_copied_pages_per_fork_bucket{le=\"255\"}"));
}

TEST(Metrics, EveryFamilyHasHelpAndType)
{
	const auto text = format_metrics(known_aggregate(), clonescope_stats{});
	std::istringstream in(text);
	std::map<std::string, int> seen;
	for (std::string line; std::getline(in, line);) {
		if (line.rfind("# TYPE ", 0) == 0) {
			EXPECT_EQ(1, ++seen[line.substr(7, line.find(' ', 7) - 7)]) << line;
		}
	}
	EXPECT_EQ(seen.size(), static_cast<size_t>(std::count(text.begin(), text.end(), '#')) / 2);
	EXPECT_TRUE(seen.count("clonescope_phase_duration_seconds"));
}

TEST(ListenAddress, Forms)
{
	auto a = parse_listen_address("127.0.0.1:9477");
	ASSERT_TRUE(a.ok()) << a.error().message;
	EXPECT_EQ("127.0.0.1", a->host);
	EXPECT_EQ(9477, a->port);
	a = parse_listen_address("[::1]:80");
	ASSERT_TRUE(a.ok());
	EXPECT_EQ("::1", a->host);
	a = parse_listen_address(":9477");
	ASSERT_TRUE(a.ok());
	EXPECT_EQ("0.0.0.0", a->host);
	for (const char *bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
				"127.0.0.1:9x", "::1:80", "host:-1"})
		EXPECT_FALSE(parse_listen_address(bad).ok()) << bad;
}

} // namespace
} // namespace clonescope
