// Streaming multipart/form-data parser (RFC 7578 on RFC 2046), bounded by caller limits.
#pragma once

#include "result.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace compresstest::multipart {

// RFC 2046 §5.1.1: a boundary is 1 to 70 characters.
inline constexpr std::size_t max_boundary_nbytes = 70;

// Limits are parameters so the server can take them from its config.
struct limits {
    std::size_t max_parts = 16; // parts in one body
    // All header lines of one part together, each counted with its CRLF; the empty line that
    // ends the headers is not counted.
    std::size_t max_header_nbytes = 8192;
    std::size_t max_name_nbytes = 256; // the name= and filename= values, after unquoting
};

// Precise reasons a body is refused. to_string() gives a sentence for the error JSON.
enum class parse_error {
    no_boundary,               // Content-Type lacks a usable boundary parameter
    boundary_too_long,         // boundary over RFC 2046's 70 characters
    not_multipart_form,        // Content-Type is not multipart/form-data
    missing_first_boundary,    // body never contains the opening delimiter
    missing_closing_delimiter, // body ends before "--boundary--"
    header_too_long,           // a part's headers exceed max_header_nbytes
    malformed_header,          // bad header line, folding, parameter syntax or duplicate
    missing_content_disposition,
    not_form_data,      // Content-Disposition is not form-data
    missing_name,       // Content-Disposition has no name parameter
    name_too_long,      // name or filename over max_name_nbytes
    too_many_parts,     // more than max_parts parts
    bad_delimiter_line, // delimiter followed by something other than CRLF or "--"
};
// A sentence saying what is wrong and what to fix; BOUNDARY stands for the boundary parameter.
std::string_view to_string(parse_error e);

// One part's headers as the parser hands them over (owned copies; headers are small).
struct part_header {
    std::string name;          // may be empty when the client sent name=""
    std::string filename;      // empty when the part has no filename parameter
    bool has_filename = false; // a file field with an empty filename still counts as a file
    std::string content_type;  // the part's Content-Type, empty when absent
};

// The scans find_delimiter is built from; each reads at most the n bytes it is given. Ranges up
// to inline_scan_nbytes are scanned in a loop, longer ones by memchr, memrchr and memcmp: a short
// boundary makes many short windows, where a call would cost more than the scan.
struct byte_scans {
    static constexpr std::size_t inline_scan_nbytes = 16;
    // The first c in [p, p + n), or null.
    static const char* first_of(const char* p, std::size_t n, char c) {
        const std::size_t head_nbytes = std::min(n, inline_scan_nbytes);
        for (std::size_t i = 0; i < head_nbytes; ++i)
            if (p[i] == c) return p + i;
        if (n == head_nbytes) return nullptr;
        return static_cast<const char*>(std::memchr(p + head_nbytes, c, n - head_nbytes));
    }
    // The last c in [p, p + n), or null.
    static const char* last_of(const char* p, std::size_t n, char c) {
        if (n > inline_scan_nbytes) return static_cast<const char*>(memrchr(p, c, n));
        while (n != 0)
            if (p[--n] == c) return p + n;
        return nullptr;
    }
    // Whether [a, a + n) and [b, b + n) hold the same bytes.
    static bool equal(const char* a, const char* b, std::size_t n) {
        if (n > inline_scan_nbytes) return std::memcmp(a, b, n) == 0;
        return std::equal(a, a + n, b);
    }
};

// The delimiter search the parser runs on part data, in linear time whatever the text, so a body
// built against it cannot stall the thread parsing it. Returns the offset of the first complete
// delimiter in text; failing that, of the suffix of text that is a proper prefix of delimiter
// (the next chunk may complete it); failing that, text.size(). So a complete delimiter was found
// iff text.size() - result >= delimiter.size().
// Requires a non-empty delimiter whose first byte occurs nowhere else in it, as CR in
// CR LF "--" boundary (a boundary holds no CR). Then a candidate (a first byte in text) begins
// an occurrence only if the rest of its window (delimiter.size() bytes) holds no first byte; if
// it does, the last one there is the next candidate, since each first byte in between has that
// one in its window. So each byte is read at most twice: by first_of (between windows), or by
// last_of (once: only the bytes a window adds to the one before) and by equal (only windows free
// of first bytes, which never overlap). scans is a parameter so tests can count the bytes read.
template <class scans = byte_scans>
std::size_t find_delimiter(std::string_view text, std::string_view delimiter) {
    const char first = delimiter.front();
    const char* const begin = text.data();
    const std::size_t text_nbytes = text.size();
    std::size_t free_until = 0; // bytes after the candidate and before this hold no first byte
    const char* candidate = scans::first_of(begin, text_nbytes, first);
    while (candidate != nullptr) {
        const auto at = static_cast<std::size_t>(candidate - begin);
        const std::size_t end = std::min(at + delimiter.size(), text_nbytes);
        const std::size_t from = std::max(at + 1, free_until);
        free_until = end;
        if (const char* last = scans::last_of(begin + from, end - from, first)) {
            candidate = last;
        } else if (scans::equal(candidate + 1, delimiter.data() + 1, end - at - 1)) {
            return at;
        } else {
            candidate = scans::first_of(begin + end, text_nbytes - end, first);
        }
    }
    return text_nbytes;
}

// Push parser: feed() the body in chunks of any size (a chunk boundary may fall anywhere,
// including inside a delimiter), then finish(). Callbacks fire in order:
// on_part_begin, on_part_data (zero or more times, never with empty data), on_part_end for
// each part; on_part_end fires only once the delimiter line after the part is complete.
// Data views point into the fed chunk or the parser's small look-behind buffer and are valid
// only during the callback; when the whole body is fed in one chunk each part's data arrives
// in one call, as a view into that chunk. Results (parts and error) do not depend on how the
// body is split into chunks. Any callback may be empty.
// Tolerated: preamble and epilogue, transport padding (SP/HTAB) after a boundary, no CRLF after
// the closing delimiter, a body with no parts, a part whose headers' empty line is followed
// directly by "--BOUNDARY" (RFC 2046: the body and its CRLF are optional; the part is empty).
// Refused: a line starting with "--BOUNDARY" that is not a delimiter, bare CR/LF or control
// characters in headers. Not thread-safe; one parser per body. Memory held is O(max_header_nbytes +
// boundary); time is linear in the body's size, whatever its bytes (find_delimiter).
class parser {
public:
    struct callbacks {
        std::function<void(const part_header&)> on_part_begin;
        std::function<void(std::string_view data)> on_part_data;
        std::function<void()> on_part_end;
    };

    // content_type is the request's full Content-Type header value. Errors: not_multipart_form
    // (error_kind::unsupported_type), no_boundary or boundary_too_long (error_kind::bad_request).
    static result<std::string> boundary_from_content_type(std::string_view content_type);

    // boundary as returned by boundary_from_content_type (without the leading "--"). A boundary
    // it would refuse (which may hold a CR, so find_delimiter's requirement fails) makes the
    // parser fail at once: feed() and finish() return false, error() says why.
    parser(std::string boundary, limits lim, callbacks cb);
    ~parser();
    parser(const parser&) = delete;
    parser& operator=(const parser&) = delete;

    // Returns the first error; after an error further calls return the same error.
    // Returns true while parsing can continue (bytes after the closing delimiter are ignored).
    bool feed(std::string_view chunk);
    // Call once at the end of the body; false if the closing delimiter was never seen.
    bool finish();
    // Valid after feed()/finish() returned false.
    parse_error error() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Convenience for a body already in memory: every part with its data as a view into body.
struct form_part {
    part_header header;
    std::string_view data; // view into the body passed to parse_form
};
struct form {
    std::vector<form_part> parts;
    const form_part* find(std::string_view name) const; // first part with that name, or null
};
// Parses a whole in-memory body without copying part data: each part's data is one view into
// body (body must outlive the form). Errors: error{bad_request, to_string(e)}, or
// error{unsupported_type, …} when content_type is not multipart/form-data.
result<form> parse_form(std::string_view content_type, std::string_view body, const limits& lim);

} // namespace compresstest::multipart
