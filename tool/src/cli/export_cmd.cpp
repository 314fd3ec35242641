#include "cli/export_cmd.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fmt/format.h>
#include <thread>

#include "cli/fail.hpp"
#include "export/metrics.hpp"
#include "record/live.hpp"

namespace clonescope {

Result<ListenAddress> parse_listen_address(const std::string &text)
{
	const auto colon = text.rfind(':');
	if (colon == std::string::npos)
		return Error{fmt::format("listen address '{}': want ADDR:PORT", text)};
	ListenAddress a;
	a.host = text.substr(0, colon);
	if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']')
		a.host = a.host.substr(1, a.host.size() - 2);
	else if (a.host.find(':') != std::string::npos)
		return Error{fmt::format("listen address '{}': write an IPv6 address in brackets, "
					 "[::1]:PORT", text)};
	if (a.host.empty())
		a.host = "0.0.0.0";
	const char *first = text.data() + colon + 1, *last = text.data() + text.size();
	unsigned port = 0;
	const auto [end, ec] = std::from_chars(first, last, port);
	if (ec != std::errc{} || end != last || port == 0 || port > 65535)
		return Error{fmt::format("listen address '{}': the port must be 1..65535", text)};
	a.port = static_cast<uint16_t>(port);
	return a;
}

int run_export(const ExportOptions &opts)
{
	auto addr = parse_listen_address(opts.listen);
	if (!addr) {
		fmt::print(stderr, "clonescope: {}\n", addr.error().message);
		return 2;
	}
	LiveFilter filter;
	filter.probe_groups = opts.probe_groups;
	auto session = LiveSession::start(opts.device, filter, true);
	if (!session)
		return fail(session.error());
	if (!session->aggregating())
		return fail(Error{"export needs a module that aggregates in the kernel "
				  "(CLONESCOPE_FEAT_AGGREGATE, ABI 1.1 or later)"});

	httplib::Server server;
	server.Get("/metrics", [&session](const httplib::Request &, httplib::Response &res) {
		auto agg = session->aggregate(true);
		auto stats = session->stats();
		if (!agg || !stats) {
			res.status = 500;
			res.set_content((agg ? stats.error() : agg.error()).message + "\n",
					"text/plain");
			return;
		}
		res.set_content(format_metrics(*agg, *stats), kMetricsContentType);
	});
	server.Get("/", [](const httplib::Request &, httplib::Response &res) {
		res.set_content("clonescope exporter: metrics at /metrics\n", "text/plain");
	});

	// SIGINT and SIGTERM go to one thread that stops the server: blocked
	// here, before httplib starts its threads, so they inherit the mask.
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

	if (!server.bind_to_port(addr->host.c_str(), addr->port))
		return fail(errno_error(fmt::format("cannot listen on {}", opts.listen), errno));
	std::atomic<bool> stopping{false};
	std::thread stopper([&server, &stop_signals, &stopping] {
		int sig = 0;
		sigwait(&stop_signals, &sig);
		stopping = true;
		server.stop();
	});
	fmt::print(stderr, "clonescope: serving metrics on http://{}/metrics\n", opts.listen);
	const bool served = server.listen_after_bind();
	// A server that failed by itself still has the stopper waiting.
	if (!stopping)
		pthread_kill(stopper.native_handle(), SIGTERM);
	stopper.join();
	return served ? 0 : 1;
}

} // namespace clonescope
