// API Gateway adapter: events become the socket path's requests, replies become API Gateway JSON.
#include "server/lambda/apigw.hpp"
#include "tinysite.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <vector>

namespace compresstest::apigw {
namespace {

namespace json = boost::json;

constexpr std::size_t test_max_body_nbytes = 1000;
const event_limits limits{lambda_payload_nbytes, test_max_body_nbytes};

// A payload 1.0 event for method and path with the given extra members.
std::string v1_event(std::string_view method, std::string_view path, json::object extra = {}) {
    json::object o{{"resource", "/{proxy+}"}, {"httpMethod", method}, {"path", path}};
    for (auto& [k, v] : extra)
        o[k] = v;
    return json::serialize(o);
}

// A payload 2.0 event for method and rawPath with the given extra members.
std::string v2_event(std::string_view method, std::string_view raw_path, json::object extra = {}) {
    json::object o{{"version", "2.0"},
                   {"routeKey", "$default"},
                   {"rawPath", raw_path},
                   {"requestContext", {{"http", {{"method", method}, {"path", raw_path}}}}}};
    for (auto& [k, v] : extra)
        o[k] = v;
    return json::serialize(o);
}

request parsed(const std::string& text) {
    auto ev = parse_event(text, limits);
    EXPECT_TRUE(ev) << (ev ? "" : ev.err().message);
    if (!ev) return {};
    EXPECT_FALSE(ev->refusal) << ev->refusal->message;
    return std::move(ev->req);
}

std::vector<std::string> values_of(const request& req, std::string_view name) {
    std::vector<std::string> out;
    auto [first, last] = req.equal_range(name);
    for (auto it = first; it != last; ++it)
        out.emplace_back(it->value());
    return out;
}

// Reads a real API Gateway event from test/data/apigw; a missing or empty one fails the test.
std::string fixture(const std::string& name) {
    const std::string path = std::string(COMPRESSTEST_TEST_DATA_DIR) + "/apigw/" + name;
    std::ifstream f(path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    EXPECT_FALSE(s.str().empty()) << "cannot read the fixture " << path;
    return s.str();
}

json::object response_json(const response& msg, payload_version v) {
    return json::parse(to_response_json(msg, v)).as_object();
}

response text_response(std::string_view content_type, std::string body) {
    response res{http::status::ok, 11};
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

// --- events ----------------------------------------------------------------------------------

TEST(apigw_event, header_lookup_is_case_insensitive_whatever_case_the_event_uses) {
    const auto req = parsed(
        v1_event("POST", "/compress",
                 {{"headers", {{"content-TYPE", "application/octet-stream"}, {"x-Custom", "1"}}}}));
    EXPECT_EQ(req[http::field::content_type], "application/octet-stream");
    EXPECT_EQ(req["Content-Type"], "application/octet-stream");
    EXPECT_EQ(req["X-CUSTOM"], "1");
}

TEST(apigw_event, v1_multi_value_headers_give_one_field_per_value_without_duplicates) {
    const auto req = parsed(
        v1_event("GET", "/",
                 {{"multiValueHeaders", {{"X-Forwarded-For", json::array{"1.1.1.1", "2.2.2.2"}}}},
                  // API Gateway repeats the last value here; a name only here still counts.
                  {"headers", {{"x-forwarded-for", "2.2.2.2"}, {"Accept", "*/*"}}}}));
    EXPECT_EQ(values_of(req, "x-forwarded-for"), (std::vector<std::string>{"1.1.1.1", "2.2.2.2"}));
    EXPECT_EQ(values_of(req, "Accept"), std::vector<std::string>{"*/*"});
}

TEST(apigw_event, v1_decoded_query_parameters_are_percent_encoded_and_decode_back) {
    const auto req =
        parsed(v1_event("POST", "/compress",
                        {{"multiValueQueryStringParameters",
                          {{"codecs", json::array{"gzip:1-9,zstd:3"}},
                           {"q", json::array{"a b&c=d/\xc3\xa9", "2"}}}},
                         {"queryStringParameters", {{"codecs", "gzip:1-9,zstd:3"}, {"q", "2"}}}}));
    EXPECT_EQ(req.target(), "/compress?codecs=gzip%3A1-9%2Czstd%3A3&q=a%20b%26c%3Dd%2F%C3%A9&q=2");
    auto url = boost::urls::parse_origin_form(req.target());
    ASSERT_TRUE(url);
    std::vector<std::pair<std::string, std::string>> params;
    for (auto p : url->params())
        params.emplace_back(p.key, p.value);
    EXPECT_EQ(params, (std::vector<std::pair<std::string, std::string>>{
                          {"codecs", "gzip:1-9,zstd:3"}, {"q", "a b&c=d/\xc3\xa9"}, {"q", "2"}}));
}

TEST(apigw_event, v1_single_value_query_parameters_are_used_without_the_multi_value_map) {
    EXPECT_EQ(parsed(v1_event("GET", "/api/codecs", {{"queryStringParameters", {{"x", "1 2"}}}}))
                  .target(),
              "/api/codecs?x=1%202");
}

TEST(apigw_event, v1_null_maps_and_body_mean_absent) {
    const auto req = parsed(v1_event("GET", "/healthz",
                                     {{"headers", nullptr},
                                      {"multiValueHeaders", nullptr},
                                      {"queryStringParameters", nullptr},
                                      {"multiValueQueryStringParameters", nullptr},
                                      {"body", nullptr},
                                      {"isBase64Encoded", nullptr}}));
    EXPECT_EQ(req.method(), http::verb::get);
    EXPECT_EQ(req.target(), "/healthz");
    EXPECT_TRUE(req.body().empty());
    EXPECT_EQ(req.count(http::field::content_length), 0u);
    EXPECT_EQ(req.version(), 11u);
}

TEST(apigw_event, paths_get_invalid_characters_escaped_and_keep_valid_escapes) {
    EXPECT_EQ(parsed(v1_event("GET", "/a b?c#d")).target(), "/a%20b%3Fc%23d");
    EXPECT_EQ(parsed(v1_event("GET", "/100%")).target(), "/100%25");
    EXPECT_EQ(parsed(v2_event("GET", "/x%2Fy")).target(), "/x%2Fy");
}

TEST(apigw_event, v2_raw_query_string_is_used_as_sent) {
    const auto req = parsed(
        v2_event("GET", "/my/path",
                 {{"rawQueryString", "parameter1=value1&parameter1=value2&x=%20y+z"},
                  {"queryStringParameters", {{"parameter1", "value1,value2"}, {"x", " y z"}}}}));
    EXPECT_EQ(req.target(), "/my/path?parameter1=value1&parameter1=value2&x=%20y+z");
    EXPECT_EQ(parsed(v2_event("GET", "/my/path", {{"rawQueryString", ""}})).target(), "/my/path");
    EXPECT_EQ(parsed(v2_event("GET", "/p", {{"rawQueryString", "a=b c"}})).target(), "/p?a=b%20c");
}

TEST(apigw_event, v2_cookies_become_one_cookie_header) {
    const auto req = parsed(v2_event("GET", "/", {{"cookies", json::array{"a=1", "b=2"}}}));
    EXPECT_EQ(values_of(req, "cookie"), std::vector<std::string>{"a=1; b=2"});
}

TEST(apigw_event, v2_comma_joined_headers_stay_one_field_and_method_comes_from_the_context) {
    const auto req =
        parsed(v2_event("DELETE", "/", {{"headers", {{"accept-encoding", "gzip, deflate"}}}}));
    EXPECT_EQ(req.method(), http::verb::delete_);
    EXPECT_EQ(values_of(req, "Accept-Encoding"), std::vector<std::string>{"gzip, deflate"});
}

TEST(apigw_event, base64_body_is_decoded_and_content_length_set) {
    for (const auto& text :
         {v1_event("POST", "/", {{"body", "aGVsbG8="}, {"isBase64Encoded", true}}),
          v2_event("POST", "/", {{"body", "aGVsbG8"}, {"isBase64Encoded", true}})}) {
        const auto req = parsed(text);
        EXPECT_EQ(req.body(), "hello");
        EXPECT_EQ(req[http::field::content_length], "5");
    }
}

TEST(apigw_event, text_body_replaces_the_events_own_framing_headers) {
    const auto req =
        parsed(v1_event("POST", "/",
                        {{"headers", {{"Content-Length", "999"}, {"Transfer-Encoding", "chunked"}}},
                         {"body", "abc"},
                         {"isBase64Encoded", false}}));
    EXPECT_EQ(req.body(), "abc");
    EXPECT_EQ(values_of(req, "Content-Length"), std::vector<std::string>{"3"});
    EXPECT_EQ(req.count(http::field::transfer_encoding), 0u);
}

TEST(apigw_event, empty_post_still_says_content_length_zero) {
    EXPECT_EQ(parsed(v1_event("POST", "/"))[http::field::content_length], "0");
}

TEST(apigw_event, invalid_base64_body_is_an_invalid_event) {
    auto ev = parse_event(v1_event("POST", "/", {{"body", "aGVs!G8="}, {"isBase64Encoded", true}}),
                          limits);
    ASSERT_FALSE(ev);
    EXPECT_EQ(ev.err().kind, error_kind::bad_request);
    EXPECT_NE(ev.err().message.find("base64"), std::string::npos) << ev.err().message;
}

TEST(apigw_event, body_over_the_limit_is_refused_413_with_headers_kept_and_body_unread) {
    const std::string big(test_max_body_nbytes * 2, 'A'); // decodes to 1.5 × the limit
    auto ev = parse_event(v2_event("POST", "/compress",
                                   {{"headers", {{"content-type", "application/octet-stream"}}},
                                    {"body", big},
                                    {"isBase64Encoded", true}}),
                          limits);
    ASSERT_TRUE(ev) << ev.err().message;
    ASSERT_TRUE(ev->refusal);
    EXPECT_EQ(ev->refusal->kind, error_kind::too_large);
    EXPECT_EQ(ev->version, payload_version::v2);
    EXPECT_EQ(ev->req.target(), "/compress");
    EXPECT_EQ(ev->req[http::field::content_type], "application/octet-stream");
    EXPECT_EQ(ev->req[http::field::content_length], std::to_string(big.size() / 4 * 3));
    EXPECT_TRUE(ev->req.body().empty());
}

TEST(apigw_event, event_over_the_lambda_payload_limit_is_refused_413) {
    const event_limits tight{64, test_max_body_nbytes};
    auto ev = parse_event(v1_event("GET", "/", {{"body", std::string(100, 'x')}}), tight);
    ASSERT_TRUE(ev);
    ASSERT_TRUE(ev->refusal);
    EXPECT_EQ(ev->refusal->kind, error_kind::too_large);
    EXPECT_EQ(oversized_event(65, tight).refusal->kind, error_kind::too_large);
}

TEST(apigw_event, what_is_not_an_api_gateway_event_is_an_error) {
    const std::string bad[] = {
        "not json",
        "[1,2]",
        R"({"hello":"world"})",
        R"({"version":"2.0","rawPath":"/"})",                             // no requestContext.http
        R"({"httpMethod":"GET","path":"/","headers":"x"})",               // headers not an object
        R"({"httpMethod":"GET","path":"/","multiValueHeaders":{"a":1}})", // value not a string
        R"({"httpMethod":"GET","path":"/","body":5})",
        R"({"httpMethod":"GET","path":"/","isBase64Encoded":"yes"})",
        R"({"httpMethod":"G T","path":"/"})", // method not a token
        R"({"httpMethod":"","path":"/"})",
        R"({"httpMethod":"GET","path":"/","headers":{"a b":"1"}})", // name not a token
        R"({"httpMethod":"GET","path":"/","headers":{"x":"1\r\nInjected: 2"}})",
        R"({"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET"}},"cookies":"a"})",
    };
    for (const auto& text : bad) {
        auto ev = parse_event(text, limits);
        ASSERT_FALSE(ev) << text;
        EXPECT_EQ(ev.err().kind, error_kind::bad_request) << text;
    }
}

TEST(apigw_event, real_rest_v1_fixture_is_accepted) {
    const auto text = fixture("rest-v1-request.json");
    ASSERT_FALSE(text.empty());
    auto ev = parse_event(text, limits);
    ASSERT_TRUE(ev) << ev.err().message;
    EXPECT_EQ(ev->version, payload_version::v1);
    EXPECT_EQ(ev->req.method(), http::verb::post);
    EXPECT_EQ(ev->req.target(), "/hello/world?name=me");
    EXPECT_EQ(ev->req["HEADERNAME"], "headerValue");
    EXPECT_EQ(ev->req[http::field::cache_control], "no-cache");
    EXPECT_EQ(values_of(ev->req, "Accept-Encoding"), std::vector<std::string>{"gzip, deflate"});
    EXPECT_EQ(ev->req.body(), "{\r\n\t\"a\": 1\r\n}");
    EXPECT_EQ(ev->req[http::field::content_length], std::to_string(ev->req.body().size()));
}

TEST(apigw_event, real_http_v2_fixture_is_accepted) {
    const auto text = fixture("http-v2-request.json");
    ASSERT_FALSE(text.empty());
    auto ev = parse_event(text, limits);
    ASSERT_TRUE(ev) << ev.err().message;
    EXPECT_EQ(ev->version, payload_version::v2);
    EXPECT_EQ(ev->req.method(), http::verb::get);
    EXPECT_EQ(ev->req.target(), "/my/path?parameter1=value1&parameter1=value2&parameter2=value");
    EXPECT_EQ(ev->req[http::field::cookie], "cookie1; cookie2");
    EXPECT_EQ(ev->req["header1"], "value1");
}

// --- responses -------------------------------------------------------------------------------

TEST(apigw_response, json_body_goes_as_text_without_framing_headers) {
    auto res = text_response("application/json", "{\"status\":\"ok\"}\n");
    res.set(http::field::access_control_allow_origin, "*");
    res.keep_alive(false);
    for (auto v : {payload_version::v1, payload_version::v2}) {
        const auto o = response_json(res, v);
        EXPECT_EQ(o.at("statusCode").as_int64(), 200);
        EXPECT_EQ(o.at("body").as_string(), "{\"status\":\"ok\"}\n");
        EXPECT_EQ(o.at("isBase64Encoded").as_bool(), false);
        const auto& h = o.at("headers").as_object();
        EXPECT_EQ(h.at("Content-Type").as_string(), "application/json");
        EXPECT_EQ(h.at("Access-Control-Allow-Origin").as_string(), "*");
        EXPECT_FALSE(h.contains("Content-Length"));
        EXPECT_FALSE(h.contains("Connection"));
        EXPECT_FALSE(o.contains("multiValueHeaders"));
        EXPECT_FALSE(o.contains("cookies"));
    }
}

TEST(apigw_response, binary_decision_follows_coding_type_and_utf8) {
    struct row {
        std::string_view content_type, coding;
        std::string body;
        bool binary;
    };
    const row rows[] = {
        {"text/html; charset=utf-8", "", "<p>caf\xc3\xa9</p>", false},
        {"application/json", "", "{}", false},
        {"application/problem+json", "", "{}", false},
        {"image/svg+xml", "", "<svg/>", false},
        {"text/javascript", "identity", "x()", false},
        {"text/html", "deflate", "x", true},
        {"text/css", "br", "x", true},
        {"application/octet-stream", "", "abc", true},
        {"image/png", "", "abc", true},
        {"", "", "abc", true},                       // no Content-Type: could be anything
        {"text/plain", "", "\xff\xfe", true},        // not UTF-8
        {"text/plain", "", "\xed\xa0\x80", true},    // a surrogate
        {"text/plain", "", "\xc0\xaf", true},        // overlong
        {"text/plain", "", "\xe2\x82", true},        // truncated
        {"application/octet-stream", "", "", false}, // nothing to encode
    };
    for (const auto& r : rows) {
        auto res = text_response(r.content_type, r.body);
        if (!r.coding.empty()) res.set(http::field::content_encoding, r.coding);
        EXPECT_EQ(is_binary(res), r.binary) << r.content_type << " " << r.coding;
        const auto o = response_json(res, payload_version::v1);
        EXPECT_EQ(o.at("isBase64Encoded").as_bool(), r.binary);
        const std::string sent(o.at("body").as_string());
        EXPECT_EQ(r.binary ? base64_decode(sent).value_or("?") : sent, r.body);
    }
}

TEST(apigw_response, v1_repeated_headers_go_to_multi_value_headers) {
    auto res = text_response("text/plain", "x");
    res.insert(http::field::set_cookie, "a=1");
    res.insert(http::field::set_cookie, "b=2");
    const auto o = response_json(res, payload_version::v1);
    const auto& multi = o.at("multiValueHeaders").as_object();
    EXPECT_EQ(multi.at("Set-Cookie"), (json::array{"a=1", "b=2"}));
    EXPECT_FALSE(o.at("headers").as_object().contains("Set-Cookie"));
    EXPECT_EQ(o.at("headers").as_object().at("Content-Type").as_string(), "text/plain");
}

TEST(apigw_response, v2_set_cookie_goes_to_cookies_and_other_repeats_are_comma_joined) {
    auto res = text_response("text/plain", "x");
    res.insert(http::field::set_cookie, "a=1");
    res.insert(http::field::set_cookie, "b=2");
    res.insert(http::field::vary, "Accept-Encoding");
    res.insert(http::field::vary, "Origin");
    const auto o = response_json(res, payload_version::v2);
    EXPECT_EQ(o.at("cookies"), (json::array{"a=1", "b=2"}));
    EXPECT_EQ(o.at("headers").as_object().at("Vary").as_string(), "Accept-Encoding, Origin");
    EXPECT_FALSE(o.at("headers").as_object().contains("Set-Cookie"));
    EXPECT_FALSE(o.contains("multiValueHeaders"));
}

TEST(apigw_response, tinysite_raw_bytes_become_a_deflate_message_sent_base64) {
    auto msg = to_message({{}, tinysite::get_response()}, false);
    ASSERT_TRUE(msg) << msg.err().message;
    EXPECT_EQ(msg->result(), http::status::ok);
    EXPECT_EQ((*msg)[http::field::content_encoding], "deflate");
    EXPECT_EQ(msg->body(), tinysite::body_zlib());
    for (auto v : {payload_version::v1, payload_version::v2}) {
        const auto o = response_json(*msg, v);
        EXPECT_TRUE(o.at("isBase64Encoded").as_bool());
        EXPECT_EQ(o.at("headers").as_object().at("Content-Encoding").as_string(), "deflate");
        EXPECT_EQ(base64_decode(o.at("body").as_string()), std::string(tinysite::body_zlib()));
    }
}

TEST(apigw_response, tinysite_head_bytes_parse_without_a_body) {
    auto msg = to_message({{}, tinysite::head_response()}, true);
    ASSERT_TRUE(msg) << msg.err().message;
    EXPECT_TRUE(msg->body().empty());
    EXPECT_EQ((*msg)[http::field::content_encoding], "deflate");
}

TEST(apigw_response, tinysite_get_and_head_are_labelled_html_behind_api_gateway) {
    for (bool head : {false, true}) {
        auto msg =
            to_message({{}, head ? tinysite::head_response() : tinysite::get_response()}, head);
        ASSERT_TRUE(msg) << msg.err().message;
        for (auto v : {payload_version::v1, payload_version::v2}) {
            const auto o = response_json(*msg, v);
            const auto& h = o.at("headers").as_object();
            ASSERT_TRUE(h.contains("Content-Type")) << json::serialize(h);
            EXPECT_EQ(h.at("Content-Type").as_string(), "text/html; charset=utf-8") << head;
            EXPECT_EQ(h.at("Content-Encoding").as_string(), "deflate") << head;
        }
    }
}

TEST(apigw_response, a_message_without_content_type_gets_one_and_a_typed_one_keeps_its_own) {
    response no_content{http::status::no_content, 11};
    no_content.prepare_payload();
    auto untyped = to_message({std::move(no_content), {}}, false);
    ASSERT_TRUE(untyped);
    EXPECT_EQ((*untyped)[http::field::content_type], "application/octet-stream");
    EXPECT_FALSE(response_json(*untyped, payload_version::v2).at("isBase64Encoded").as_bool());
    auto typed = to_message({text_response("text/plain", ""), {}}, false);
    ASSERT_TRUE(typed);
    EXPECT_EQ((*typed)[http::field::content_type], "text/plain");
    EXPECT_EQ(typed->count(http::field::content_type), 1u);
}

TEST(apigw_response, message_replies_pass_through_and_broken_raw_bytes_are_an_error) {
    auto msg = to_message({text_response("text/plain", "hi"), {}}, false);
    ASSERT_TRUE(msg);
    EXPECT_EQ(msg->body(), "hi");
    EXPECT_FALSE(to_message({{}, "not http at all\r\n\r\n"}, false));
    EXPECT_FALSE(to_message({{}, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"}, false));
}

// --- base64 ----------------------------------------------------------------------------------

TEST(apigw_base64, rfc4648_test_vectors) {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(plain), encoded);
        EXPECT_EQ(base64_decode(encoded), plain);
    }
}

TEST(apigw_base64, round_trips_every_byte_value_and_length) {
    std::mt19937 gen(42);
    for (std::size_t n = 0; n < 300; ++n) {
        std::string bytes(n, '\0');
        for (auto& b : bytes)
            b = static_cast<char>(gen() & 0xff);
        EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes) << n;
    }
}

TEST(apigw_base64, unpadded_input_is_accepted) {
    EXPECT_EQ(base64_decode("Zg"), "f");
    EXPECT_EQ(base64_decode("Zm8"), "fo");
}

TEST(apigw_base64, invalid_input_is_refused) {
    for (const char* bad :
         {"Zm9v!", "Z", "Zm9vY", "Zg=", "Zg===", "=Zg=", "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm-_"}) {
        EXPECT_FALSE(base64_decode(bad)) << bad;
    }
}

} // namespace
} // namespace compresstest::apigw
