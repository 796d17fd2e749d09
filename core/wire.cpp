#include "wire.hpp"

#include "text.hpp"

#include <fmt/format.h>

#include <charconv>

namespace compresstest::wire {

std::string response_head(std::string_view content_type, std::string_view content_encoding,
                          std::size_t body_nbytes) {
    std::string head = "HTTP/1.1 200 OK\r\n";
    if (!content_type.empty()) head += fmt::format("Content-Type: {}\r\n", content_type);
    if (!content_encoding.empty() && content_encoding != "identity")
        head += fmt::format("Content-Encoding: {}\r\n", content_encoding);
    head += fmt::format("Content-Length: {}\r\n\r\n", body_nbytes);
    return head;
}

std::size_t response_nbytes(std::string_view content_type, std::string_view content_encoding,
                            std::size_t body_nbytes) {
    return response_head(content_type, content_encoding, body_nbytes).size() + body_nbytes;
}

std::size_t segments(std::size_t nbytes, std::size_t mss) {
    return nbytes / mss + (nbytes % mss != 0);
}

std::size_t round_trips(std::size_t nsegments, std::size_t initial_window) {
    std::size_t trips = 0;
    for (std::size_t sent = 0, window = initial_window; sent < nsegments; window *= 2) {
        sent += window;
        ++trips;
    }
    return trips;
}

figures figures_of(std::string_view content_type, std::string_view content_encoding,
                   std::size_t body_nbytes) {
    figures f{content_encoding.empty() ? "identity" : content_encoding,
              response_nbytes(content_type, content_encoding, body_nbytes),
              0,
              0,
              0,
              0};
    f.segments_mss1460 = segments(f.response_nbytes, mss_ethernet);
    f.segments_mss536 = segments(f.response_nbytes, mss_minimum);
    f.round_trips_mss1460 = round_trips(f.segments_mss1460);
    f.round_trips_mss536 = round_trips(f.segments_mss536);
    return f;
}

std::string to_json(const figures& f) {
    return fmt::format(R"({{"content_encoding":"{}","response_bytes":{},"segments_mss1460":{},)"
                       R"("segments_mss536":{},"round_trips_mss1460":{},"round_trips_mss536":{}}})",
                       f.content_encoding, f.response_nbytes, f.segments_mss1460, f.segments_mss536,
                       f.round_trips_mss1460, f.round_trips_mss536);
}

namespace {

// A qvalue (RFC 9110 §12.4.2): "0" or "1" with up to three decimals; anything else is none.
std::optional<double> parse_q(std::string_view s) {
    if (s.empty() || s.size() > 5 || (s[0] != '0' && s[0] != '1')) return std::nullopt;
    if (s.size() > 1 && s[1] != '.') return std::nullopt;
    double q = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), q);
    if (ec != std::errc{} || end != s.data() + s.size() || q > 1) return std::nullopt;
    return q;
}

struct element {
    std::string_view coding;
    double q;
};

} // namespace

std::optional<double> q_of(std::string_view params) {
    double q = 1;
    while (!params.empty()) {
        const auto next = params.find(';');
        const auto param = text::trim_ows(params.substr(0, next));
        params.remove_prefix(next == std::string_view::npos ? params.size() : next + 1);
        const auto eq = param.find('=');
        if (eq == std::string_view::npos) continue;
        if (text::iequals(text::trim_ows(param.substr(0, eq)), "q")) {
            const auto v = parse_q(text::trim_ows(param.substr(eq + 1)));
            if (!v) return std::nullopt;
            q = *v;
        }
    }
    return q;
}

namespace {

// Calls each(element) for every well-formed element of the header; others are skipped.
template <class F> void for_each_element(std::string_view header, F each) {
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header.remove_prefix(comma == std::string_view::npos ? header.size() : comma + 1);
        const auto semi = item.find(';');
        const auto coding = text::trim_ows(item.substr(0, semi));
        if (!text::is_token(coding)) continue;
        const auto q =
            q_of(semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1));
        if (q) each(element{coding, *q});
    }
}

bool same_coding(std::string_view listed, std::string_view coding) {
    auto canonical = [](std::string_view c) -> std::string_view {
        return text::iequals(c, "x-gzip") ? "gzip" : c;
    };
    return text::iequals(canonical(listed), canonical(coding));
}

} // namespace

double accepted_q(std::optional<std::string_view> accept_encoding, std::string_view coding) {
    if (!accept_encoding) return 1;
    std::optional<double> named, star;
    for_each_element(*accept_encoding, [&](const element& e) {
        if (same_coding(e.coding, coding))
            named = std::max(named.value_or(0), e.q);
        else if (e.coding == "*")
            star = std::max(star.value_or(0), e.q);
    });
    if (named) return *named;
    if (star) return *star;
    return text::iequals(coding, "identity") ? 1 : 0;
}

std::optional<std::size_t> choose(std::optional<std::string_view> accept_encoding,
                                  std::span<const candidate> candidates) {
    std::optional<std::size_t> best;
    double best_q = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const double q = accepted_q(accept_encoding, candidates[i].content_encoding);
        if (q <= 0) continue;
        if (!best || q > best_q ||
            (q == best_q && candidates[i].response_nbytes < candidates[*best].response_nbytes)) {
            best = i;
            best_q = q;
        }
    }
    return best;
}

} // namespace compresstest::wire
