// Text helpers for protocol parsing and logging, each defined once: tokens, OWS, case, UTF-8.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace compresstest::text {

// RFC 9110 §5.6.2 tchar: the characters of a token (field names, codings, media types).
constexpr bool is_tchar(char c) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

constexpr bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

// RFC 9110 §5.6.3 OWS: spaces and horizontal tabs.
constexpr bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

// A control character other than HTAB (RFC 9110 §5.5: not allowed in a field value); covers a
// bare CR or LF inside a header line.
constexpr bool is_ctl(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
}

constexpr std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

constexpr char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// ASCII case-insensitive equality (tokens, header names, codings); locale-independent.
constexpr bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

// The length of the well-formed UTF-8 sequence starting s[i] (RFC 3629: no overlong forms,
// surrogates or code points above U+10FFFF), or 0 when the bytes there are not one.
constexpr std::size_t utf8_sequence_nbytes(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xe  ? 3
                          : (c >> 3) == 0x1e ? 4
                                             : 0;
    if (n == 0 || i + n > s.size()) return 0;
    if (n == 1) return 1;
    std::uint32_t cp = c & (0xff >> (n + 1));
    for (std::size_t k = 1; k < n; ++k) {
        const auto cont = static_cast<unsigned char>(s[i + k]);
        if ((cont >> 6) != 0x2) return 0;
        cp = (cp << 6) | (cont & 0x3f);
    }
    constexpr std::uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    const bool ok = cp >= min_cp[n] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    return ok ? n : 0;
}

constexpr bool is_valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto n = utf8_sequence_nbytes(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// s with every byte that does not start a well-formed sequence replaced by U+FFFD, so text
// quoted from a client can go into JSON (which must be UTF-8).
inline std::string to_valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        if (const auto n = utf8_sequence_nbytes(s, i); n > 0) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

// s as a JSON string literal, quotes included: valid UTF-8 (to_valid_utf8), with the quote,
// the backslash and control characters escaped.
inline std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : to_valid_utf8(s)) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            constexpr char hex[] = "0123456789abcdef";
            out += "\\u00";
            out += hex[(c >> 4) & 0xf];
            out += hex[c & 0xf];
        } else {
            out += c;
        }
    }
    return out + '"';
}

// At most max_nbytes of s with every byte outside visible ASCII as '?', so a log line built
// from what a client sent is always one line of text.
inline std::string printable(std::string_view s, std::size_t max_nbytes) {
    std::string out(s.substr(0, max_nbytes));
    for (char& c : out)
        if (c <= 0x20 || c >= 0x7f) c = '?';
    return out;
}

} // namespace compresstest::text
