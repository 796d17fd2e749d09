// compresstest probe: GET /healthz from the server the same configuration starts; exit 0 or 1.
#include "faces.hpp"

#include "config/config.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <iostream>
#include <optional>
#include <string>
#include <utility>

namespace compresstest {
namespace {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// A wildcard listener (0.0.0.0, ::) is reached on loopback; any other address as it is.
asio::ip::address reach(const asio::ip::address& listen) {
    if (!listen.is_unspecified()) return listen;
    if (listen.is_v6()) return asio::ip::address_v6::loopback();
    return asio::ip::address_v4::loopback();
}

std::string show(const tcp::endpoint& ep) {
    const auto a = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

// One GET /healthz on a fresh connection: connect, write, read the status line. Single-threaded:
// its handlers run on the io_context the caller runs; verdict() is empty until they finish.
class health_check {
public:
    health_check(asio::io_context& io, tcp::endpoint ep, std::size_t max_status_line_nbytes)
        : socket_(io), endpoint_(ep), max_status_line_nbytes_(max_status_line_nbytes),
          request_(fmt::format("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                               show(ep))) {}

    void start() {
        socket_.async_connect(endpoint_, [this](error_code ec) { on_connect(ec); });
    }

    // Empty while under way; then "" when healthy, or why not.
    const std::optional<std::string>& verdict() const { return verdict_; }

private:
    void on_connect(error_code ec) {
        if (ec) return finish("cannot connect: " + ec.message());
        asio::async_write(socket_, asio::buffer(request_),
                          [this](error_code wec, std::size_t) { on_write(wec); });
    }

    void on_write(error_code ec) {
        if (ec) return finish("cannot send the request: " + ec.message());
        asio::async_read_until(socket_, asio::dynamic_buffer(line_, max_status_line_nbytes_),
                               "\r\n", [this](error_code rec, std::size_t n) { on_read(rec, n); });
    }

    void on_read(error_code ec, std::size_t line_nbytes) {
        if (ec == asio::error::eof) return finish("the connection closed before a status line");
        if (ec == asio::error::not_found)
            return finish(fmt::format("no status line in the first {} bytes", line_.size()));
        if (ec) return finish("cannot read the answer: " + ec.message());
        line_.resize(line_nbytes - 2);
        // "HTTP/1.1 200 OK": the version, then exactly "200" and a space or the line's end.
        const bool ok = line_.rfind("HTTP/1.", 0) == 0 && line_.size() >= 12 &&
                        line_.compare(8, 4, " 200") == 0 &&
                        (line_.size() == 12 || line_[12] == ' ');
        finish(ok ? "" : "/healthz answered \"" + line_ + "\"");
    }

    void finish(std::string why) {
        verdict_ = std::move(why);
        error_code ignored;
        socket_.close(ignored);
    }

    tcp::socket socket_;
    const tcp::endpoint endpoint_;
    const std::size_t max_status_line_nbytes_;
    const std::string request_;
    std::string line_;
    std::optional<std::string> verdict_;
};

} // namespace

int run_probe(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    // Docker reserves exit code 2 of a health check: every failure here is 1, "unhealthy".
    auto parsed = parse_config(args, env);
    if (!parsed) {
        std::cerr << "compresstest probe: " << parsed.err().message << '\n';
        return 1;
    }
    if (parsed->exit_now) {
        std::cout << parsed->exit_text;
        return 0;
    }
    const config& cfg = parsed->cfg;
    error_code ec;
    const auto listen = asio::ip::make_address(cfg.listen_host, ec);
    if (ec) {
        std::cerr << "compresstest probe: invalid value \"" << cfg.listen_host
                  << "\" for --listen: not an IP address\n";
        return 1;
    }
    const tcp::endpoint ep{reach(listen), cfg.listen_port};
    asio::io_context io;
    health_check check(io, ep, cfg.max_header_nbytes);
    check.start();
    io.run_for(cfg.probe_timeout);
    if (!check.verdict()) {
        std::cerr << fmt::format("compresstest probe: {}: no answer within {} ms\n", show(ep),
                                 cfg.probe_timeout.count());
        return 1;
    }
    if (!check.verdict()->empty()) {
        std::cerr << "compresstest probe: " << show(ep) << ": " << *check.verdict() << '\n';
        return 1;
    }
    std::cout << "compresstest probe: " << show(ep) << ": /healthz answered 200\n";
    return 0;
}

} // namespace compresstest
