// libFuzzer target: the API Gateway adapter must never crash on any bytes, build only requests
// that survive HTTP serialization, and answer in JSON that carries the body back exactly.
#include "server/lambda/apigw.hpp"

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace apigw = compresstest::apigw;
namespace http = boost::beast::http;

namespace {

// Tight limits reach the refusal paths with small inputs; the real ones the rest.
constexpr std::size_t tight_event_nbytes = 4096;
constexpr std::size_t tight_body_nbytes = 16;
constexpr std::size_t real_body_nbytes = 1 << 20;

void require(bool condition) {
    if (!condition) __builtin_trap();
}

// What the adapter builds must read back the same through Beast's own parser, as if it had
// come over a socket.
void check_request(const compresstest::request& req) {
    require(!req.target().empty() && req.target().front() == '/');
    require(boost::urls::parse_origin_form(req.target()).has_value());
    require(req.count(http::field::transfer_encoding) == 0);
    if (auto cl = req.find(http::field::content_length); cl != req.end())
        require(cl->value() == std::to_string(req.body().size()));
    else
        require(req.body().empty());

    std::ostringstream wire;
    wire << req;
    const std::string bytes = wire.str();
    http::request_parser<http::string_body> p;
    p.eager(true);
    p.header_limit(static_cast<std::uint32_t>(bytes.size()));
    p.body_limit(bytes.size());
    boost::beast::error_code ec;
    const auto used = p.put(boost::asio::buffer(bytes), ec);
    require(!ec && p.is_done() && used == bytes.size());
    const auto& back = p.get();
    require(back.method_string() == req.method_string());
    require(back.target() == req.target());
    require(back.body() == req.body());
}

// A response carrying the request's body and content type must come back in valid JSON with
// the body intact, base64 or not.
void check_response(const compresstest::request& req, apigw::payload_version v) {
    compresstest::response res{http::status::ok, 11};
    if (auto ct = req.find(http::field::content_type); ct != req.end())
        res.set(http::field::content_type, ct->value());
    if (auto ce = req.find(http::field::content_encoding); ce != req.end())
        res.set(http::field::content_encoding, ce->value());
    res.body() = req.body();
    res.prepare_payload();
    boost::system::error_code ec;
    const auto doc = boost::json::parse(apigw::to_response_json(res, v), ec);
    require(!ec && doc.is_object());
    const auto& o = doc.get_object();
    const std::string sent(o.at("body").as_string());
    if (o.at("isBase64Encoded").as_bool())
        require(apigw::base64_decode(sent) == res.body());
    else
        require(sent == res.body());
}

void check(std::string_view input, const apigw::event_limits& lim) {
    auto ev = apigw::parse_event(input, lim);
    if (!ev) return;
    if (ev->refusal) {
        require(ev->refusal->kind == compresstest::error_kind::too_large);
        require(ev->req.body().empty());
        return;
    }
    require(ev->req.body().size() <= lim.max_body_nbytes);
    check_request(ev->req);
    check_response(ev->req, ev->version);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check(input, {apigw::lambda_payload_nbytes, real_body_nbytes});
    check(input, {tight_event_nbytes, tight_body_nbytes});
    // base64 both ways on the raw bytes: encode always round-trips.
    require(apigw::base64_decode(apigw::base64_encode(input)) == input);
    return 0;
}
