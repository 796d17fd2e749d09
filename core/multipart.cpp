// Streaming multipart/form-data parser: Content-Type boundary, delimiter search, part headers.
#include "multipart.hpp"

#include "text.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace compresstest::multipart {
namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view dash_dash = "--";
constexpr std::string_view end_of_headers = "\r\n\r\n";

using text::iequals;
using text::is_ctl;
using text::is_ows;
using text::is_tchar;
using text::trim_ows;

// RFC 2046 §5.1.1 bchars (space allowed, but not as the last character).
bool is_bchar(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= '0' && u <= '9') return true;
    if ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') return true;
    return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

std::size_t saturating_add(std::size_t a, std::size_t b) {
    return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                           : a + b;
}

// RFC 2046 §5.1.1: 1 to 70 bchars, the last not a space. Also what find_delimiter requires of the
// delimiter: bchars exclude CR, so CR begins CR LF "--" boundary and occurs nowhere else in it.
std::optional<parse_error> boundary_error(std::string_view boundary) {
    if (boundary.empty()) return parse_error::no_boundary;
    if (boundary.size() > max_boundary_nbytes) return parse_error::boundary_too_long;
    if (!std::all_of(boundary.begin(), boundary.end(), is_bchar) || boundary.back() == ' ')
        return parse_error::no_boundary;
    return std::nullopt;
}

error make_error(parse_error e) {
    const auto kind = e == parse_error::not_multipart_form ? error_kind::unsupported_type
                                                           : error_kind::bad_request;
    return error{kind, std::string(to_string(e))};
}

// Reads RFC 9110 header-value pieces (tokens, quoted strings, parameters) left to right.
class cursor {
public:
    explicit cursor(std::string_view s) : rest_(s) {}

    bool at_end() const { return rest_.empty(); }
    bool next_is(char c) const { return !rest_.empty() && rest_.front() == c; }
    void skip_ows() {
        while (!rest_.empty() && is_ows(rest_.front()))
            rest_.remove_prefix(1);
    }
    bool consume(char c) {
        if (!next_is(c)) return false;
        rest_.remove_prefix(1);
        return true;
    }
    std::string_view token() {
        const auto end = std::find_if_not(rest_.begin(), rest_.end(), is_tchar);
        const auto n = static_cast<std::size_t>(end - rest_.begin());
        const auto tok = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return tok;
    }
    // token / quoted-string (with backslash escapes); false when neither is there or a quote
    // is not closed.
    bool value(std::string& out) {
        out.clear();
        if (!consume('"')) {
            out.assign(token());
            return !out.empty();
        }
        while (!rest_.empty()) {
            char c = rest_.front();
            rest_.remove_prefix(1);
            if (c == '"') return true;
            if (c == '\\') {
                if (rest_.empty()) return false;
                c = rest_.front();
                rest_.remove_prefix(1);
            }
            out.push_back(c);
        }
        return false;
    }

private:
    std::string_view rest_;
};

// Parses *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] ) to the end of c, calling
// on_param(name, value) for each parameter. False on a syntax error or when on_param refuses.
template <class on_param_fn> bool parse_parameters(cursor& c, on_param_fn&& on_param) {
    std::string value;
    for (;;) {
        c.skip_ows();
        if (c.at_end()) return true;
        if (!c.consume(';')) return false;
        c.skip_ows();
        if (c.at_end() || c.next_is(';')) continue; // empty parameter, allowed by RFC 9110
        const auto name = c.token();
        if (name.empty() || !c.consume('=') || !c.value(value)) return false;
        if (!on_param(name, std::move(value))) return false;
    }
}

struct header_field {
    std::string_view name;
    std::string value;
};

// Splits a header block (lines each ending in CRLF) into fields, unfolding continuation lines.
std::optional<parse_error> split_fields(std::string_view block, std::vector<header_field>& fields) {
    while (!block.empty()) {
        const auto eol = block.find(crlf);
        const auto line = block.substr(0, eol);
        block.remove_prefix(eol + crlf.size());
        if (std::any_of(line.begin(), line.end(), is_ctl)) return parse_error::malformed_header;
        if (is_ows(line.front())) { // obsolete line folding continues the previous field
            if (fields.empty()) return parse_error::malformed_header;
            fields.back().value.append(line);
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return parse_error::malformed_header;
        const auto name = line.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), is_tchar)) return parse_error::malformed_header;
        fields.push_back(header_field{name, std::string(line.substr(colon + 1))});
    }
    for (auto& f : fields)
        f.value = std::string(trim_ows(f.value));
    return std::nullopt;
}

// Fills out from Content-Disposition: form-data; name=…; filename=… (RFC 7578 §4.2).
std::optional<parse_error> parse_disposition(std::string_view value, const limits& lim,
                                             part_header& out) {
    cursor c(value);
    if (!iequals(c.token(), "form-data")) return parse_error::not_form_data;
    std::optional<std::string> name;
    std::optional<std::string> filename;
    const bool ok = parse_parameters(c, [&](std::string_view key, std::string v) {
        auto* slot = iequals(key, "name") ? &name : iequals(key, "filename") ? &filename : nullptr;
        if (slot == nullptr) return true;    // filename* and others: RFC 7578 §4.2 says ignore
        if (slot->has_value()) return false; // a duplicate is ambiguous
        *slot = std::move(v);
        return true;
    });
    if (!ok) return parse_error::malformed_header;
    if (!name) return parse_error::missing_name;
    if (name->size() > lim.max_name_nbytes) return parse_error::name_too_long;
    if (filename && filename->size() > lim.max_name_nbytes) return parse_error::name_too_long;
    out.name = std::move(*name);
    out.has_filename = filename.has_value();
    out.filename = std::move(filename).value_or(std::string());
    return std::nullopt;
}

// Parses one part's header block (header lines with their CRLFs, without the empty line).
std::optional<parse_error> parse_part_header(std::string_view block, const limits& lim,
                                             part_header& out) {
    std::vector<header_field> fields;
    if (auto e = split_fields(block, fields)) return e;
    const header_field* disposition = nullptr;
    const header_field* type = nullptr;
    for (const auto& f : fields) {
        auto** slot = iequals(f.name, "content-disposition") ? &disposition
                      : iequals(f.name, "content-type")      ? &type
                                                             : nullptr;
        if (slot == nullptr) continue;
        if (*slot != nullptr) return parse_error::malformed_header; // duplicate is ambiguous
        *slot = &f;
    }
    if (disposition == nullptr) return parse_error::missing_content_disposition;
    if (auto e = parse_disposition(disposition->value, lim, out)) return e;
    if (type != nullptr) out.content_type = type->value;
    return std::nullopt;
}

} // namespace

std::string_view to_string(parse_error e) {
    switch (e) {
    case parse_error::no_boundary:
        return "Content-Type needs a boundary parameter, e.g. multipart/form-data; boundary=XYZ, "
               "of 1 to 70 letters, digits or '()+_,-./:=? characters";
    case parse_error::boundary_too_long:
        return "the multipart boundary is longer than the 70 characters RFC 2046 allows; use a "
               "shorter boundary";
    case parse_error::not_multipart_form:
        return "Content-Type is not multipart/form-data; send the form as multipart/form-data";
    case parse_error::missing_first_boundary:
        return "multipart body has no opening boundary line \"--BOUNDARY\"; make the body use the "
               "boundary given in Content-Type";
    case parse_error::missing_closing_delimiter:
        return "multipart body has no closing delimiter \"--BOUNDARY--\"; send the complete body";
    case parse_error::header_too_long:
        return "a multipart part's headers are longer than the server allows; send shorter part "
               "headers (e.g. a shorter filename)";
    case parse_error::malformed_header:
        return "a multipart part header is malformed or repeated; write each header as "
               "\"Name: value\" ending in CRLF, end the headers with an empty line, and quote "
               "parameter values containing special characters";
    case parse_error::missing_content_disposition:
        return "a multipart part has no Content-Disposition header; add "
               "Content-Disposition: form-data; name=\"FIELD\"";
    case parse_error::not_form_data:
        return "a multipart part's Content-Disposition is not form-data; use "
               "Content-Disposition: form-data; name=\"FIELD\"";
    case parse_error::missing_name:
        return "a multipart part's Content-Disposition has no name parameter; add name=\"FIELD\"";
    case parse_error::name_too_long:
        return "a multipart part's name or filename is longer than the server allows; use a "
               "shorter field name or filename";
    case parse_error::too_many_parts:
        return "multipart body has more parts than the server allows; send fewer form fields";
    case parse_error::bad_delimiter_line:
        return "a multipart line starting with \"--BOUNDARY\" is followed by something other "
               "than CRLF or \"--\"; the boundary must not begin a line inside part data";
    }
    return "multipart body is malformed";
}

result<std::string> parser::boundary_from_content_type(std::string_view content_type) {
    cursor c(content_type);
    c.skip_ows();
    const auto type = c.token();
    const bool slash = c.consume('/');
    const auto subtype = c.token();
    if (!slash || !iequals(type, "multipart") || !iequals(subtype, "form-data")) {
        return make_error(parse_error::not_multipart_form);
    }
    std::optional<std::string> boundary;
    const bool ok = parse_parameters(c, [&](std::string_view key, std::string value) {
        if (!iequals(key, "boundary")) return true;
        if (boundary) return false; // two boundaries: refuse rather than guess
        boundary = std::move(value);
        return true;
    });
    if (!ok || !boundary) return make_error(parse_error::no_boundary);
    if (auto e = boundary_error(*boundary)) return make_error(*e);
    return std::move(*boundary);
}

struct parser::impl {
    enum class state {
        preamble,       // looking for the first delimiter, discarding bytes
        after_boundary, // "--BOUNDARY" seen: "--", padding or CRLF must follow
        after_dash,     // "--BOUNDARY-" seen
        padding,        // transport padding after the boundary
        after_cr,       // CR seen at the end of a delimiter line
        headers,        // collecting a part's header block
        data,           // passing part data through, looking for the next delimiter
        done,           // closing delimiter seen; the epilogue is ignored
        failed,
    };

    impl(std::string boundary, limits lim, callbacks cb)
        : delimiter_(std::string(crlf).append(dash_dash).append(boundary)), limits_(lim),
          cb_(std::move(cb)) {
        if (auto e = boundary_error(boundary)) {
            fail(*e);
            return;
        }
        imply_crlf(); // the opening "--BOUNDARY" may start the body
    }

    bool feed(std::string_view chunk) {
        while (!chunk.empty()) {
            switch (state_) {
            case state::failed:
                return false;
            case state::done:
                return true;
            case state::preamble:
            case state::data:
                scan_for_delimiter(chunk);
                break;
            case state::headers:
                if (!take_headers(chunk)) return false;
                break;
            case state::after_boundary:
            case state::after_dash:
            case state::padding:
            case state::after_cr:
                if (!take_delimiter_line_byte(chunk.front())) return false;
                chunk.remove_prefix(1);
                break;
            }
        }
        return state_ != state::failed;
    }

    bool finish() {
        switch (state_) {
        case state::failed:
            return false;
        case state::done:
            return true;
        case state::preamble:
            return fail(parse_error::missing_first_boundary);
        default:
            return fail(parse_error::missing_closing_delimiter);
        }
    }

    bool fail(parse_error e) {
        error_ = e;
        state_ = state::failed;
        return false;
    }

    // Where a delimiter may come without a CRLF of its own (at the start of the body, and right
    // after a part's headers, whose empty line lends its CRLF: RFC 2046 body-part =
    // MIME-part-headers [CRLF *OCTET]), act as if a CRLF had just been seen.
    void imply_crlf() {
        look_behind_.assign(crlf);
        implied_nbytes_ = crlf.size();
    }

    void emit(std::string_view bytes) {
        if (state_ == state::data && !bytes.empty() && cb_.on_part_data) cb_.on_part_data(bytes);
    }

    // Consumes data (or preamble) up to and including the next delimiter, or all of chunk,
    // holding back a tail that may be the start of a delimiter split across chunks.
    void scan_for_delimiter(std::string_view& chunk) {
        if (!look_behind_.empty()) {
            const std::size_t need = delimiter_.size() - look_behind_.size();
            const std::size_t take = std::min(need, chunk.size());
            if (delimiter_.compare(look_behind_.size(), take, chunk.data(), take) == 0) {
                if (take < need) { // still a prefix, and chunk is used up
                    look_behind_.append(chunk);
                    chunk = {};
                    return;
                }
                chunk.remove_prefix(take);
                look_behind_.clear();
                implied_nbytes_ = 0;
                state_ = state::after_boundary;
                return;
            }
            // The delimiter holds '\r' only at its start, so no later delimiter can begin
            // inside the look-behind: all of it that was really sent is data.
            emit(std::string_view(look_behind_).substr(implied_nbytes_));
            look_behind_.clear();
            implied_nbytes_ = 0;
        }
        // Linear whatever the bytes, so a body built against the search cannot stall the thread.
        const auto pos = find_delimiter(chunk, delimiter_);
        emit(chunk.substr(0, pos));
        if (chunk.size() - pos >= delimiter_.size()) {
            chunk.remove_prefix(pos + delimiter_.size());
            state_ = state::after_boundary;
            return;
        }
        look_behind_.assign(chunk.substr(pos)); // empty, or a delimiter prefix cut off by the end
        implied_nbytes_ = 0;
        chunk = {};
    }

    // RFC 2046 §5.1.1: delimiter transport-padding CRLF, or close-delimiter ("--").
    bool take_delimiter_line_byte(char c) {
        switch (state_) {
        case state::after_boundary:
            if (c == '-') {
                state_ = state::after_dash;
                return true;
            }
            [[fallthrough]];
        case state::padding:
            if (is_ows(c)) {
                state_ = state::padding;
                return true;
            }
            if (c != '\r') return fail(parse_error::bad_delimiter_line);
            state_ = state::after_cr;
            return true;
        case state::after_dash:
            if (c != '-') return fail(parse_error::bad_delimiter_line);
            end_part();
            state_ = state::done;
            return true;
        default: // state::after_cr
            if (c != '\n') return fail(parse_error::bad_delimiter_line);
            return begin_part();
        }
    }

    void end_part() {
        if (!in_part_) return;
        in_part_ = false;
        if (cb_.on_part_end) cb_.on_part_end();
    }

    bool begin_part() {
        end_part();
        if (part_count_ >= limits_.max_parts) return fail(parse_error::too_many_parts);
        ++part_count_;
        header_buf_.clear();
        header_scan_from_ = 0;
        state_ = state::headers;
        return true;
    }

    // Collects the header block up to its empty line; never holds more than the limit allows.
    bool take_headers(std::string_view& chunk) {
        // The lines may use max_header_nbytes; the empty line that ends them adds a CRLF.
        const std::size_t cap = saturating_add(limits_.max_header_nbytes, crlf.size());
        const std::size_t old_size = header_buf_.size();
        const std::size_t take = std::min(chunk.size(), cap - old_size);
        header_buf_.append(chunk.data(), take);
        std::size_t block_nbytes = 0; // header lines plus the empty line
        if (std::string_view(header_buf_).starts_with(crlf)) {
            block_nbytes = crlf.size();
        } else if (const auto pos = header_buf_.find(end_of_headers, header_scan_from_);
                   pos != std::string::npos) {
            block_nbytes = pos + end_of_headers.size();
        }
        if (block_nbytes == 0) {
            if (header_buf_.size() >= cap) return fail(parse_error::header_too_long);
            header_scan_from_ =
                header_buf_.size() - std::min(header_buf_.size(), end_of_headers.size() - 1);
            chunk.remove_prefix(take);
            return true;
        }
        chunk.remove_prefix(block_nbytes - old_size);
        part_header header;
        const auto lines = std::string_view(header_buf_).substr(0, block_nbytes - crlf.size());
        if (auto e = parse_part_header(lines, limits_, header)) return fail(*e);
        in_part_ = true;
        state_ = state::data;
        imply_crlf();
        if (cb_.on_part_begin) cb_.on_part_begin(header);
        return true;
    }

    const std::string delimiter_; // CRLF "--" boundary
    const limits limits_;
    const callbacks cb_;
    state state_ = state::preamble;
    parse_error error_ = parse_error::missing_first_boundary;
    std::string look_behind_;        // tail of earlier input that is a proper prefix of delimiter_
    std::size_t implied_nbytes_ = 0; // leading bytes of look_behind_ that were never sent
    std::string header_buf_;
    std::size_t header_scan_from_ = 0;
    std::size_t part_count_ = 0;
    bool in_part_ = false;
};

parser::parser(std::string boundary, limits lim, callbacks cb)
    : impl_(std::make_unique<impl>(std::move(boundary), lim, std::move(cb))) {}
parser::~parser() = default;

bool parser::feed(std::string_view chunk) {
    return impl_->feed(chunk);
}
bool parser::finish() {
    return impl_->finish();
}
parse_error parser::error() const {
    return impl_->error_;
}

const form_part* form::find(std::string_view name) const {
    const auto it = std::find_if(parts.begin(), parts.end(),
                                 [&](const form_part& p) { return p.header.name == name; });
    return it == parts.end() ? nullptr : &*it;
}

result<form> parse_form(std::string_view content_type, std::string_view body, const limits& lim) {
    auto boundary = parser::boundary_from_content_type(content_type);
    if (!boundary) return boundary.err();
    form f;
    parser p(std::move(boundary).value(), lim,
             parser::callbacks{
                 [&f](const part_header& h) {
                     f.parts.push_back(form_part{h, {}});
                 },
                 // Fed in one chunk, each part's data arrives in one call as a view into body.
                 [&f](std::string_view data) { f.parts.back().data = data; },
                 {},
             });
    if (!p.feed(body) || !p.finish()) return make_error(p.error());
    return f;
}

} // namespace compresstest::multipart
