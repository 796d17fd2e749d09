// compresstest serve: start the workers, print the start-up line; on a stop signal, lame duck then
// drain.
#include "faces.hpp"

#include "app.hpp"
#include "compute_threads.hpp"
#include "tinysite.hpp"
#include "worker.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

namespace compresstest {
namespace asio = boost::asio;

int run_serve(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    auto parsed = parse_config(args, env);
    if (!parsed) {
        std::cerr << "compresstest serve: " << parsed.err().message << '\n';
        return 2;
    }
    if (parsed->exit_now) {
        std::cout << parsed->exit_text;
        return 0;
    }
    if (auto budget = tinysite::check_budget(); !budget) {
        std::cerr << "compresstest serve: " << budget.err().message << '\n';
        return 1;
    }
    const config& cfg = parsed->cfg;

    boost::system::error_code ec;
    const auto address = asio::ip::make_address(cfg.listen_host, ec);
    if (ec) {
        std::cerr << "compresstest serve: invalid value \"" << cfg.listen_host
                  << "\" for --listen: not an IP address\n";
        return 2;
    }
    app application(cfg);
    // At a few microseconds of CPU per quick request, half the cores keep up with any client
    // load this machine can generate; the rest are left to the compute pool (and, on a shared
    // box, the clients): measured on 2 cores, 1 I/O thread served TinySite 12 % faster than 2.
    const std::size_t nworkers =
        cfg.io_threads ? cfg.io_threads : std::max<std::size_t>(1, thread_count(0) / 2);
    std::vector<std::unique_ptr<worker>> workers;
    try {
        asio::ip::tcp::endpoint ep{address, cfg.listen_port};
        if (ep.port() != 0) {
            // SO_REUSEPORT would let this process share a port another instance (same user)
            // already serves, splitting its traffic silently: bind once without it to refuse.
            asio::io_context probe_context;
            asio::ip::tcp::acceptor probe(probe_context);
            probe.open(ep.protocol());
            probe.set_option(asio::socket_base::reuse_address(true));
            probe.bind(ep);
        }
        for (std::size_t i = 0; i < nworkers; ++i) {
            workers.push_back(std::make_unique<worker>(application, ep));
            ep = workers.front()->local_endpoint(); // port 0: the others join the chosen port
        }
    } catch (const std::exception& ex) {
        // A system error says its code's message alone ("Address already in use"): its what()
        // adds Boost's source location, which is no use to an operator.
        const auto* sys = dynamic_cast<const boost::system::system_error*>(&ex);
        std::cerr << "compresstest serve: cannot listen on " << cfg.listen_host << ':'
                  << cfg.listen_port << ": " << (sys ? sys->code().message() : ex.what()) << '\n';
        return 1;
    }
    const auto ep = workers.front()->local_endpoint();
    const std::string shown_host =
        ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
    std::cout << fmt::format("compresstest {} listening on http://{}:{} io_threads={} "
                             "compute_threads={} {}\n",
                             COMPRESSTEST_VERSION, shown_host, ep.port(), nworkers,
                             application.compute().size(), describe(cfg))
              << std::flush;

    // The control context owns signals and the stop's two timers; workers run on their own.
    asio::io_context control;
    asio::signal_set signals(control, SIGTERM, SIGINT, SIGHUP);
    asio::steady_timer stop_timer(control); // the lame duck's end, then the drain deadline
    std::atomic<std::size_t> running{nworkers};
    std::atomic<bool> forced{false};
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < workers.size(); ++i)
        threads.emplace_back([&, i, w = workers[i].get()] {
            name_this_thread(fmt::format("io-{}", i));
            w->run();
            if (running.fetch_sub(1) == 1)
                asio::post(control, [&] {
                    stop_timer.cancel();
                    signals.cancel();
                });
        });

    auto force = [&] {
        forced = true;
        for (auto& w : workers)
            w->stop();
    };
    auto drain = [&] {
        std::cout << fmt::format("compresstest: draining (deadline {} ms)\n",
                                 cfg.drain_timeout.count())
                  << std::flush;
        for (auto& w : workers)
            w->begin_drain();
        stop_timer.expires_after(cfg.drain_timeout);
        stop_timer.async_wait([&](boost::system::error_code tec) {
            if (tec) return;
            std::cout << "compresstest: drain deadline passed; closing what is left\n"
                      << std::flush;
            force();
        });
    };
    signals.async_wait([&](boost::system::error_code sec, int signo) {
        if (sec) return;
        // The lame duck: /healthz answers 503 while every request is still served and new
        // connections are still accepted, so a balancer's health checks stop sending first.
        std::cout << fmt::format("compresstest: signal {}: lame duck for {} ms, then drain\n",
                                 signo, cfg.lame_duck.count())
                  << std::flush;
        application.begin_lame_duck();
        stop_timer.expires_after(cfg.lame_duck);
        stop_timer.async_wait([&](boost::system::error_code tec) {
            if (!tec) drain();
        });
        signals.async_wait([&](boost::system::error_code sec2, int) {
            if (sec2) return;
            std::cout << "compresstest: second signal; exiting now\n" << std::flush;
            force();
        });
    });
    control.run();
    if (forced) {
        // Reports may still be running and would post to workers being torn down: leave now.
        std::cout << "compresstest: stopped before every request finished\n" << std::flush;
        std::_Exit(1);
    }
    for (auto& t : threads)
        t.join();
    std::cout << "compresstest: drained; bye\n" << std::flush;
    return 0;
}

} // namespace compresstest
