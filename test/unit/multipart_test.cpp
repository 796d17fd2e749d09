// Unit tests for the multipart/form-data parser: captured client bodies, errors, limits, chunking.
#include "multipart.hpp"

#include "counting_scans.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef COMPRESSTEST_TEST_DATA_DIR
#define COMPRESSTEST_TEST_DATA_DIR "test/data"
#endif

namespace mp = compresstest::multipart;
using compresstest::error_kind;
using mp::parse_error;

namespace {

constexpr std::size_t max_chunk_nbytes = 64; // chunk sizes 1..64 in the chunking property
const std::string boundary = "XyZ";
const std::string content_type = "multipart/form-data; boundary=" + boundary;
const std::string open_line = "--" + boundary + "\r\n";
const std::string next_line = "\r\n--" + boundary + "\r\n";
const std::string close_line = "\r\n--" + boundary + "--\r\n";

std::string disposition(std::string_view params) {
    return "Content-Disposition: form-data; " + std::string(params) + "\r\n";
}

// A body with one text field: name="f", value as given.
std::string one_field(std::string_view value) {
    return open_line + disposition("name=\"f\"") + "\r\n" + std::string(value) + close_line;
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot open " << path;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string data_path(std::string_view name) {
    return std::string(COMPRESSTEST_TEST_DATA_DIR) + "/multipart/" + std::string(name);
}

struct captured {
    std::string content_type;
    std::string body;
};

captured load(std::string_view name) {
    return {read_bytes(data_path(std::string(name) + ".content-type")),
            read_bytes(data_path(std::string(name) + ".body"))};
}

const std::vector<std::string> captured_names = {
    "curl_file",
    "curl_text",
    "curl_file_and_text",
    "curl_text_and_codecs",
    "python_requests_file_and_codecs",
};

// What a parse produced, comparable across the streaming and in-memory paths.
struct recorded_part {
    std::string name;
    std::string filename;
    bool has_filename = false;
    std::string content_type;
    std::string data;
    bool operator==(const recorded_part&) const = default;
};
struct outcome {
    std::vector<recorded_part> parts;
    std::string error; // empty on success
    bool operator==(const outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
    if (!o.error.empty()) return os << "error: " << o.error;
    for (const auto& p : o.parts) {
        os << "[name=" << p.name << " filename=" << p.filename << " has_filename=" << p.has_filename
           << " type=" << p.content_type << " data(" << p.data.size() << ")=" << p.data << "]";
    }
    return os;
}

recorded_part record(const mp::part_header& h) {
    return {h.name, h.filename, h.has_filename, h.content_type, {}};
}

outcome parse_whole(std::string_view ct, std::string_view body, const mp::limits& lim = {}) {
    const auto f = mp::parse_form(ct, body, lim);
    if (!f) return {{}, f.err().message};
    outcome out;
    for (const auto& p : f->parts) {
        out.parts.push_back(record(p.header));
        out.parts.back().data = std::string(p.data);
    }
    return out;
}

outcome parse_chunked(std::string_view ct, std::string_view body, std::size_t chunk_nbytes,
                      const mp::limits& lim = {}) {
    auto b = mp::parser::boundary_from_content_type(ct);
    if (!b) return {{}, b.err().message};
    outcome out;
    std::size_t ended = 0;
    mp::parser p(b.value(), lim,
                 {[&](const mp::part_header& h) { out.parts.push_back(record(h)); },
                  [&](std::string_view d) {
                      EXPECT_FALSE(d.empty());
                      out.parts.back().data.append(d);
                  },
                  [&] { ++ended; }});
    bool ok = true;
    for (std::size_t pos = 0; ok && pos < body.size(); pos += chunk_nbytes) {
        ok = p.feed(body.substr(pos, chunk_nbytes));
    }
    ok = ok && p.finish();
    if (!ok) return {{}, std::string(mp::to_string(p.error()))};
    EXPECT_EQ(ended, out.parts.size());
    return out;
}

std::string message(parse_error e) {
    return std::string(mp::to_string(e));
}

// ---- bodies captured from real clients (see test/data/multipart/README.md) ----

TEST(multipart_captured, curl_file_field_gives_a_file_part_with_the_file_bytes) {
    const auto c = load("curl_file");
    const auto f = mp::parse_form(c.content_type, c.body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 1u);
    const auto& part = f->parts[0];
    EXPECT_EQ(part.header.name, "fileUpload");
    EXPECT_EQ(part.header.filename, "hello.txt");
    EXPECT_TRUE(part.header.has_filename);
    EXPECT_EQ(part.header.content_type, "text/plain");
    EXPECT_EQ(part.data, read_bytes(data_path("hello.txt")));
}

TEST(multipart_captured, curl_text_field_gives_a_part_without_filename) {
    const auto c = load("curl_text");
    const auto f = mp::parse_form(c.content_type, c.body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 1u);
    EXPECT_EQ(f->parts[0].header.name, "textEntry");
    EXPECT_FALSE(f->parts[0].header.has_filename);
    EXPECT_EQ(f->parts[0].header.content_type, "");
    EXPECT_EQ(f->parts[0].data, "hello world");
}

TEST(multipart_captured, curl_file_and_text_fields_come_in_sent_order) {
    const auto c = load("curl_file_and_text");
    const auto f = mp::parse_form(c.content_type, c.body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 2u);
    EXPECT_EQ(f->parts[0].header.name, "fileUpload");
    EXPECT_EQ(f->parts[0].data, read_bytes(data_path("hello.txt")));
    EXPECT_EQ(f->parts[1].header.name, "textEntry");
    EXPECT_EQ(f->parts[1].data, "hello world");
}

TEST(multipart_captured, curl_codecs_field_is_found_by_name) {
    const auto c = load("curl_text_and_codecs");
    const auto f = mp::parse_form(c.content_type, c.body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_NE(f->find("codecs"), nullptr);
    EXPECT_EQ(f->find("codecs")->data, "gzip:1-9");
    ASSERT_NE(f->find("textEntry"), nullptr);
    EXPECT_EQ(f->find("textEntry")->data, "hello world");
}

TEST(multipart_captured, python_requests_file_and_field_parse) {
    const auto c = load("python_requests_file_and_codecs");
    const auto f = mp::parse_form(c.content_type, c.body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 2u);
    EXPECT_EQ(f->find("codecs")->data, "gzip:1-9");
    EXPECT_EQ(f->find("fileUpload")->header.filename, "hello.txt");
    EXPECT_EQ(f->find("fileUpload")->data, read_bytes(data_path("hello.txt")));
}

TEST(multipart_captured, every_captured_body_gives_the_same_result_in_every_chunk_size) {
    for (const auto& name : captured_names) {
        const auto c = load(name);
        const auto expected = parse_whole(c.content_type, c.body);
        ASSERT_TRUE(expected.error.empty()) << name << ": " << expected.error;
        for (std::size_t n = 1; n <= max_chunk_nbytes; ++n) {
            EXPECT_EQ(parse_chunked(c.content_type, c.body, n), expected)
                << name << " in chunks of " << n;
        }
    }
}

// ---- Content-Type and boundary ----

TEST(multipart_boundary, unquoted_boundary_is_taken_as_is) {
    const auto b = mp::parser::boundary_from_content_type("multipart/form-data; boundary=a-b_c.d");
    ASSERT_TRUE(b) << b.err().message;
    EXPECT_EQ(b.value(), "a-b_c.d");
}

TEST(multipart_boundary, quoted_boundary_is_unquoted_and_may_hold_rfc2046_specials) {
    const auto b =
        mp::parser::boundary_from_content_type("multipart/form-data; boundary=\"gc0p4Jq0M:2Y t\"");
    ASSERT_TRUE(b) << b.err().message;
    EXPECT_EQ(b.value(), "gc0p4Jq0M:2Y t");
}

TEST(multipart_boundary, media_type_and_parameter_name_are_case_insensitive) {
    const auto b = mp::parser::boundary_from_content_type("Multipart/Form-Data; BOUNDARY=abc");
    ASSERT_TRUE(b) << b.err().message;
    EXPECT_EQ(b.value(), "abc");
}

TEST(multipart_boundary, other_parameters_and_whitespace_are_allowed) {
    const auto b = mp::parser::boundary_from_content_type(
        "  multipart/form-data ; charset=utf-8;boundary=abc ;; x=\"q;\\\"b\" ");
    ASSERT_TRUE(b) << b.err().message;
    EXPECT_EQ(b.value(), "abc");
}

TEST(multipart_boundary, boundary_of_70_characters_is_accepted_and_71_refused) {
    const std::string at_limit(mp::max_boundary_nbytes, 'b');
    const auto ok =
        mp::parser::boundary_from_content_type("multipart/form-data; boundary=" + at_limit);
    ASSERT_TRUE(ok) << ok.err().message;
    EXPECT_EQ(ok.value(), at_limit);
    const auto over =
        mp::parser::boundary_from_content_type("multipart/form-data; boundary=" + at_limit + "b");
    ASSERT_FALSE(over);
    EXPECT_EQ(over.err().kind, error_kind::bad_request);
    EXPECT_EQ(over.err().message, message(parse_error::boundary_too_long));
}

TEST(multipart_boundary, unusable_boundary_parameters_are_no_boundary) {
    for (const std::string ct : {
             "multipart/form-data",
             "multipart/form-data;",
             "multipart/form-data; boundary=",
             "multipart/form-data; boundary=\"\"",
             "multipart/form-data; boundary=\"ends with space \"",
             "multipart/form-data; boundary=\"has\\\"quote\"",
             "multipart/form-data; boundary=\"unterminated",
             "multipart/form-data; boundary=a; boundary=b",
             "multipart/form-data; charset",
             "multipart/form-data boundary=abc",
         }) {
        const auto b = mp::parser::boundary_from_content_type(ct);
        ASSERT_FALSE(b) << ct;
        EXPECT_EQ(b.err().kind, error_kind::bad_request) << ct;
        EXPECT_EQ(b.err().message, message(parse_error::no_boundary)) << ct;
    }
}

TEST(multipart_boundary, other_content_types_are_unsupported_type) {
    for (const std::string ct : {"", "text/plain", "multipart/mixed; boundary=abc",
                                 "application/octet-stream", "multipart", "form-data"}) {
        const auto f = mp::parse_form(ct, one_field("v"), {});
        ASSERT_FALSE(f) << ct;
        EXPECT_EQ(f.err().kind, error_kind::unsupported_type) << ct;
        EXPECT_EQ(f.err().message, message(parse_error::not_multipart_form)) << ct;
    }
}

TEST(multipart_errors, body_errors_are_bad_request_with_the_error_sentence) {
    const auto f =
        mp::parse_form(content_type, open_line + disposition("name=\"f\"") + "\r\nv", {});
    ASSERT_FALSE(f);
    EXPECT_EQ(f.err().kind, error_kind::bad_request);
    EXPECT_EQ(f.err().message,
              "multipart body has no closing delimiter \"--BOUNDARY--\"; send the complete body");
}

TEST(multipart_errors, every_error_has_its_own_sentence) {
    const std::vector<parse_error> all = {
        parse_error::no_boundary,
        parse_error::boundary_too_long,
        parse_error::not_multipart_form,
        parse_error::missing_first_boundary,
        parse_error::missing_closing_delimiter,
        parse_error::header_too_long,
        parse_error::malformed_header,
        parse_error::missing_content_disposition,
        parse_error::not_form_data,
        parse_error::missing_name,
        parse_error::name_too_long,
        parse_error::too_many_parts,
        parse_error::bad_delimiter_line,
    };
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_GT(mp::to_string(all[i]).size(), 20u) << i;
        for (std::size_t j = 0; j < i; ++j)
            EXPECT_NE(mp::to_string(all[i]), mp::to_string(all[j]));
    }
}

// ---- malformed bodies, each with its specific error ----

struct malformed_case {
    std::string test_name;
    std::string body;
    parse_error expected;
    mp::limits lim = {};
};

std::ostream& operator<<(std::ostream& os, const malformed_case& c) {
    return os << c.test_name;
}

const std::string cd_f = disposition("name=\"f\"");

const std::vector<malformed_case> malformed_cases = {
    {"no_delimiter_at_all_is_missing_first_boundary", "hello world\r\n",
     parse_error::missing_first_boundary},
    {"other_boundary_is_missing_first_boundary", "--Other\r\n" + cd_f + "\r\nv\r\n--Other--\r\n",
     parse_error::missing_first_boundary},
    {"empty_body_is_missing_first_boundary", "", parse_error::missing_first_boundary},
    {"body_ending_in_data_is_missing_closing_delimiter", open_line + cd_f + "\r\nvalue",
     parse_error::missing_closing_delimiter},
    {"body_ending_in_headers_is_missing_closing_delimiter", open_line + cd_f,
     parse_error::missing_closing_delimiter},
    {"body_ending_after_opening_boundary_is_missing_closing_delimiter", "--" + boundary,
     parse_error::missing_closing_delimiter},
    {"body_ending_in_half_closing_dashes_is_missing_closing_delimiter",
     open_line + cd_f + "\r\nv\r\n--" + boundary + "-", parse_error::missing_closing_delimiter},
    {"body_ending_in_partial_delimiter_is_missing_closing_delimiter",
     open_line + cd_f + "\r\nv\r\n--" + boundary.substr(0, 2),
     parse_error::missing_closing_delimiter},
    {"header_longer_than_limit_is_header_too_long",
     open_line + cd_f + "X-Pad: " + std::string(100, 'p') + "\r\n\r\nv" + close_line,
     parse_error::header_too_long, mp::limits{.max_header_nbytes = 64}},
    {"headers_without_empty_line_are_header_too_long",
     open_line + cd_f + std::string(100, 'p') + close_line, parse_error::header_too_long,
     mp::limits{.max_header_nbytes = 64}},
    {"header_line_without_colon_is_malformed_header",
     open_line + "Content-Disposition form-data\r\n\r\nv" + close_line,
     parse_error::malformed_header},
    {"folding_on_first_header_line_is_malformed_header",
     open_line + " folded: x\r\n" + cd_f + "\r\nv" + close_line, parse_error::malformed_header},
    {"bare_lf_in_headers_is_malformed_header", open_line + "X-A: b\n" + cd_f + "\r\nv" + close_line,
     parse_error::malformed_header},
    {"control_character_in_header_is_malformed_header",
     open_line + disposition(std::string("name=\"a\0b\"", 10)) + "\r\nv" + close_line,
     parse_error::malformed_header},
    {"space_before_colon_is_malformed_header",
     open_line + "Content-Disposition : form-data; name=f\r\n\r\nv" + close_line,
     parse_error::malformed_header},
    {"unterminated_quoted_name_is_malformed_header",
     open_line + disposition("name=\"f") + "\r\nv" + close_line, parse_error::malformed_header},
    {"duplicate_content_disposition_is_malformed_header",
     open_line + cd_f + disposition("name=\"g\"") + "\r\nv" + close_line,
     parse_error::malformed_header},
    {"duplicate_name_parameter_is_malformed_header",
     open_line + disposition("name=\"f\"; name=\"g\"") + "\r\nv" + close_line,
     parse_error::malformed_header},
    {"spaces_around_parameter_equals_are_malformed_header",
     open_line + disposition("name = \"f\"") + "\r\nv" + close_line, parse_error::malformed_header},
    {"part_without_disposition_is_missing_content_disposition",
     open_line + "Content-Type: text/plain\r\n\r\nv" + close_line,
     parse_error::missing_content_disposition},
    {"part_without_headers_is_missing_content_disposition", open_line + "\r\nv" + close_line,
     parse_error::missing_content_disposition},
    {"attachment_disposition_is_not_form_data",
     open_line + "Content-Disposition: attachment; name=\"f\"\r\n\r\nv" + close_line,
     parse_error::not_form_data},
    {"disposition_without_name_is_missing_name",
     open_line + disposition("filename=\"a.txt\"") + "\r\nv" + close_line,
     parse_error::missing_name},
    {"name_over_limit_is_name_too_long",
     open_line + disposition("name=\"abcdefghi\"") + "\r\nv" + close_line,
     parse_error::name_too_long, mp::limits{.max_name_nbytes = 8}},
    {"parts_over_limit_are_too_many_parts",
     open_line + cd_f + "\r\n1" + next_line + cd_f + "\r\n2" + close_line,
     parse_error::too_many_parts, mp::limits{.max_parts = 1}},
    {"boundary_followed_by_letter_in_data_is_bad_delimiter_line",
     open_line + cd_f + "\r\nv\r\n--" + boundary + "X\r\nmore" + close_line,
     parse_error::bad_delimiter_line},
    {"boundary_followed_by_letter_at_start_of_data_is_bad_delimiter_line",
     open_line + cd_f + "\r\n--" + boundary + "Q" + close_line, parse_error::bad_delimiter_line},
    {"garbage_after_padding_is_bad_delimiter_line",
     "--" + boundary + "  junk\r\n" + cd_f + "\r\nv" + close_line, parse_error::bad_delimiter_line},
    {"cr_without_lf_after_boundary_is_bad_delimiter_line",
     "--" + boundary + "\rx\n" + cd_f + "\r\nv" + close_line, parse_error::bad_delimiter_line},
    {"single_dash_after_boundary_is_bad_delimiter_line",
     open_line + cd_f + "\r\nv\r\n--" + boundary + "-x", parse_error::bad_delimiter_line},
};

class multipart_malformed : public testing::TestWithParam<malformed_case> {};

TEST_P(multipart_malformed, is_refused_with_its_specific_error) {
    const auto& c = GetParam();
    const auto f = mp::parse_form(content_type, c.body, c.lim);
    ASSERT_FALSE(f) << "accepted: " << parse_whole(content_type, c.body, c.lim);
    EXPECT_EQ(f.err().kind, error_kind::bad_request);
    EXPECT_EQ(f.err().message, message(c.expected));
}

TEST_P(multipart_malformed, gives_the_same_error_in_every_chunk_size) {
    const auto& c = GetParam();
    const outcome expected{{}, message(c.expected)};
    for (std::size_t n = 1; n <= max_chunk_nbytes; ++n) {
        EXPECT_EQ(parse_chunked(content_type, c.body, n, c.lim), expected) << "chunks of " << n;
    }
}

INSTANTIATE_TEST_SUITE_P(bodies, multipart_malformed, testing::ValuesIn(malformed_cases),
                         [](const auto& param_info) { return param_info.param.test_name; });

// ---- what real clients send that must be accepted ----

TEST(multipart_tolerance, preamble_and_epilogue_are_ignored) {
    const auto body = "This is a preamble --" + boundary + " not a delimiter\r\n" + one_field("v") +
                      "epilogue\r\n--" + boundary + "\r\nstill epilogue";
    const auto o = parse_whole(content_type, body);
    ASSERT_EQ(o.error, "");
    ASSERT_EQ(o.parts.size(), 1u);
    EXPECT_EQ(o.parts[0].data, "v");
    for (std::size_t n = 1; n <= max_chunk_nbytes; ++n) {
        EXPECT_EQ(parse_chunked(content_type, body, n), o);
    }
}

TEST(multipart_tolerance, body_starting_with_crlf_before_the_first_boundary_is_accepted) {
    const auto o = parse_whole(content_type, "\r\n" + one_field("v"));
    ASSERT_EQ(o.error, "");
    EXPECT_EQ(o.parts.size(), 1u);
}

TEST(multipart_tolerance, transport_padding_after_boundary_lines_is_allowed) {
    const auto body = "--" + boundary + " \t\r\n" + cd_f + "\r\n1\r\n--" + boundary + "\t\r\n" +
                      cd_f + "\r\n2\r\n--" + boundary + "-- \r\n";
    const auto o = parse_whole(content_type, body);
    ASSERT_EQ(o.error, "");
    ASSERT_EQ(o.parts.size(), 2u);
    EXPECT_EQ(o.parts[0].data, "1");
    EXPECT_EQ(o.parts[1].data, "2");
}

TEST(multipart_tolerance, closing_delimiter_without_trailing_crlf_is_accepted) {
    const auto o = parse_whole(content_type, open_line + cd_f + "\r\nv\r\n--" + boundary + "--");
    ASSERT_EQ(o.error, "");
    ASSERT_EQ(o.parts.size(), 1u);
    EXPECT_EQ(o.parts[0].data, "v");
}

TEST(multipart_tolerance, body_of_only_the_closing_delimiter_has_no_parts) {
    const auto f = mp::parse_form(content_type, "--" + boundary + "--\r\n", {});
    ASSERT_TRUE(f) << f.err().message;
    EXPECT_TRUE(f->parts.empty());
}

TEST(multipart_tolerance, empty_part_has_empty_data) {
    // As curl and browsers send it: the empty line, no data, then CRLF and the delimiter.
    const auto body =
        open_line + cd_f + "\r\n" + next_line + disposition("name=\"g\"") + "\r\nx" + close_line;
    const auto f = mp::parse_form(content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 2u);
    EXPECT_EQ(f->parts[0].header.name, "f");
    EXPECT_TRUE(f->parts[0].data.empty());
    EXPECT_EQ(f->parts[1].data, "x");
}

TEST(multipart_tolerance, headers_followed_directly_by_the_delimiter_make_an_empty_part) {
    // RFC 2046: body-part := MIME-part-headers [CRLF *OCTET]; the empty line's CRLF is the
    // delimiter's, so "--BOUNDARY" right after the headers ends the part.
    const auto body = open_line + cd_f + "\r\n--" + boundary + "\r\n" + disposition("name=\"g\"") +
                      "\r\n--" + boundary + "--";
    const auto o = parse_whole(content_type, body);
    ASSERT_EQ(o.error, "");
    ASSERT_EQ(o.parts.size(), 2u);
    EXPECT_EQ(o.parts[0].data, "");
    EXPECT_EQ(o.parts[1].name, "g");
    EXPECT_EQ(o.parts[1].data, "");
    for (std::size_t n = 1; n <= max_chunk_nbytes; ++n) {
        EXPECT_EQ(parse_chunked(content_type, body, n), o) << "chunks of " << n;
    }
}

TEST(multipart_tolerance, data_starting_with_part_of_the_boundary_is_data) {
    // Right after the headers a delimiter may start without its own CRLF; a near miss is data.
    const std::string data = "--" + boundary.substr(0, 2) + "-" + boundary;
    const auto body = one_field(data);
    const auto o = parse_whole(content_type, body);
    ASSERT_EQ(o.error, "");
    ASSERT_EQ(o.parts.size(), 1u);
    EXPECT_EQ(o.parts[0].data, data);
    for (std::size_t n = 1; n <= max_chunk_nbytes; ++n) {
        EXPECT_EQ(parse_chunked(content_type, body, n), o) << "chunks of " << n;
    }
}

TEST(multipart_tolerance, empty_filename_still_marks_a_file_part) {
    const auto body = open_line + disposition("name=\"fileUpload\"; filename=\"\"") +
                      "Content-Type: application/octet-stream\r\n\r\n" + close_line;
    const auto f = mp::parse_form(content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 1u);
    EXPECT_TRUE(f->parts[0].header.has_filename);
    EXPECT_EQ(f->parts[0].header.filename, "");
    EXPECT_EQ(f->parts[0].header.content_type, "application/octet-stream");
    EXPECT_TRUE(f->parts[0].data.empty());
}

TEST(multipart_tolerance, empty_name_is_kept_as_sent) {
    const auto f = mp::parse_form(content_type,
                                  open_line + disposition("name=\"\"") + "\r\nv" + close_line, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 1u);
    EXPECT_EQ(f->parts[0].header.name, "");
}

TEST(multipart_tolerance, boundary_lookalikes_inside_data_are_data) {
    const std::string data = "a--" + boundary + "X\r\n-" + boundary + "\n--" + boundary + "\r--" +
                             boundary + "\r\n--" + boundary.substr(0, 2) + "\r\r\n-\r\n";
    const auto body = one_field(data);
    const auto o = parse_whole(content_type, body);
    ASSERT_EQ(o.error, "");
    ASSERT_EQ(o.parts.size(), 1u);
    EXPECT_EQ(o.parts[0].data, data);
    for (std::size_t n = 1; n <= max_chunk_nbytes; ++n) {
        EXPECT_EQ(parse_chunked(content_type, body, n), o) << "chunks of " << n;
    }
}

TEST(multipart_tolerance, data_may_end_in_crlf_and_contain_binary_bytes) {
    const std::string data("\0\r\n\xff\r\n\r\n", 8);
    const auto o = parse_whole(content_type, one_field(data));
    ASSERT_EQ(o.error, "");
    EXPECT_EQ(o.parts[0].data, data);
}

TEST(multipart_headers, disposition_accepts_tokens_quotes_escapes_and_any_case) {
    const auto body =
        open_line +
        "content-DISPOSITION: Form-Data; NAME=plain;FileName=\"a \\\"q\\\" \\\\b.txt\"; "
        "filename*=UTF-8''x\r\n\r\nv" +
        close_line;
    const auto f = mp::parse_form(content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    EXPECT_EQ(f->parts[0].header.name, "plain");
    EXPECT_EQ(f->parts[0].header.filename, "a \"q\" \\b.txt");
}

TEST(multipart_headers, utf8_filename_is_kept_as_sent) {
    const auto body = open_line + disposition("name=\"f\"; filename=\"r\xc3\xa9sum\xc3\xa9.txt\"") +
                      "\r\nv" + close_line;
    const auto f = mp::parse_form(content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    EXPECT_EQ(f->parts[0].header.filename, "r\xc3\xa9sum\xc3\xa9.txt");
}

TEST(multipart_headers, folded_header_lines_are_unfolded) {
    const auto body = open_line + "Content-Disposition: form-data;\r\n\tname=\"f\"\r\n" +
                      "Content-Type: text/plain\r\n ; charset=utf-8\r\n\r\nv" + close_line;
    const auto f = mp::parse_form(content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    EXPECT_EQ(f->parts[0].header.name, "f");
    EXPECT_EQ(f->parts[0].header.content_type, "text/plain ; charset=utf-8");
}

TEST(multipart_headers, part_content_type_is_kept_and_other_headers_ignored) {
    const auto body = open_line + "X-Custom: 1\r\n" + cd_f +
                      "Content-Type:   image/png  \r\nContent-Transfer-Encoding: binary\r\n\r\nv" +
                      close_line;
    const auto f = mp::parse_form(content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    EXPECT_EQ(f->parts[0].header.content_type, "image/png");
}

// ---- limits, exactly at and one over ----

std::string parts_body(std::size_t count) {
    std::string body = "--" + boundary;
    for (std::size_t i = 0; i < count; ++i) {
        body += "\r\n" + cd_f + "\r\n" + std::to_string(i) + "\r\n--" + boundary;
    }
    return body + "--\r\n";
}

TEST(multipart_limits, max_parts_is_accepted_and_one_more_is_too_many_parts) {
    const mp::limits lim{.max_parts = 3};
    const auto body = parts_body(3); // the form's views point into it
    const auto at = mp::parse_form(content_type, body, lim);
    ASSERT_TRUE(at) << at.err().message;
    EXPECT_EQ(at->parts.size(), 3u);
    EXPECT_EQ(at->parts[2].data, "2");
    const auto over = mp::parse_form(content_type, parts_body(4), lim);
    ASSERT_FALSE(over);
    EXPECT_EQ(over.err().message, message(parse_error::too_many_parts));
}

TEST(multipart_limits, max_header_nbytes_is_accepted_and_one_more_is_header_too_long) {
    const auto headers = cd_f + "X-Pad: " + std::string(40, 'p') + "\r\n";
    const auto body = open_line + headers + "\r\nv" + close_line;
    const mp::limits at{.max_header_nbytes = headers.size()};
    const auto ok = parse_whole(content_type, body, at);
    EXPECT_EQ(ok.error, "");
    ASSERT_EQ(ok.parts.size(), 1u);
    EXPECT_EQ(ok.parts[0].data, "v");
    const mp::limits under{.max_header_nbytes = headers.size() - 1};
    for (std::size_t n = 1; n <= max_chunk_nbytes; ++n) {
        EXPECT_EQ(parse_chunked(content_type, body, n, at), ok) << "chunks of " << n;
        EXPECT_EQ(parse_chunked(content_type, body, n, under).error,
                  message(parse_error::header_too_long))
            << "chunks of " << n;
    }
}

TEST(multipart_limits, part_without_headers_fits_a_zero_header_limit) {
    // The error is about the missing Content-Disposition, not the size: the empty line is free.
    const auto o = parse_whole(content_type, open_line + "\r\nv" + close_line,
                               mp::limits{.max_header_nbytes = 0});
    EXPECT_EQ(o.error, message(parse_error::missing_content_disposition));
}

TEST(multipart_limits, max_name_nbytes_applies_to_name_and_filename_after_unquoting) {
    const mp::limits lim{.max_name_nbytes = 4};
    const auto with = [](std::string_view params) {
        return open_line + disposition(params) + "\r\nv" + close_line;
    };
    EXPECT_EQ(parse_whole(content_type, with("name=\"ab\\cd\""), lim).error, "");
    EXPECT_EQ(parse_whole(content_type, with("name=abcd; filename=\"wxyz\""), lim).error, "");
    EXPECT_EQ(parse_whole(content_type, with("name=abcde"), lim).error,
              message(parse_error::name_too_long));
    EXPECT_EQ(parse_whole(content_type, with("name=abcd; filename=\"vwxyz\""), lim).error,
              message(parse_error::name_too_long));
}

// ---- large bodies and the streaming contract ----

std::string large_data(std::size_t nbytes) {
    std::string data(nbytes, '\0');
    // Deterministic bytes with many CRs, LFs and dashes so the search meets near-misses.
    std::uint32_t x = 12345;
    for (auto& c : data) {
        x = x * 1103515245u + 12345u;
        const auto r = static_cast<unsigned char>(x >> 24);
        c = r < 16 ? '\r' : r < 32 ? '\n' : r < 48 ? '-' : static_cast<char>(r);
    }
    return data;
}

constexpr std::size_t three_mib = 3 * 1024 * 1024;

TEST(multipart_large, three_megabyte_part_is_one_view_into_the_body) {
    const auto data = large_data(three_mib);
    const auto body = open_line + disposition("name=\"fileUpload\"; filename=\"big.bin\"") +
                      "\r\n" + data + next_line + cd_f + "\r\nv" + close_line;
    const auto f = mp::parse_form(content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 2u);
    const auto view = f->parts[0].data;
    EXPECT_EQ(view.size(), data.size());
    EXPECT_EQ(view.data(), body.data() + body.find("\r\n\r\n") + 4);
    EXPECT_TRUE(view == data);
}

TEST(multipart_large, streaming_large_part_needs_few_data_callbacks) {
    const auto data = large_data(three_mib);
    const auto body = one_field(data);
    constexpr std::size_t chunk_nbytes = 64 * 1024;
    std::size_t calls = 0;
    std::string got;
    mp::parser p(boundary, {},
                 {{},
                  [&](std::string_view d) {
                      ++calls;
                      got.append(d);
                  },
                  {}});
    std::size_t chunks = 0;
    for (std::size_t pos = 0; pos < body.size(); pos += chunk_nbytes, ++chunks) {
        ASSERT_TRUE(p.feed(std::string_view(body).substr(pos, chunk_nbytes)));
    }
    ASSERT_TRUE(p.finish());
    EXPECT_TRUE(got == data);
    EXPECT_LE(calls, 2 * chunks); // at most a held-back tail plus the chunk's own bytes
}

// ---- bodies built against the delimiter search ----

// A boundary of one repeated character and part data of that same character: the body on which
// a Boyer-Moore-Horspool search compares a whole window at every byte.
const std::string repeated_boundary(mp::max_boundary_nbytes, 'a');
const std::string repeated_content_type = "multipart/form-data; boundary=" + repeated_boundary;

std::string repeated_character_body(std::size_t data_nbytes) {
    return "--" + repeated_boundary + "\r\n" +
           disposition("name=\"fileUpload\"; filename=\"a.txt\"") + "\r\n" +
           std::string(data_nbytes, 'a') + "\r\n--" + repeated_boundary + "--\r\n";
}

TEST(multipart_worst_case, repeated_character_boundary_and_data_give_the_whole_data) {
    const auto body = repeated_character_body(three_mib);
    const auto f = mp::parse_form(repeated_content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_EQ(f->parts.size(), 1u);
    EXPECT_EQ(f->parts[0].header.name, "fileUpload");
    const auto data = f->parts[0].data;
    EXPECT_EQ(data.size(), three_mib);
    EXPECT_EQ(data.find_first_not_of('a'), std::string_view::npos);
    EXPECT_EQ(data.data(), body.data() + body.find("\r\n\r\n") + 4);
}

TEST(multipart_worst_case, repeated_character_body_gives_the_same_data_however_it_is_chunked) {
    constexpr std::size_t data_nbytes = 100 * 1000;
    const auto body = repeated_character_body(data_nbytes);
    const auto expected = parse_whole(repeated_content_type, body);
    ASSERT_EQ(expected.error, "");
    ASSERT_EQ(expected.parts.size(), 1u);
    ASSERT_EQ(expected.parts[0].data.size(), data_nbytes);
    // Single bytes, sizes about the delimiter's length (74 bytes) and large chunks.
    for (const std::size_t n : {1, 2, 73, 74, 75, 4096, 65536})
        EXPECT_TRUE(parse_chunked(repeated_content_type, body, n) == expected) << "chunks of " << n;
}

using counting_scans = compresstest::multipart::testing::counting_scans;

// What find_delimiter returns, by its definition: the first complete delimiter, else the suffix
// of text that is a proper prefix of the delimiter, else text.size().
std::size_t delimiter_by_definition(std::string_view text, std::string_view delimiter) {
    if (const auto pos = text.find(delimiter); pos != std::string_view::npos) return pos;
    for (auto pos = text.size() - std::min(text.size(), delimiter.size() - 1); pos < text.size();
         ++pos) {
        if (delimiter.starts_with(text.substr(pos))) return pos;
    }
    return text.size();
}

struct search_case {
    std::string name;
    std::string delimiter;
    std::string text;
};

std::string repeat(std::string_view unit, std::size_t nbytes) {
    std::string out;
    while (out.size() < nbytes)
        out.append(unit);
    out.resize(nbytes);
    return out;
}

// Texts dense in what a delimiter search trips over: the boundary's own character, CRs, near
// misses at either end, every proper prefix; each also ending in a cut-off and in a whole
// delimiter. Boundaries from 1 to 70 characters, periodic and not.
std::vector<search_case> search_cases() {
    constexpr std::size_t text_nbytes = 20 * 1000;
    const std::vector<std::string> boundaries = {"a", std::string(10, 'a'), std::string(40, 'a'),
                                                 repeated_boundary,
                                                 "------------------------d74496d66958873e"};
    std::vector<search_case> out;
    for (const auto& b : boundaries) {
        const auto d = "\r\n--" + b;
        const auto m = d.size();
        std::string every_prefix;
        for (std::size_t k = 1; k < m; ++k)
            every_prefix += d.substr(0, k) + "\x01";
        std::string dense(text_nbytes, '\0');
        std::uint32_t x = 12345;
        for (auto& c : dense) {
            x = x * 1103515245u + 12345u;
            c = std::string_view("\r\n-a")[x >> 30];
        }
        const std::vector<std::pair<std::string, std::string>> shapes = {
            {"boundary_last_character", repeat(d.substr(m - 1), text_nbytes)},
            {"boundary_first_character", repeat(d.substr(4, 1), text_nbytes)},
            {"cr", repeat("\r", text_nbytes)},
            {"crlf", repeat("\r\n", text_nbytes)},
            {"near_miss_at_the_end", repeat(d.substr(0, m - 1) + "\x01", text_nbytes)},
            {"near_miss_at_the_front", repeat("\r\x01" + d.substr(2), text_nbytes)},
            {"cr_and_a_boundary_character", repeat("\r" + d.substr(m - 1), text_nbytes)},
            {"two_crs_then_boundary_characters",
             repeat("\r\r" + std::string(m - 1, d.back()), text_nbytes)},
            {"every_proper_prefix", repeat(every_prefix, text_nbytes)},
            {"dense_random", dense},
        };
        for (const auto& [shape, text] : shapes) {
            const auto name = shape + " (boundary of " + std::to_string(b.size()) + ")";
            out.push_back({name, d, text});
            out.push_back({name + ", cut-off delimiter at the end", d, text + d.substr(0, m - 1)});
            out.push_back({name + ", delimiter at the end", d, text + d});
        }
    }
    return out;
}

TEST(multipart_delimiter_search, finds_what_its_definition_says) {
    for (const auto& c : search_cases())
        EXPECT_EQ(mp::find_delimiter(c.text, c.delimiter),
                  delimiter_by_definition(c.text, c.delimiter))
            << c.name;
}

TEST(multipart_delimiter_search, reads_each_byte_at_most_twice_whatever_the_text) {
    // Linear time with a constant that does not grow with the boundary: a search comparing a
    // window at each byte reads up to 74 times the text.
    for (const auto& c : search_cases()) {
        counting_scans::read_nbytes = 0;
        mp::find_delimiter<counting_scans>(c.text, c.delimiter);
        EXPECT_LE(counting_scans::read_nbytes, 2 * c.text.size()) << c.name;
    }
}

TEST(multipart_streaming, boundary_content_type_parsing_would_refuse_fails_at_once) {
    const std::vector<std::pair<std::string, parse_error>> refused = {
        {"", parse_error::no_boundary},
        {"a\r\nb", parse_error::no_boundary},
        {"ends in space ", parse_error::no_boundary},
        {std::string(mp::max_boundary_nbytes + 1, 'b'), parse_error::boundary_too_long},
    };
    for (const auto& [b, expected] : refused) {
        mp::parser p(b, {}, {});
        EXPECT_FALSE(p.feed("--" + b + "--")) << b;
        EXPECT_FALSE(p.finish()) << b;
        EXPECT_EQ(p.error(), expected) << b;
    }
}

TEST(multipart_streaming, error_is_sticky_across_later_calls) {
    mp::parser p(boundary, {}, {});
    EXPECT_FALSE(p.feed("--" + boundary + "!"));
    EXPECT_EQ(p.error(), parse_error::bad_delimiter_line);
    EXPECT_FALSE(p.feed(one_field("v")));
    EXPECT_FALSE(p.finish());
    EXPECT_EQ(p.error(), parse_error::bad_delimiter_line);
}

TEST(multipart_streaming, bytes_after_the_closing_delimiter_are_ignored) {
    std::size_t parts = 0;
    mp::parser p(boundary, {}, {[&](const mp::part_header&) { ++parts; }, {}, {}});
    EXPECT_TRUE(p.feed(one_field("v")));
    EXPECT_TRUE(p.feed(one_field("w") + "\x01 anything"));
    EXPECT_TRUE(p.finish());
    EXPECT_EQ(parts, 1u);
}

TEST(multipart_streaming, callbacks_fire_in_order_begin_data_end) {
    std::string events;
    mp::parser p(boundary, {},
                 {[&](const mp::part_header& h) { events += "begin(" + h.name + ")"; },
                  [&](std::string_view d) { events += "data(" + std::string(d) + ")"; },
                  [&] { events += "end;"; }});
    const auto body =
        open_line + cd_f + "\r\n1" + next_line + disposition("name=\"g\"") + "\r\n" + close_line;
    ASSERT_TRUE(p.feed(body));
    ASSERT_TRUE(p.finish());
    EXPECT_EQ(events, "begin(f)data(1)end;begin(g)end;");
}

TEST(multipart_form, find_returns_the_first_part_with_the_name_or_null) {
    const auto body = open_line + cd_f + "\r\n1" + next_line + cd_f + "\r\n2" + close_line;
    const auto f = mp::parse_form(content_type, body, {});
    ASSERT_TRUE(f) << f.err().message;
    ASSERT_NE(f->find("f"), nullptr);
    EXPECT_EQ(f->find("f")->data, "1");
    EXPECT_EQ(f->find("missing"), nullptr);
}

} // namespace
