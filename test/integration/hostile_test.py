"""Hostile clients against the real binary on loopback: each case's bytes and expected answer.

CASES is the table: (name, bytes sent, expected, connection, note). expected is a status, a
tuple of acceptable statuses where RFC 9110/9112 allow more than one answer, a list of statuses
for pipelined requests (one answer each, in order; an answer to HEAD has no content), or CLOSED
(the server closes without answering). connection is "close" (the server must close after its
answer), "keep" (the connection must still serve a follow-up GET /healthz) or None (either).
Every error answer must be JSON {"error": ...} in valid UTF-8 with the CORS header, and after
every case a fresh connection's GET /healthz must answer 200.
"""
import json
import os
import re
import socket
import threading
import time
import unittest

from harness import Server, ServerTest, curl, wait_for

MIB = 1024 * 1024
CLOSED = "closed"
READ_TIMEOUT_S = 10  # bound on every wait for an answer or a close

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
OCTET = b"Content-Type: application/octet-stream\r\n"


def post(target, headers, body=b"", version=b"HTTP/1.1"):
    """A POST with Host and the given extra header lines (each ending in CRLF), then body."""
    return b"POST " + target + b" " + version + b"\r\nHost: x\r\n" + headers + b"\r\n" + body


def raw_post(body, target=b"/compress"):
    return post(target, OCTET + b"Content-Length: %d\r\n" % len(body), body)


def chunked(data, chunk_nbytes=64 * 1024):
    out = bytearray()
    for i in range(0, len(data), chunk_nbytes):
        piece = data[i:i + chunk_nbytes]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def form(parts, boundary=b"b", ctype=None):
    """A multipart request; parts are (name bytes, data bytes) or raw bytes used as they are."""
    body = bytearray()
    for p in parts:
        if isinstance(p, tuple):
            name, data = p
            body += (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name +
                     b"\"\r\n\r\n" + data + b"\r\n")
        else:
            body += p
    body += b"--" + boundary + b"--\r\n"
    ctype = ctype if ctype is not None else b"multipart/form-data; boundary=" + boundary
    return post(b"/compress", b"Content-Type: " + ctype + b"\r\nContent-Length: %d\r\n" % len(body),
                bytes(body))


NESTED = (b"--b\r\nContent-Disposition: form-data; name=\"fileUpload\"\r\n"
          b"Content-Type: multipart/mixed; boundary=c\r\n\r\n"
          b"--c\r\nContent-Disposition: file; filename=\"a.txt\"\r\n\r\nhello\r\n--c--\r\n")
NESTED_DATA_NBYTES = len(b"--c\r\nContent-Disposition: file; filename=\"a.txt\"\r\n\r\nhello\r\n--c--")
LONG = b"b" * 71
EDGE = b"b" * 70


def original_size(n):
    def check(test, body):
        test.assertEqual(json.loads(body)["original_size"], n)
    return check


def panel_is(*entries):
    def check(test, body):
        test.assertEqual([(e["codec"], e["level"]) for e in json.loads(body)["results"]],
                         list(entries))
    return check


# name, bytes, expected, connection, note (RFC where the answer is debatable); an optional
# sixth column checks a 200's JSON body.
CASES = [
    # --- request line and version ----------------------------------------------------------
    ("version_http_2_0", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", (400, 505), "close",
     "RFC 9110 §15.6.6 allows 505; a text HTTP/2.0 request line is malformed either way"),
    ("version_http_0_9", b"GET /healthz HTTP/0.9\r\nHost: x\r\n\r\n", (400, 505), "close", ""),
    ("version_missing", b"GET /healthz\r\n\r\n", 400, "close", "HTTP/0.9 simple request"),
    ("version_garbage", b"GET /healthz HTTP/1.x\r\nHost: x\r\n\r\n", 400, "close", ""),
    ("target_missing", b"GET HTTP/1.1\r\nHost: x\r\n\r\n", 400, "close", ""),
    ("method_lower_case", b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", (405, 501), "keep",
     "methods are case-sensitive (RFC 9110 §9.1): an unknown method; §9.1 prefers 501"),
    ("method_unknown", b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", (405, 501), "keep", ""),
    ("request_line_double_space", b"GET /healthz  HTTP/1.1\r\nHost: x\r\n\r\n", 400, "close", ""),
    ("garbage_bytes", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400, "close",
     "a TLS ClientHello on the plain port"),
    ("binary_nuls", b"\x00" * 64 + b"\r\n\r\n", 400, "close", ""),
    ("nul_in_target", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "close", ""),
    ("non_ascii_target", b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n", (400, 404), None,
     "RFC 3986 wants it percent-encoded; either way the JSON error must be valid UTF-8"),
    ("bare_lf_line_ends", b"GET /healthz HTTP/1.1\nHost: x\n\n", (200, 400), None,
     "RFC 9112 §2.2: a recipient MAY accept a bare LF"),
    ("leading_empty_lines", b"\r\n\r\n" + HEALTHZ, (200, 400), None,
     "RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line"),
    ("http_1_0_closes_after_answer", b"GET /healthz HTTP/1.0\r\n\r\n", 200, "close", ""),
    # --- target forms -----------------------------------------------------------------------
    ("absolute_form", b"GET http://x/tiny HTTP/1.1\r\nHost: x\r\n\r\n", 200, "keep",
     "RFC 9112 §3.2.2: a server MUST accept the absolute-form"),
    ("absolute_form_with_query", b"GET http://x/healthz?a=b HTTP/1.1\r\nHost: x\r\n\r\n", 200,
     "keep", "RFC 9112 §3.2.2"),
    ("absolute_form_other_scheme", b"GET ftp://x/tiny HTTP/1.1\r\nHost: x\r\n\r\n", (400, 404),
     None, ""),
    ("asterisk_form_options", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", (200, 204), "keep",
     "RFC 9110 §9.3.7: OPTIONS * asks about the server as a whole"),
    ("asterisk_form_get", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", (400, 404), None,
     "RFC 9112 §3.2.4: asterisk-form is only for OPTIONS"),
    # --- header block ---------------------------------------------------------------------
    ("header_over_limit", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
     b"\r\n\r\n", (431,), "close", "RFC 6585 §5"),
    ("many_headers_over_limit", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-%05d: v\r\n" % i for i in range(2000)) + b"\r\n", (431,), "close", ""),
    ("target_over_header_limit", b"GET /healthz?" + b"q" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     (431,), "close", "the request line counts towards the header limit"),
    ("obs_fold_plain_header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
     (200, 400), None, "RFC 9112 §5.2: reject with 400 or replace the fold with SP"),
    ("obs_fold_content_length", post(b"/compress", OCTET + b"Content-Length: 1\r\n 0\r\n",
                                     b"helloworld"), 400, "close", ""),
    ("obs_fold_transfer_encoding", post(b"/compress", OCTET + b"Transfer-Encoding: identity\r\n"
                                        b" chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
     (400, 501), "close", "a folded TE must not leave the chunked body to be read as a request"),
    ("space_before_colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 400, "close",
     "RFC 9112 §5.1: MUST reject with 400"),
    ("space_in_field_name", b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400,
     "close", ""),
    ("nul_in_field_value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400, "close",
     "RFC 9110 §5.5: NUL is never allowed"),
    ("host_missing", b"GET /healthz HTTP/1.1\r\n\r\n", 400, "close",
     "RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host"),
    ("host_twice", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "close",
     "RFC 9112 §3.2: ... or with more than one Host"),
    ("host_invalid_value", b"GET /healthz HTTP/1.1\r\nHost: exa mple com\r\n\r\n", 400, "close",
     "RFC 9112 §3.2: a server MUST answer 400 to an invalid Host"),
    ("host_with_userinfo", b"GET /healthz HTTP/1.1\r\nHost: user@x\r\n\r\n", 400, "close",
     "RFC 9112 §3.2: Host is uri-host [ \":\" port ]"),
    ("content_type_tab_before_semicolon", post(b"/compress", b"Content-Type: "
                                               b"application/octet-stream\t;x=y\r\n"
                                               b"Content-Length: 5\r\n", b"hello"), 200, "keep",
     "RFC 9110 §5.6.3: OWS is spaces or tabs", original_size(5)),
    ("transfer_encoding_tab_ows", post(b"/compress", OCTET + b"Transfer-Encoding:\tchunked\t\r\n",
                                       b"5\r\nhello\r\n0\r\n\r\n"), 200, "keep", "",
     original_size(5)),
    # --- framing: Content-Length and Transfer-Encoding (request smuggling shapes) -----------
    ("cl_and_te", post(b"/compress", OCTET + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                       b"5\r\nhello\r\n0\r\n\r\n"), 400, "close",
     "RFC 9112 §6.1: reject, or use TE alone, and close either way"),
    ("cl_twice_different", post(b"/compress", OCTET + b"Content-Length: 5\r\nContent-Length: 6\r\n",
                                b"hello!"), 400, "close", ""),
    ("cl_twice_same", post(b"/compress", OCTET + b"Content-Length: 5\r\nContent-Length: 5\r\n",
                           b"hello"), (200, 400), None, "RFC 9110 §8.6: MAY accept equal values"),
    ("cl_list_same", post(b"/compress", OCTET + b"Content-Length: 5, 5\r\n", b"hello"),
     (200, 400), None, "RFC 9110 §8.6"),
    ("cl_negative", post(b"/compress", OCTET + b"Content-Length: -1\r\n", b"hello"), 400, "close",
     ""),
    ("cl_plus_sign", post(b"/compress", OCTET + b"Content-Length: +5\r\n", b"hello"), 400, "close",
     ""),
    ("cl_hex", post(b"/compress", OCTET + b"Content-Length: 0x5\r\n", b"hello"), 400, "close", ""),
    ("cl_overflow", post(b"/compress", OCTET + b"Content-Length: 99999999999999999999999\r\n",
                         b"hello"), (400, 413), "close", ""),
    ("te_chunked_then_identity", post(b"/compress", OCTET + b"Transfer-Encoding: chunked, identity\r\n",
                                      b"5\r\nhello\r\n0\r\n\r\n"), 400, "close",
     "RFC 9112 §6.3: chunked not final: MUST answer 400 and close"),
    ("te_xchunked", post(b"/compress", OCTET + b"Transfer-Encoding: xchunked\r\n",
                         b"5\r\nhello\r\n0\r\n\r\n"), (400, 501), "close",
     "RFC 9112 §6.3 (chunked not final) / §6.1 (501 for an unknown coding)"),
    ("te_identity", post(b"/compress", OCTET + b"Transfer-Encoding: identity\r\n", b"hello"),
     (400, 501), "close", "identity is no longer a transfer coding (RFC 9112 §7)"),
    ("te_twice", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n"
                      b"Transfer-Encoding: identity\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
     400, "close", ""),
    ("te_gzip_chunked", post(b"/compress", OCTET + b"Transfer-Encoding: gzip, chunked\r\n",
                             b"5\r\nhello\r\n0\r\n\r\n"), (400, 501), "close",
     "RFC 9112 §6.1: SHOULD answer 501 to a coding it does not decode, not compress gzip bytes"),
    ("te_vertical_tab", post(b"/compress", OCTET + b"Transfer-Encoding: \x0bchunked\r\n",
                             b"5\r\nhello\r\n0\r\n\r\n"), 400, "close", ""),
    ("te_upper_case_chunked", post(b"/compress", OCTET + b"Transfer-Encoding: CHUNKED\r\n",
                                   b"5\r\nhello\r\n0\r\n\r\n"), 200, "keep",
     "coding names are case-insensitive", original_size(5)),
    ("te_in_http_1_0", post(b"/compress", b"Connection: keep-alive\r\n" + OCTET +
                            b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n",
                            version=b"HTTP/1.0"), (400, 200), "close",
     "RFC 9112 §6.1: TE in HTTP/1.0 is faulty framing; close after answering"),
    # --- chunks -----------------------------------------------------------------------------
    ("chunk_size_not_hex", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                b"zz\r\nhello\r\n0\r\n\r\n"), 400, "close", ""),
    ("chunk_size_overflow", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                 b"FFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"), (400, 413), "close", ""),
    ("chunk_size_negative", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                 b"-5\r\nhello\r\n0\r\n\r\n"), 400, "close", ""),
    ("chunk_data_overruns_size", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                      b"5\r\nhelloXX\r\n0\r\n\r\n"), 400, "close", ""),
    ("chunk_extension_and_trailer", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                         b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: y\r\n\r\n"),
     200, "keep", "", original_size(5)),
    ("trailer_field_70kb", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                b"5\r\nhello\r\n0\r\nX-T: " + b"a" * 70000 + b"\r\n\r\n"),
     431, "close", "a trailer is held to --max-header-bytes (it once aborted the process)"),
    ("trailer_section_60kb_in_small_fields", post(b"/compress", OCTET +
                                                  b"Transfer-Encoding: chunked\r\n",
                                                  b"5\r\nhello\r\n0\r\n" +
                                                  b"X-T: aaaaaaaaaa\r\n" * 3500 + b"\r\n"),
     431, "close", "the trailer section as a whole is held to --max-header-bytes"),
    ("chunk_extension_1mb", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                 b"5;x=" + b"e" * MIB + b"\r\nhello\r\n0\r\n\r\n"), 431,
     "close", "a chunk-size line is held to --max-header-bytes"),
    ("chunk_framing_over_limit", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                      b"1\r\na\r\n" * 20000 + b"0\r\n\r\n"), 400, "close",
     "--max-chunk-framing-bytes: 120,000 bytes of framing for 20,000 payload bytes"),
    ("body_truncated_content_length",
     post(b"/compress", OCTET + b"Content-Length: 10\r\n", b"hello"), CLOSED, None,
     "the client half-closes mid-body: nobody to answer"),
    ("body_truncated_chunked", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                    b"5\r\nhel"), CLOSED, None, ""),
    # --- multipart --------------------------------------------------------------------------
    ("multipart_no_boundary", form([(b"textEntry", b"abc")], ctype=b"multipart/form-data"),
     400, None, ""),
    ("multipart_empty_boundary", form([(b"textEntry", b"abc")],
                                      ctype=b"multipart/form-data; boundary="), 400, None, ""),
    ("multipart_empty_quoted_boundary", form([(b"textEntry", b"abc")], boundary=b"",
                                             ctype=b'multipart/form-data; boundary=""'), 400, None,
     ""),
    ("multipart_boundary_71_chars", form([(b"textEntry", b"abc")], boundary=LONG), 400, None,
     "RFC 2046 §5.1.1: 1 to 70 characters"),
    ("multipart_boundary_70_chars", form([(b"textEntry", b"abc")], boundary=EDGE), 200, "keep",
     "the limit itself is fine", original_size(3)),
    ("multipart_tab_ows_in_parameters", form([(b"textEntry", b"abc")],
                                             ctype=b"multipart/form-data\t;\tboundary=b"), 200,
     "keep", "RFC 9110 §5.6.3 / §5.6.6: OWS around ';' is spaces or tabs", original_size(3)),
    ("multipart_mismatched_boundary", form([(b"textEntry", b"abc")],
                                           ctype=b"multipart/form-data; boundary=zzz"), 400, None, ""),
    ("multipart_non_utf8_boundary", form([(b"textEntry", b"abc")], boundary=b"\xff\xfe"),
     400, None, "not an RFC 2046 bchars boundary"),
    ("multipart_missing_close_delimiter", raw_post(
        b"--b\r\nContent-Disposition: form-data; name=\"textEntry\"\r\n\r\nabc").replace(
            OCTET, b"Content-Type: multipart/form-data; boundary=b\r\n"), 400, None, ""),
    ("multipart_thousands_of_parts", form([(b"x", b"1")] * 5000 + [(b"textEntry", b"abc")]),
     400, None, "--max-form-parts"),
    ("multipart_nul_in_field_name", form([(b"text\x00Entry", b"abc")]), 400, None, ""),
    ("multipart_non_utf8_field_name", form([(b"\xff\xfe", b"abc"), (b"textEntry", b"abc")]),
     200, "keep", "unknown fields are ignored", original_size(3)),
    ("multipart_nested_mixed", form([NESTED]), 200, "keep",
     "RFC 7578 §4.3: nested multipart/mixed is opaque file data here",
     original_size(NESTED_DATA_NBYTES)),
    ("multipart_mixed_top_level", form([(b"textEntry", b"abc")],
                                       ctype=b"multipart/mixed; boundary=b"), 415, None, ""),
    ("multipart_non_utf8_codecs_field", form([(b"textEntry", b"abc"), (b"codecs", b"\xff\xfe:1")]),
     422, "keep", "the echo of the bad name must stay valid UTF-8 JSON"),
    ("content_type_non_utf8", post(b"/compress", b"Content-Type: text/\xff\xfe\r\n"
                                   b"Content-Length: 1\r\n", b"x"), 415, None,
     "the echo of the bad type must stay valid UTF-8 JSON"),
    # --- sizes ------------------------------------------------------------------------------
    ("input_3mib_plus_1_chunked", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                       chunked(b"a" * (3 * MIB + 1))), 413, None, ""),
    ("body_over_limit_chunked", post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                     chunked(b"a" * (3 * MIB + 64 * 1024 + 1))), 413, "close",
     "--max-body-bytes, found while reading"),
    ("body_over_limit_by_content_length", post(b"/compress", OCTET +
                                               b"Content-Length: 3211265\r\n"), 413, "close",
     "refused from the headers, before any body byte"),
    # --- panel and query string -------------------------------------------------------------
    ("codec_unknown", raw_post(b"hello", b"/compress?codecs=snappy:1"), 422, "keep", ""),
    ("codec_level_zero", raw_post(b"hello", b"/compress?codecs=gzip:0"), 422, "keep", ""),
    ("codec_level_huge", raw_post(b"hello", b"/compress?codecs=zstd:99999999999999999999"), 422,
     "keep", ""),
    ("codec_level_negative", raw_post(b"hello", b"/compress?codecs=zstd:-5-3"), 422, "keep", ""),
    ("codec_range_reversed", raw_post(b"hello", b"/compress?codecs=gzip:9-1"), (200, 422), "keep",
     ""),
    ("codec_empty_entries", raw_post(b"hello", b"/compress?codecs=,,,"), 422, "keep", ""),
    ("codec_percent_encoded_nul", raw_post(b"hello", b"/compress?codecs=gzip%00:1"), 422, "keep",
     ""),
    ("codec_non_utf8_percent_encoded", raw_post(b"hello", b"/compress?codecs=%ff%fe"), 422, "keep",
     "the echo of the bad name must stay valid UTF-8 JSON"),
    ("codecs_repeated", raw_post(b"hello", b"/compress?codecs=gzip:1&codecs=snappy"), 200, "keep",
     "the first codecs parameter wins", panel_is(("gzip", 1))),
    ("codecs_huge_query", raw_post(b"hello", b"/compress?codecs=" + b"gzip:1," * 2000), 422,
     "keep", "parse_panel's 1024-byte limit"),
    ("query_percent_garbage_report", raw_post(b"hello", b"/compress?codecs=%zz"), 400, "keep", ""),
    ("query_percent_garbage_quick_route", b"GET /healthz?%zz=%zz HTTP/1.1\r\nHost: x\r\n\r\n",
     200, "keep", "quick routes ignore the query"),
    ("expect_unknown_expectation", post(b"/compress", OCTET + b"Expect: 200-ok\r\n"
                                        b"Content-Length: 5\r\n", b"hello"), (200, 417), None,
     "RFC 9110 §10.1.1: MAY answer 417"),
    # --- pipelining (a list: one answer per entry, in order) ----------------------------------
    ("pipelined_garbage_after_good_request", HEALTHZ + b"GARBAGE\x00\x01\r\n\r\n", [200, 400],
     "close", "the good one answered, then 400 and close"),
    ("pipelined_request_after_connection_close",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + HEALTHZ, [200], "close",
     "nothing after Connection: close is answered"),
    ("pipelined_request_after_body", raw_post(b"hello") + b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
     [200, 404], "keep", "both answered, in order"),
    ("pipelined_smuggled_by_unknown_te",
     post(b"/compress", OCTET + b"Transfer-Encoding: xchunked\r\nContent-Length: 35\r\n",
          b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"), [400], "close",
     "a front end that trusts Content-Length sees one request; we must not answer a second"),
    # --- HEAD: no content in any answer, errors included (RFC 9110 §9.3.2) ------------------
    ("head_not_found_then_get", b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n" + HEALTHZ, [404, 200],
     "keep", "a body after the 404 would be read as the next response"),
    ("head_method_not_allowed_then_get", b"HEAD /compress HTTP/1.1\r\nHost: x\r\n\r\n" + HEALTHZ,
     [405, 200], "keep", ""),
    ("head_page_then_get", b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + HEALTHZ, [200, 200], "keep",
     ""),
]


def read_one(sock, buf, head_only=False):
    """Reads one response from sock (buf holds bytes already received): (status, headers,
    body, rest) or None when the connection closed (or reset) before a response began.
    head_only: the answer to a HEAD, whose Content-Length announces no content."""
    while True:
        while b"\r\n\r\n" not in buf:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if buf:
                    raise AssertionError("connection closed mid-headers: %r" % buf[:200])
                return None
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ", lines[0])
        if not m:
            raise AssertionError("not a status line (a previous answer's stray body?): %r"
                                 % buf[:200])
        status = int(m.group(1))
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 100:
            buf = rest
            continue
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError("connection closed mid-body")
            rest += chunk
        return status, headers, rest[:length], rest[length:]


def is_closed(sock, buf):
    """True when the server has closed (EOF or reset) with no further bytes; fails on data."""
    if buf:
        raise AssertionError("unexpected bytes after the answer: %r" % buf[:200])
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    if data:
        raise AssertionError("unexpected bytes after the answer: %r" % data[:200])
    return True


def send_all_tolerating_reset(sock, data):
    """Sends data; an early 413 may make the server stop reading, which is not a failure."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


class CleanExit(ServerTest):
    """After the class's cases: the server drains, exits 0, and no sanitizer spoke."""

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        out = cls.server.output()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if marker in out:
                raise AssertionError(f"{marker} in the server's output:\n" +
                                     out[out.index(marker) - 200:][:4000])
        if code != 0:
            raise AssertionError(f"server exited {code}:\n" + out[-2000:])


class HostileRequests(CleanExit):
    """One server with default limits; one generated test per row of CASES."""
    server_args = ("--access-log", "on")

    def check_answer(self, name, status, headers, body, head=False):
        if headers.get("content-encoding") != "deflate":  # TinySite's fixed bytes excepted
            self.assertEqual(headers.get("access-control-allow-origin"), "*", name)
        if status >= 400 and not head:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as ex:
                self.fail(f"{name}: {status} body is not valid UTF-8 ({ex}): {body[:200]!r}")
            self.assertIn("error", json.loads(text), name)
            self.assertEqual(headers.get("content-type"), "application/json", name)
        if status == 503:
            self.assertIn("retry-after", headers, name)

    def run_case(self, name, data, expected, connection, _note, check=None):
        statuses = expected if isinstance(expected, (tuple, list)) else (expected,)
        with self.server.connect(timeout=READ_TIMEOUT_S) as s:
            sender = threading.Thread(target=send_all_tolerating_reset, args=(s, data))
            sender.start()  # big bodies: the answer may come while still sending
            if expected == CLOSED:
                sender.join(READ_TIMEOUT_S)
                s.shutdown(socket.SHUT_WR)
                first = read_one(s, b"")
                self.assertIsNone(first, f"{name}: expected a close without an answer")
                return
            try:
                self.read_answers(s, name, data, statuses, connection, check)
            finally:
                sender.join(READ_TIMEOUT_S)

    def read_answers(self, s, name, data, statuses, connection, check):
        answers, buf = [], b""
        # A list: that many answers in order (pipelined requests); a tuple or int: one answer.
        pipelined = isinstance(statuses, list)
        want = len(statuses) if pipelined else 1
        for i in range(want):
            r = read_one(s, buf, head_only=(i == 0 and data.startswith(b"HEAD ")))
            if r is None:
                break
            status, headers, body, buf = r
            answers.append(status)
            self.check_answer(name, status, headers, body,
                              head=(i == 0 and data.startswith(b"HEAD ")))
            if not pipelined:
                self.assertIn(status, statuses, f"{name}: {body[:300]!r}")
                if status == 200 and check:
                    check(self, body)
        if pipelined:
            self.assertEqual(answers, statuses, name)
        else:
            self.assertEqual(len(answers), 1, f"{name}: no answer")
        if connection == "close":
            s.settimeout(READ_TIMEOUT_S)
            self.assertTrue(is_closed(s, buf), f"{name}: connection left open")
        elif connection == "keep":
            s.sendall(HEALTHZ)
            r = read_one(s, buf)
            self.assertIsNotNone(r, f"{name}: connection closed, expected keep-alive")
            self.assertEqual(r[0], 200, f"{name}: follow-up on the same connection")

    def test_a_request_with_the_clients_end_right_behind_it_is_answered_then_closed(self):
        """The end of stream that arrives with the request, before the server reads, is seen:
        a read that comes back short normally means the socket is drained, but the end is still
        to be read and no edge of the readiness set announces it again. The server answers and
        closes at once, not at the 75 s idle timeout. The second request of a connection: the
        first arrives before any event has told the server of the socket."""
        get = b"GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n"
        for i in range(20):
            with self.server.connect(timeout=READ_TIMEOUT_S) as s:
                s.sendall(get)
                r = read_one(s, b"")
                self.assertIsNotNone(r, f"round {i}: no answer to the first request")
                s.sendall(get)
                s.shutdown(socket.SHUT_WR)
                r = read_one(s, r[3])
                self.assertIsNotNone(r, f"round {i}: no answer")
                self.assertEqual(r[0], 200, f"round {i}")
                s.settimeout(3)
                self.assertTrue(is_closed(s, r[3]), f"round {i}: left open after the client's end")

    def test_urgent_data_between_pipelined_requests_does_not_stall_the_next(self):
        """TCP urgent data (MSG_OOB) sets a mark where a read stops short though more is queued:
        a short read does not mean drained there, and no edge announces the rest. A report
        keeps the server from reading while a GET, an urgent byte and another GET arrive; both
        GETs are answered at once (the urgent byte, out of band, is not part of the stream),
        not at the idle timeout."""
        get = b"GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n"
        body = os.urandom(256 * 1024)
        with self.server.connect(timeout=READ_TIMEOUT_S) as s:
            s.sendall(raw_post(body, b"/compress?codecs=xz:9"))
            time.sleep(0.05)
            s.sendall(get)
            s.send(b"!", socket.MSG_OOB)
            s.sendall(get)
            r = read_one(s, b"")
            self.assertEqual(r[0], 200)
            started = time.monotonic()  # the report's answer: the GETs are read from here on
            s.settimeout(3)
            for i in range(2):
                r = read_one(s, r[3])
                self.assertIsNotNone(r, f"GET {i + 1}: no answer")
                self.assertEqual(r[0], 200, f"GET {i + 1}")
            self.assertLess(time.monotonic() - started, 3)

    def test_the_table_has_at_least_40_distinct_cases(self):
        names = [c[0] for c in CASES]
        self.assertGreaterEqual(len(names), 40)
        self.assertEqual(len(names), len(set(names)))


def _make_case_test(case):
    def test(self):
        try:
            self.run_case(*case)
        finally:
            self.assertHealthy()
    test.__doc__ = f"{case[0]}: expect {case[2]} ({case[4] or 'documented'})"
    return test


for _i, _case in enumerate(CASES):
    setattr(HostileRequests, f"test_{_i:03d}_{_case[0]}", _make_case_test(_case))


class SlowClients(CleanExit):
    """Short header and body timeouts so slowloris cases finish in about a second."""
    header_timeout_ms = 1000
    body_timeout_ms = 1000
    server_args = ("--header-timeout-ms", str(header_timeout_ms),
                   "--body-timeout-ms", str(body_timeout_ms))
    interval_s = 0.1

    def dribble(self, prefix, dribbled, timeout_ms):
        """Sends prefix, then dribbled one byte per interval until the server answers; returns
        (status, seconds from the first dribbled byte, whether the connection then closed)."""
        with self.server.connect(timeout=READ_TIMEOUT_S) as s:
            s.sendall(prefix)
            s.settimeout(self.interval_s)
            t0 = time.monotonic()
            buf = b""
            for i, byte in enumerate(dribbled):
                try:
                    s.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    break
                try:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                    if b"\r\n\r\n" in buf:
                        break
                except socket.timeout:
                    pass
                if i == 3:  # meanwhile other clients are served
                    self.assertHealthy()
                self.assertLess(time.monotonic() - t0, timeout_ms / 1000 + 5, "never answered")
            elapsed = time.monotonic() - t0
            s.settimeout(READ_TIMEOUT_S)
            r = read_one(s, buf)
            self.assertIsNotNone(r, "closed without a 408")
            status, headers, body, rest = r
            return status, elapsed, is_closed(s, rest), body

    def test_header_dribbled_one_byte_per_interval_gets_408_and_close(self):
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
        status, elapsed, closed, body = self.dribble(b"", request, self.header_timeout_ms)
        self.assertEqual(status, 408, body)
        self.assertTrue(closed)
        self.assertLess(elapsed, self.header_timeout_ms / 1000 + 1.0)
        self.assertGreater(elapsed, self.header_timeout_ms / 1000 * 0.8)
        self.assertHealthy()

    def test_body_dribbled_one_byte_per_interval_gets_408_and_close(self):
        body = b"a" * 200
        status, elapsed, closed, rbody = self.dribble(
            post(b"/compress", OCTET + b"Content-Length: %d\r\n" % len(body)), body,
            self.body_timeout_ms)
        self.assertEqual(status, 408, rbody)
        self.assertTrue(closed)
        self.assertLess(elapsed, self.body_timeout_ms / 1000 + 1.0)
        self.assertHealthy()

    def test_chunked_body_dribbled_gets_408(self):
        status, _, closed, rbody = self.dribble(
            post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n"),
            b"1\r\na\r\n" * 40 + b"0\r\n\r\n", self.body_timeout_ms)
        self.assertEqual(status, 408, rbody)
        self.assertTrue(closed)
        self.assertHealthy()

    def test_idle_connection_that_never_sends_is_closed_after_the_header_timeout(self):
        with self.server.connect(timeout=READ_TIMEOUT_S) as s:
            t0 = time.monotonic()
            data = s.recv(65536)  # no request, so nothing to answer: just closed
            elapsed = time.monotonic() - t0
        self.assertEqual(data, b"")
        self.assertLess(elapsed, self.header_timeout_ms / 1000 + 1.0)
        self.assertHealthy()

    def test_many_slowloris_connections_do_not_starve_healthz(self):
        socks = []
        try:
            for _ in range(50):
                s = self.server.connect(timeout=READ_TIMEOUT_S)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
                socks.append(s)
            t0 = time.monotonic()
            self.assertHealthy()
            self.assertLess(time.monotonic() - t0, 1.0)
            for s in socks:  # every one is timed out with a 408 and closed
                r = read_one(s, b"")
                self.assertIsNotNone(r)
                self.assertEqual(r[0], 408)
        finally:
            for s in socks:
                s.close()
        self.assertHealthy()


def vm_hwm_kib(pid):
    """The process's peak resident set size (VmHWM), in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/%d/status" % pid)


def get_with_head_nbytes(nbytes):
    """GET /healthz whose request line and header block are exactly nbytes long."""
    base = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n"
    return base.replace(b"X-Pad: ", b"X-Pad: " + b"p" * (nbytes - len(base)))


class ByteLimits(CleanExit):
    """Limits that hold to the byte, and requests that once grew the process without bound."""
    server_args = ("--access-log", "off")
    header_limit = 16 * 1024  # the default --max-header-bytes

    def answer_to(self, data):
        with self.server.connect(timeout=READ_TIMEOUT_S) as s:
            sender = threading.Thread(target=send_all_tolerating_reset, args=(s, data))
            sender.start()
            r = read_one(s, b"")
            sender.join(READ_TIMEOUT_S)
            self.assertIsNotNone(r, "no answer")
            return r[0]

    def test_header_block_of_exactly_the_limit_is_served_and_one_byte_more_is_431(self):
        self.assertEqual(self.answer_to(get_with_head_nbytes(self.header_limit)), 200)
        self.assertEqual(self.answer_to(get_with_head_nbytes(self.header_limit + 1)), 431)
        self.assertEqual(self.answer_to(get_with_head_nbytes(self.header_limit + 32)), 431)
        self.assertHealthy()

    def test_http_1_0_expect_100_continue_gets_no_interim_response(self):
        with self.server.connect(timeout=READ_TIMEOUT_S) as s:
            s.sendall(b"POST /compress HTTP/1.0\r\n" + OCTET +
                      b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            s.settimeout(0.5)
            with self.assertRaises(socket.timeout, msg="HTTP/1.0 must not get 100 Continue"):
                s.recv(1)
            s.settimeout(READ_TIMEOUT_S)
            s.sendall(b"hello")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertRegex(data[:16], rb"^HTTP/1\.[01] 200 ", data[:200])
        self.assertNotIn(b"100 Continue", data)

    def assert_peak_rss_flat(self, data, expected_status):
        # Warm up the same paths with a small request, so the measurement sees only growth.
        self.answer_to(post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                            b"5\r\nhello\r\n0\r\nX-A: b\r\n\r\n"))
        before = vm_hwm_kib(self.server.proc.pid)
        self.assertEqual(self.answer_to(data), expected_status)
        self.assertHealthy()
        growth_kib = vm_hwm_kib(self.server.proc.pid) - before
        print(f"peak RSS growth {growth_kib} KiB", flush=True)
        self.assertLess(growth_kib, 1024)

    def test_300000_trailer_fields_are_refused_with_flat_peak_rss(self):
        self.assert_peak_rss_flat(post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                       b"5\r\nhello\r\n0\r\n" +
                                       b"".join(b"X-%06d: v\r\n" % i for i in range(300000)) +
                                       b"\r\n"), 431)

    def test_40mb_chunk_extension_is_refused_with_flat_peak_rss(self):
        self.assert_peak_rss_flat(post(b"/compress", OCTET + b"Transfer-Encoding: chunked\r\n",
                                       b"5;x=" + b"e" * (40 * MIB) + b"\r\nhello\r\n0\r\n\r\n"),
                                  431)


class LargeHeaderLimit(unittest.TestCase):
    def test_a_header_limit_the_parser_cannot_enforce_is_refused_at_start_up(self):
        from harness import BINARY
        import subprocess
        r = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--max-header-bytes",
                            "70000"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--max-header-bytes", r.stderr)
        self.assertIn("65536", r.stderr)

    def test_largest_accepted_header_limit_survives_a_70kb_field(self):
        server = Server("--max-header-bytes", "65536", "--access-log", "off")
        try:
            with server.connect(timeout=READ_TIMEOUT_S) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 +
                          b"\r\n\r\n")
                r = read_one(s, b"")
            self.assertEqual(r[0], 431)
            self.assertEqual(curl(server.url + "/healthz")[0], 200)
        finally:
            self.assertEqual(server.stop(), 0)


def cpu_seconds(pid):
    """User + system CPU time of every thread of process pid so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class OutOfDescriptors(unittest.TestCase):
    """A process out of file descriptors keeps serving the connections it has, does not spin on
    the connections waiting in its backlog, and accepts again once descriptors are free."""

    def test_out_of_descriptors_the_server_serves_what_it_has_idles_and_recovers(self):
        import resource
        server = Server("--access-log", "off")
        spare = 4
        socks = []
        try:
            def open_fds():
                return len(os.listdir(f"/proc/{server.proc.pid}/fd"))

            # The same request once before the limit: a sanitizer build checks a type the first
            # time it meets it, and that check needs a descriptor (a pipe) of its own.
            self.assertEqual(curl(server.url + "/healthz")[0], 200)
            in_use = -1  # settled: start-up may still hold a descriptor for a moment
            while in_use != open_fds():
                in_use = open_fds()
                time.sleep(0.2)
            resource.prlimit(server.proc.pid, resource.RLIMIT_NOFILE,
                             (in_use + spare, in_use + spare))
            for _ in range(spare + 12):  # the last 12 wait in the backlog
                socks.append(server.connect(timeout=READ_TIMEOUT_S))
            wait_for(lambda: open_fds() == in_use + spare, 10,
                     f"the server to reach its limit of {in_use + spare} descriptors")
            # What it accepted is served while the backlog waits.
            socks[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_one(socks[0], b"")[0], 200)
            # Listener readable, accept failing: no retry loop (one would take a whole core).
            t0, cpu0 = time.monotonic(), cpu_seconds(server.proc.pid)
            time.sleep(1.0)
            busy = (cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - t0)
            self.assertLess(busy, 0.25, f"the server used {busy:.0%} of a CPU at its limit")
            for s in socks:
                s.close()
            socks.clear()
            # Descriptors free again: a new connection is accepted and answered.
            self.assertEqual(curl("--max-time", "10", server.url + "/healthz")[0], 200)
        finally:
            for s in socks:
                s.close()
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
