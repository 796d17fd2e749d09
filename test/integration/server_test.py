"""The HTTP contract, driven by curl and raw sockets against the real binary on loopback."""
import csv
import io
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import zlib

from harness import ServerTest, Server, curl, read_response, text_file, wait_for_admitted, DATA_DIR

MIB = 1024 * 1024
COMPAT_KEYS = ("original_size", "gzip_size", "bzip_size", "deflate_size")


def setUpModule():
    global TMP, TEXT_3MB, TEXT_1M, TEXT_100K
    TMP = tempfile.mkdtemp(prefix="compresstest-it-")
    TEXT_3MB = text_file(os.path.join(TMP, "3mb.txt"), 3 * MIB)
    TEXT_1M = text_file(os.path.join(TMP, "1m.txt"), MIB)
    TEXT_100K = text_file(os.path.join(TMP, "100k.txt"), 100 * 1024)


def post_in_thread(url, results, key, *args):
    def run():
        try:
            results[key] = curl(*args, url, timeout=120)
        except Exception as ex:  # recorded, asserted by the test
            results[key] = ex
    t = threading.Thread(target=run)
    t.start()
    return t


class Routes(ServerTest):
    server_args = ("--access-log", "on")

    def test_every_response_carries_cors_even_errors(self):
        for args in ([self.server.url + "/healthz"], [self.server.url + "/nope"],
                     ["-X", "DELETE", self.server.url + "/compress"],
                     ["-X", "OPTIONS", self.server.url + "/compress"],
                     ["-H", "Content-Type: text/plain", "--data", "x", self.server.url + "/compress"]):
            status, headers, _ = curl(*args)
            self.assertEqual(headers.get("access-control-allow-origin"), "*", (args, status))

    def test_page_is_html(self):
        status, headers, body = curl(self.server.url + "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn(b"<html", body.lower())

    def test_original_client_text_entry_gets_the_four_keys(self):
        status, headers, body = curl("-F", "textEntry=hello hello hello hello", self.server.url + "/")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "application/json")
        r = json.loads(body)
        for k in COMPAT_KEYS:
            self.assertIsInstance(r[k], int, k)
        self.assertEqual(r["original_size"], 23)
        self.assertGreater(len(r["results"]), 0)

    def test_original_client_file_upload_gets_the_four_keys(self):
        status, _, body = curl("-F", f"fileUpload=@{TEXT_100K}", self.server.url + "/")
        self.assertEqual(status, 200, body)
        r = json.loads(body)
        self.assertEqual(r["original_size"], 100 * 1024)
        for k in COMPAT_KEYS[1:]:
            self.assertLess(r[k], r["original_size"], k)
        with open(TEXT_100K, "rb") as f:
            self.assertEqual(r["deflate_size"] + 18, r["gzip_size"])
            self.assertEqual(len(zlib.compress(f.read(), 9)) - 6, r["deflate_size"])

    def test_raw_octet_stream_and_codecs_query_parameter(self):
        status, _, body = curl("-H", "Content-Type: application/octet-stream",
                               "--data-binary", f"@{TEXT_100K}",
                               self.server.url + "/compress?codecs=gzip:1-3,zstd:19")
        self.assertEqual(status, 200, body)
        r = json.loads(body)
        self.assertEqual([(e["codec"], e["level"]) for e in r["results"]],
                         [("gzip", 1), ("gzip", 2), ("gzip", 3), ("zstd", 19)])

    def test_codecs_form_field_selects_the_panel(self):
        status, _, body = curl("-F", "textEntry=abcabcabc", "-F", "codecs=brotli:11,xz:6",
                               self.server.url + "/compress")
        self.assertEqual(status, 200, body)
        self.assertEqual([e["codec"] for e in json.loads(body)["results"]], ["brotli", "xz"])

    def test_both_fields_is_422_neither_is_400(self):
        status, _, body = curl("-F", "textEntry=a", "-F", f"fileUpload=@{TEXT_100K}",
                               self.server.url + "/compress")
        self.assertEqual(status, 422)
        self.assertIn("not both", json.loads(body)["error"])
        status, _, body = curl("-F", "other=a", self.server.url + "/compress")
        self.assertEqual(status, 400)
        self.assertIn("nothing to compress", json.loads(body)["error"])

    def test_malformed_multipart_is_400(self):
        status, _, body = curl("-H", "Content-Type: multipart/form-data; boundary=xyz",
                               "--data-binary", "--xyz\r\nContent-Disposition: form-data; name=\"textEntry\"\r\n\r\nabc",
                               self.server.url + "/compress")
        self.assertEqual(status, 400)
        self.assertIn("error", json.loads(body))

    def test_unknown_codec_and_bad_level_are_422_naming_the_range(self):
        status, _, body = curl("-F", "textEntry=abc", "-F", "codecs=gzip:12", self.server.url + "/")
        self.assertEqual(status, 422)
        self.assertIn("1 to 9", json.loads(body)["error"])
        status, _, body = curl("-F", "textEntry=abc", "-F", "codecs=snappy", self.server.url + "/")
        self.assertEqual(status, 422)
        self.assertIn("unknown codec", json.loads(body)["error"])

    def test_panel_over_cpu_budget_is_422(self):
        status, _, body = curl("-F", f"fileUpload=@{TEXT_3MB}", "-F", "codecs=all",
                               self.server.url + "/compress")
        self.assertEqual(status, 422)
        self.assertIn("ms of CPU", json.loads(body)["error"])

    def test_wrong_content_type_is_415(self):
        status, headers, body = curl("-H", "Content-Type: application/json", "--data", "{}",
                                     self.server.url + "/compress")
        self.assertEqual(status, 415)
        self.assertIn("multipart/form-data", json.loads(body)["error"])

    def test_input_of_3mib_plus_one_byte_is_413(self):
        big = os.path.join(TMP, "3mib+1")
        with open(big, "wb") as f:
            f.write(b"a" * (3 * MIB + 1))
        status, _, body = curl("-F", f"fileUpload=@{big}", self.server.url + "/compress")
        self.assertEqual(status, 413)
        self.assertIn("3145728", json.loads(body)["error"])
        status, _, _ = curl("-H", "Content-Type: application/octet-stream",
                            "--data-binary", f"@{big}", self.server.url + "/compress")
        self.assertEqual(status, 413)
        exact = os.path.join(TMP, "3mib")
        with open(exact, "wb") as f:
            f.write(b"a" * (3 * MIB))
        status, _, body = curl("-F", f"fileUpload=@{exact}", "-F", "codecs=lz4:1",
                               self.server.url + "/compress")
        self.assertEqual(status, 200, body)

    def test_body_over_limit_is_refused_from_the_headers_without_reading_it(self):
        with self.server.connect() as s:
            s.sendall(b"POST /compress HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                      b"Content-Length: 100000000\r\n\r\n")
            head, body, _ = read_response(s)  # answered although no body byte was sent
            self.assertIn(b" 413 ", head.split(b"\r\n")[0])
            self.assertIn(b"connection: close", head.lower())
            self.assertIn(b"error", body)

    def test_expect_100_continue_gets_413_or_100_from_the_headers(self):
        with self.server.connect() as s:
            s.sendall(b"POST /compress HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                      b"Content-Length: 99999999\r\nExpect: 100-continue\r\n\r\n")
            head, _, _ = read_response(s)
            self.assertIn(b" 413 ", head.split(b"\r\n")[0])
        with self.server.connect() as s:
            s.sendall(b"POST /compress HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                      b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            first = s.recv(100)
            self.assertEqual(first, b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(b"hello")
            head, body, _ = read_response(s)
            self.assertIn(b" 200 ", head.split(b"\r\n")[0])
            self.assertEqual(json.loads(body)["original_size"], 5)

    def test_curl_expect_100_upload_of_3mb_is_answered_well_before_curls_timeout(self):
        t0 = time.monotonic()
        status, _, body = curl("--expect100-timeout", "30", "-H", "Expect: 100-continue",
                               "-F", f"fileUpload=@{TEXT_3MB}", self.server.url + "/compress")
        elapsed = time.monotonic() - t0
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["original_size"], 3 * MIB)
        self.assertLess(elapsed, 15, "the server let curl wait for its 100-continue timeout")

    def test_method_not_allowed_lists_allow(self):
        for method, path, allow in (("DELETE", "/compress", "POST, OPTIONS"),
                                    ("POST", "/tiny", "GET, HEAD, OPTIONS"),
                                    ("PUT", "/", "GET, HEAD, POST, OPTIONS"),
                                    ("POST", "/healthz", "GET, HEAD, OPTIONS")):
            status, headers, body = curl("-X", method, self.server.url + path)
            self.assertEqual(status, 405, (method, path))
            self.assertEqual(headers["allow"], allow)
            self.assertIn("not allowed", json.loads(body)["error"])

    def test_unknown_route_is_404_json(self):
        status, _, body = curl(self.server.url + "/wp-admin")
        self.assertEqual(status, 404)
        self.assertIn("no route", json.loads(body)["error"])

    def test_preflight_is_204_with_methods_headers_and_max_age(self):
        status, headers, body = curl("-X", "OPTIONS", "-H", "Origin: https://example.org",
                                     "-H", "Access-Control-Request-Method: POST",
                                     self.server.url + "/compress")
        self.assertEqual(status, 204)
        self.assertEqual(body, b"")
        self.assertIn("POST", headers["access-control-allow-methods"])
        self.assertIn("Content-Type", headers["access-control-allow-headers"])
        self.assertEqual(headers["access-control-max-age"], "86400")

    def test_api_codecs_lists_every_codec_the_report_runs_and_the_limit(self):
        status, _, body = curl(self.server.url + "/api/codecs")
        self.assertEqual(status, 200)
        r = json.loads(body)
        self.assertEqual(r["max_input_nbytes"], 3 * MIB)
        levels = {c["name"]: range(c["min_level"], c["max_level"] + 1) for c in r["codecs"]}
        for c in r["codecs"]:
            self.assertIn(c["default_level"], levels[c["name"]], c)
        for e in r["default_panel"]:
            self.assertIn(e["level"], levels[e["codec"]], e)
        # "all" runs exactly the codecs and levels listed, in their order.
        status, _, body = curl("-F", "textEntry=hello hello hello", "-F", "codecs=all",
                               self.server.url + "/compress")
        self.assertEqual(status, 200, body)
        self.assertEqual([(e["codec"], e["level"]) for e in json.loads(body)["results"]],
                         [(name, level) for name, rng in levels.items() for level in rng])

    def test_metrics_is_prometheus_text_with_the_named_series(self):
        curl(self.server.url + "/healthz")
        status, headers, body = curl(self.server.url + "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        text = body.decode()
        for series in ("compresstest_requests_total{route=\"/healthz\",status=\"200\"}",
                       "compresstest_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"}",
                       "compresstest_in_flight_requests", "compresstest_compute_queue_depth",
                       "compresstest_rejected_total", "compresstest_received_bytes_total"):
            self.assertIn(series, text)

    def test_assets_revalidate_with_etag_and_come_in_br_when_accepted(self):
        for path in ("/", "/app.js", "/style.css"):
            status, headers, body = curl("-H", "Accept-Encoding: br, gzip", self.server.url + path)
            self.assertEqual(status, 200, path)
            self.assertEqual(headers["content-encoding"], "br")
            etag = headers["etag"]
            status, headers, body = curl("-H", f"If-None-Match: {etag}", self.server.url + path)
            self.assertEqual(status, 304, path)
            self.assertEqual(body, b"")
            status, headers, _ = curl("-H", "Accept-Encoding: gzip", self.server.url + path)
            self.assertEqual(headers["content-encoding"], "gzip")

    def test_access_log_has_one_line_per_request(self):
        curl(self.server.url + "/healthz?marker=accesslogtest")
        time.sleep(0.5)  # lines are flushed every timer tick
        lines = [l for l in self.server.lines if "accesslogtest" in l]
        self.assertEqual(len(lines), 1, self.server.output()[-2000:])
        self.assertRegex(lines[0], r"^\S+Z 127\.0\.0\.1 GET /healthz\?marker=accesslogtest 200 \d+ \d+us$")

    def test_access_log_names_each_plain_tiny_get_with_its_bytes(self):
        # The connection core answers these itself (the second from its remembered request), and
        # the log line takes method and target from the exchange, not from a parsed request.
        pattern = re.compile(r"^\S+Z 127\.0\.0\.1 GET /tiny 200 (\d+) \d+us$")
        def tiny_lines():
            return [l for l in self.server.lines if pattern.match(l)]
        before = len(tiny_lines())
        request = b"GET /tiny HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n"
        with self.server.connect() as s:
            sizes = []
            for _ in range(2):
                s.sendall(request)
                head, body, rest = read_response(s)
                self.assertEqual(rest, b"")
                sizes.append(len(head) + len(body))
        time.sleep(0.5)  # lines are flushed every timer tick
        lines = tiny_lines()[before:]
        self.assertEqual(len(lines), 2, self.server.output()[-2000:])
        self.assertEqual([int(pattern.match(l).group(1)) for l in lines], sizes)


def ndjson_lines(url, *args, timeout=120):
    """POSTs with Accept: application/x-ndjson through curl -N; returns [(arrival_s, obj)]."""
    proc = subprocess.Popen(
        ["curl", "-s", "-S", "-N", "--max-time", str(timeout), "-H",
         "Accept: application/x-ndjson", *args, url], stdout=subprocess.PIPE)
    lines = []
    with proc.stdout:
        for raw in proc.stdout:
            lines.append((time.monotonic(), json.loads(raw)))
    proc.wait(timeout)
    return lines


class Streaming(ServerTest):
    # Idle-priority compute threads get no CPU at all while anything else runs on the machine:
    # the order of finishing would measure the neighbours. Normal priority keeps it the code's.
    # A short timing floor keeps the quick entries quick (each runs ~2 ms, not 2 x 20 ms), so
    # that their lines come well before xz:9's whatever else the machine runs.
    server_args = ("--compute-priority", "normal", "--compute-threads", "2",
                   "--timing-floor-ms", "2")

    def test_ndjson_lines_arrive_before_the_slowest_entry_finishes(self):
        # xz:9 on 1 MiB takes far longer than the rest together; it runs first (biggest first)
        # on one compute thread while the quick entries finish on the other.
        spec = "xz:9,gzip:1,lz4:1,zstd:1"
        lines = ndjson_lines(self.server.url + "/compress", "-F", f"fileUpload=@{TEXT_1M}",
                             "-F", f"codecs={spec}")
        types = [obj["type"] for _, obj in lines]
        order = [(round(t - lines[0][0], 3), o.get("entry", {}).get("codec")) for t, o in lines]
        self.assertEqual(types, ["start"] + ["entry"] * 4 + ["report"], types)
        start = lines[0][1]
        self.assertEqual(start["total"], 4)
        self.assertEqual(start["original_size"], MIB)
        self.assertEqual([f"{e['codec']}:{e['level']}" for e in start["entries"]], spec.split(","))
        entries = lines[1:5]
        self.assertEqual([obj["done"] for _, obj in entries], [1, 2, 3, 4])
        slowest_at, slowest = entries[-1][0], entries[-1][1]["entry"]
        self.assertEqual((slowest["codec"], slowest["level"]), ("xz", 9), order)
        first_at = entries[0][0]
        # The first line came while xz was still compressing: earlier by a good part of the
        # CPU time its one run took.
        self.assertLess(first_at, slowest_at - 0.3 * slowest["compress_ms"] / 1000,
                        (first_at, slowest_at, slowest["compress_ms"]))
        # The summary holds the whole report: every entry, verified, with the Pareto flags.
        report = lines[-1][1]["report"]
        self.assertEqual(report["original_size"], MIB)
        streamed = {(o["entry"]["codec"], o["entry"]["level"]): o["entry"] for _, o in entries}
        self.assertEqual(len(report["results"]), 4)
        for r in report["results"]:
            s = streamed[(r["codec"], r["level"])]
            self.assertEqual({k: v for k, v in s.items() if k != "pareto"},
                             {k: v for k, v in r.items() if k != "pareto"})
            self.assertTrue(r["verified"])
        self.assertTrue(any(r["pareto"]["compress"] for r in report["results"]))

    def test_a_client_that_goes_away_mid_stream_stops_the_report(self):
        # Seventeen slow entries: two run at once, so the first line comes with fifteen not
        # started. The server learns that the client went away at a write (or a reset) one or
        # two lines later, while two more run; what has not started by then stays unmeasured.
        # Counted, not timed: compresstest_report_entries_total adds one per entry measured, so
        # a whole report adds 17 and an abandoned one only the few that had started (a bound on
        # wall time compared two runs, and failed when a busy machine slowed one of them).
        with open(TEXT_100K, "rb") as f:
            text = f.read(32 * 1024)
        path = os.path.join(TMP, "32k.txt")
        with open(path, "wb") as f:
            f.write(text)
        spec = "zopfli:1-15,brotli:10-11"
        args = ["-F", f"fileUpload=@{path}", "-F", f"codecs={spec}"]

        def entries_measured():
            _, _, m = curl(self.server.url + "/metrics")
            return int(re.search(rb"(?m)^compresstest_report_entries_total (\d+)$", m).group(1))

        before = entries_measured()
        status, _, _ = curl(*args, self.server.url + "/compress", timeout=300)
        self.assertEqual(status, 200)
        self.assertEqual(entries_measured() - before, 17)
        before = entries_measured()
        proc = subprocess.Popen(["curl", "-s", "-N", "-H", "Accept: application/x-ndjson", *args,
                                 self.server.url + "/compress"], stdout=subprocess.PIPE)
        for raw in proc.stdout:
            if json.loads(raw)["type"] == "entry":
                break
        proc.kill()
        proc.wait()
        proc.stdout.close()
        wait_for_admitted(self, self.server, 0, timeout_s=300)
        # The one streamed, the two running when it was read, those started before the server
        # noticed (one or two): 4 to 6 here; a report that ran on would have measured all 17.
        measured = entries_measured() - before
        self.assertGreaterEqual(measured, 1)
        self.assertLessEqual(measured, 10)
        self.assertHealthy()
        # The session that streamed is gone, not kept by its stream: the only connection left
        # open is the one asking (a posted notify may hold it a moment longer).
        for _ in range(50):
            with self.server.connect() as s:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                _, body, _ = read_response(s)
            if re.search(r"(?m)^compresstest_open_connections 1$", body.decode()):
                break
            time.sleep(0.1)
        self.assertRegex(body.decode(), r"(?m)^compresstest_open_connections 1$")

    def test_plain_json_keeps_its_shape_and_the_stream_summary_has_the_same_keys(self):
        args = ("-F", "textEntry=hello hello hello hello")
        status, headers, body = curl(*args, self.server.url + "/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        plain = json.loads(body)
        for k in COMPAT_KEYS:
            self.assertIsInstance(plain[k], int, k)
        summary = ndjson_lines(self.server.url + "/", *args)[-1][1]["report"]
        self.assertEqual(sorted(summary), sorted(plain))
        self.assertEqual([sorted(r) for r in summary["results"]],
                         [sorted(r) for r in plain["results"]])

    def test_stream_is_chunked_ndjson_and_errors_before_it_starts_are_plain_json(self):
        status, headers, body = curl("-H", "Accept: application/x-ndjson", "-F", "textEntry=abc",
                                     "-F", "codecs=gzip:1", self.server.url + "/compress")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/x-ndjson")
        self.assertEqual(headers["transfer-encoding"], "chunked")
        self.assertTrue(body.endswith(b"\n"))
        self.assertEqual(len(body.splitlines()), 3)
        # Refused at any spelling of q=0 (RFC 9110 qvalue), and with nothing else acceptable
        # but JSON: the plain report.
        for accept in ("application/x-ndjson;q=0", "application/x-ndjson; q=0.000, */*",
                       "application/json, application/x-ndjson;Q=0.0"):
            status, headers, body = curl("-H", f"Accept: {accept}", "-F", "textEntry=abc",
                                         "-F", "codecs=gzip:1", self.server.url + "/compress")
            self.assertEqual((status, headers["content-type"]), (200, "application/json"), accept)
            self.assertIn("results", json.loads(body))
        status, headers, body = curl("-H", "Accept: application/x-ndjson", "-F", "textEntry=abc",
                                     "-F", "codecs=snappy", self.server.url + "/compress")
        self.assertEqual(status, 422)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertIn("unknown codec", json.loads(body)["error"])

    def test_wire_view_answers_for_the_requests_accept_encoding_or_the_parameter(self):
        status, _, body = curl("-H", "Accept-Encoding: gzip;q=0.5, br", "-F",
                               f"fileUpload=@{TEXT_100K}", "-F", "codecs=gzip:9,brotli:5",
                               self.server.url + "/compress")
        self.assertEqual(status, 200, body)
        wire = json.loads(body)["wire"]
        self.assertEqual(wire["accept_encoding"], "gzip;q=0.5, br")
        self.assertEqual((wire["chosen"]["codec"], wire["chosen"]["content_encoding"]),
                         ("brotli", "br"))
        status, _, body = curl("-H", "Accept-Encoding: br", "-F", f"fileUpload=@{TEXT_100K}",
                               "-F", "codecs=gzip:9,brotli:5", "-F", "accept_encoding=gzip",
                               self.server.url + "/compress")
        wire = json.loads(body)["wire"]
        self.assertEqual((wire["accept_encoding"], wire["chosen"]["codec"]), ("gzip", "gzip"))

    def test_api_codecs_is_precompressed_revalidated_and_carries_the_costs(self):
        status, headers, body = curl("-H", "Accept-Encoding: br", self.server.url + "/api/codecs")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-encoding"], "br")
        self.assertEqual(headers["content-type"], "application/json")
        status, headers, body = curl(self.server.url + "/api/codecs")
        self.assertNotIn("content-encoding", headers)
        doc = json.loads(body)
        self.assertEqual(doc["timing_floor_ms"], 2)  # as this class configures it
        for c in doc["codecs"]:
            self.assertEqual([x["level"] for x in c["costs"]],
                             list(range(c["min_level"], c["max_level"] + 1)), c["name"])
            if "derived_from" in c:  # shares its base's compression, so its costs
                base = next(b for b in doc["codecs"] if b["name"] == c["derived_from"])
                self.assertEqual(c["costs"], base["costs"], c["name"])
            for x in c["costs"]:
                self.assertGreater(x["compress_ns_per_byte"], 0)
                self.assertGreater(x["decompress_ns_per_byte"], 0)
        status, _, body = curl("-H", f"If-None-Match: {headers['etag']}",
                               self.server.url + "/api/codecs")
        self.assertEqual((status, body), (304, b""))


class Budget(unittest.TestCase):
    """The CPU budget counts each entry's repeats to the timing floor and its decompression."""

    def report_status(self, *server_args):
        server = Server("--access-log", "off", *server_args)
        try:
            status, _, body = curl("-F", "textEntry=" + "compressible text " * 100, "-F",
                                   "codecs=gzip:1,brotli:1,bzip2:1", server.url + "/compress")
            return status, json.loads(body)
        finally:
            server.stop()
            server.proc.stdout.close()

    def test_a_budget_refusal_counts_repeats_and_decompression(self):
        # On 1.8 KB each of the three entries is repeated to the floor, compression to half of
        # it and decompression the rest (none so quick that 10,000 runs stay under it, as lz4's
        # decompression would): 3 x (10 + 10) = 60 ms. Compression alone would be 30 ms, under
        # a budget of 50.
        status, body = self.report_status("--max-panel-cpu-ms", "50", "--timing-floor-ms", "20")
        self.assertEqual(status, 422, body)
        self.assertIn("about 60 ms of CPU", body["error"])
        self.assertNotIn("panel", body["error"])
        # 3 x 15 = 45 ms fits; with no repeats the cost is a fraction of a millisecond.
        for floor in ("15", "0"):
            status, body = self.report_status("--max-panel-cpu-ms", "50", "--timing-floor-ms",
                                              floor)
            self.assertEqual(status, 200, (floor, body))


def report_cli(*args, stdin=b""):
    """Runs compresstest report; returns (exit code, stdout text, stderr text)."""
    out = subprocess.run([os.environ.get("COMPRESSTEST_BINARY", "build/release/compresstest"),
                          "report", "--timing-floor-ms", "0", *args], input=stdin,
                         capture_output=True, timeout=120)
    return out.returncode, out.stdout.decode(), out.stderr.decode()


class CommandLine(unittest.TestCase):
    SPEC = "gzip:1,zstd:3,libdeflate:12,lz4:1"

    def test_formats_agree_with_the_json_and_the_table_is_aligned(self):
        code, js, _ = report_cli("--json", "--codecs", self.SPEC, TEXT_100K)
        self.assertEqual(code, 0)
        want = [(r["codec"], r["level"], r["size"]) for r in json.loads(js)["results"]]
        code, text, _ = report_cli("--codecs", self.SPEC, TEXT_100K)
        self.assertEqual(code, 0)
        head, *rows = text.splitlines()[1:]
        self.assertEqual([(r.split()[0], int(r.split()[1]), int(r.split()[2])) for r in rows],
                         want)
        # Every right-aligned number ends under its title's last letter, whatever the names.
        for title in ("level", "size", "comp MB/s", "decomp ms"):
            edge = head.index(title) + len(title)
            for r in rows:
                self.assertNotEqual(r[edge - 1], " ", (title, r))
                self.assertTrue(edge == len(r) or r[edge] == " ", (title, r))
        code, csv_text, _ = report_cli("--csv", "--codecs", self.SPEC, TEXT_100K, "-",
                                       stdin=b"abc abc abc")
        self.assertEqual(code, 0)
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        self.assertEqual([(r["codec"], int(r["level"]), int(r["size"])) for r in rows[:4]], want)
        self.assertEqual([r["file"] for r in rows], [TEXT_100K] * 4 + ["-"] * 4)
        self.assertTrue(all(r["verified"] == "true" for r in rows))
        # Four significant digits, as in the JSON: an 11-byte input's runs take microseconds
        # and still read as a measurement, not 0.000.
        for r in rows:
            for key in ("compress_ms", "compress_min_ms", "decompress_ms", "decompress_min_ms"):
                self.assertGreater(float(r[key]), 0, (r["codec"], key, r[key]))
                digits = r[key].replace(".", "").lstrip("0")
                self.assertGreaterEqual(len(digits), 4, (r["codec"], key, r[key]))
        code, md, _ = report_cli("--markdown", "--codecs", self.SPEC, TEXT_100K)
        self.assertEqual(code, 0)
        table = [l for l in md.splitlines() if l.startswith("|")]
        self.assertEqual(len(table), 2 + len(want))
        self.assertEqual({l.count("|") for l in table}, {table[0].count("|")})

    def test_a_directory_is_refused_and_an_empty_input_has_no_ratio(self):
        code, out, err = report_cli(TMP)
        self.assertEqual((code, out), (2, ""))
        self.assertIn("is a directory", err)
        code, js, _ = report_cli("--json", "--codecs", self.SPEC, "-")
        self.assertEqual(code, 0)
        r = json.loads(js)
        self.assertEqual(r["original_size"], 0)
        for e in r["results"]:
            self.assertGreater(e["size"], 0)
            self.assertIsNone(e["ratio"])
        code, text, _ = report_cli("--codecs", self.SPEC, "-")
        self.assertIn("n/a", text)
        self.assertNotIn("0.00%", text)
        code, _, err = report_cli("--json", "--csv", "-")
        self.assertEqual(code, 2)


class TinySite(ServerTest):
    def test_raw_response_fits_536_bytes_inflates_and_connection_stays_open(self):
        with self.server.connect() as s:
            s.sendall(b"GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n")
            head, body, extra = read_response(s)
            self.assertEqual(extra, b"")
            self.assertLessEqual(len(head) + len(body), 536)
            self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\n"
                                            b"Content-Length: "))
            page = zlib.decompress(body)  # zlib format (RFC 1950), as RFC 9110 names deflate
            self.assertGreaterEqual(len(page), 1000)
            self.assertIn(b"<table", page)
            s.sendall(b"GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n")  # same connection
            head2, body2, _ = read_response(s)
            self.assertEqual((head2, body2), (head, body))

    def test_the_connections_own_answer_is_the_routers_byte_for_byte(self):
        # A plain GET /tiny is answered by the connection core; one with a header it does not
        # know goes through the parser and the router. Same bytes, and both counted as /tiny.
        def answer(request):
            with self.server.connect() as s:
                s.sendall(request)
                head, body, _ = read_response(s)
                return head + body
        plain = answer(b"GET /tiny HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
        routed = answer(b"GET /tiny HTTP/1.1\r\nHost: x\r\nX-Routed: 1\r\n"
                        b"Accept-Encoding: gzip, deflate\r\n\r\n")
        self.assertEqual(plain, routed)
        _, _, metrics = curl(self.server.url + "/metrics")
        count = re.search(rb'compresstest_requests_total\{route="/tiny",status="200"\} (\d+)',
                          metrics)
        self.assertIsNotNone(count, metrics)
        self.assertGreaterEqual(int(count.group(1)), 2)

    def test_pipelined_plain_gets_of_tiny_are_each_answered_and_counted(self):
        # Sent in one write, the five are answered together by the connection core: five whole
        # answers, each the single answer's bytes, and five requests in the metrics.
        def tiny_count():
            _, _, metrics = curl(self.server.url + "/metrics")
            m = re.search(rb'compresstest_requests_total\{route="/tiny",status="200"\} (\d+)',
                          metrics)
            return int(m.group(1)) if m else 0
        before = tiny_count()
        with self.server.connect() as s:
            s.sendall(b"GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n")
            single = b"".join(read_response(s)[:2])
            s.sendall(b"GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n" * 5)
            got = b""
            while len(got) < 5 * len(single):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            self.assertEqual(got, single * 5)
        self.assertEqual(tiny_count() - before, 6)

    def test_head_has_the_same_headers_and_no_body(self):
        with self.server.connect() as s:
            s.sendall(b"HEAD /tiny HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head, _, rest = read_response(s, head_only=True)
            self.assertIn(b"Content-Length: ", head)
            self.assertTrue(rest.startswith(b"HTTP/1.1 200") or rest == b"")

    def test_client_ruling_out_deflate_gets_identity_html(self):
        status, headers, body = curl("-H", "Accept-Encoding: gzip, deflate;q=0",
                                     self.server.url + "/tiny")
        self.assertEqual(status, 200)
        self.assertNotIn("content-encoding", headers)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        _, _, deflated = curl(self.server.url + "/tiny")
        self.assertEqual(zlib.decompress(deflated), body)


class Timeouts(ServerTest):
    server_args = ("--header-timeout-ms", "300", "--body-timeout-ms", "300")

    def test_slow_headers_get_408_and_the_connection_closes(self):
        with self.server.connect() as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            head, body, _ = read_response(s)
            self.assertIn(b" 408 ", head.split(b"\r\n")[0])
            self.assertEqual(head.lower().count(b"access-control-allow-origin: *"), 1)
            self.assertEqual(s.recv(10), b"")

    def test_slow_body_gets_408(self):
        with self.server.connect() as s:
            s.sendall(b"POST /compress HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                      b"Content-Length: 10\r\n\r\nabc")
            head, _, _ = read_response(s)
            self.assertIn(b" 408 ", head.split(b"\r\n")[0])
        self.assertHealthy()


class Overload(unittest.TestCase):
    """One compute thread and a queue of one: the third concurrent report is refused."""

    def test_quick_routes_answer_while_reports_run_and_excess_gets_503(self):
        server = Server("--compute-threads", "1", "--queue-length", "1",
                        "--max-panel-cpu-ms", "1000000000")
        try:
            results, threads = {}, []
            slow = "codecs=brotli:11,xz:9"  # seconds of CPU on 3 MB
            for i in range(2):
                threads.append(post_in_thread(server.url + "/compress", results, i,
                                              "-F", f"fileUpload=@{TEXT_3MB}", "-F", slow))
            wait_for_admitted(self, server, 2)
            # Both compute slots are taken; quick routes still answer, before the reports.
            status, _, _ = curl(server.url + "/healthz", timeout=5)
            self.assertEqual(status, 200)
            status, _, body = curl(server.url + "/tiny", timeout=5)
            self.assertEqual(status, 200)
            self.assertTrue(all(t.is_alive() for t in threads), "reports finished too early")
            status, headers, body = curl("-F", "textEntry=abc", server.url + "/compress")
            self.assertEqual(status, 503)
            self.assertEqual(headers["retry-after"], "1")
            self.assertEqual(headers["access-control-allow-origin"], "*")
            self.assertIn("busy", json.loads(body)["error"])
            for t in threads:
                t.join(120)
            for i in range(2):
                self.assertEqual(results[i][0], 200, results[i])
            _, _, m = curl(server.url + "/metrics")
            self.assertRegex(m.decode(), r"compresstest_rejected_total 1\b")
        finally:
            self.assertEqual(server.stop(), 0)


class BodyMemoryBudget(unittest.TestCase):
    """--max-body-memory-bytes bounds the bodies held at once, whatever the connection count."""

    def reserved(self, server):
        _, _, body = curl(server.url + "/metrics")
        m = re.search(rb"^compresstest_body_bytes_reserved (\d+)$", body, re.M)
        return int(m.group(1))

    def test_an_upload_over_the_budget_gets_503_from_its_headers_until_the_first_is_answered(self):
        n = 3_000_000
        server = Server("--max-body-memory-bytes", "4000000")
        try:
            head = (b"POST /compress HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n")
            data = (b"compresstest body budget " * (n // 25 + 1))[:n]
            with server.connect(timeout=60) as first:
                first.sendall(head % n + data[:1000])  # reserved; the rest comes later
                deadline = time.monotonic() + 10
                while self.reserved(server) != n and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertEqual(self.reserved(server), n)
                with server.connect() as second:
                    second.sendall(head % n)  # no body byte sent: the headers are enough
                    h, body, _ = read_response(second)
                    self.assertIn(b" 503 ", h.split(b"\r\n")[0])
                    self.assertIn(b"retry-after:", h.lower())
                    self.assertIn(b"uploads", body)
                self.assertEqual(curl(server.url + "/tiny")[0], 200)  # bodyless requests go on
                first.sendall(data[1000:])
                h, body, _ = read_response(first)
                self.assertIn(b" 200 ", h.split(b"\r\n")[0])
                self.assertEqual(json.loads(body)["original_size"], n)
            deadline = time.monotonic() + 10
            while self.reserved(server) != 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(self.reserved(server), 0)
            status, _, body = curl(server.url + "/compress", "-H",
                                   "Content-Type: application/octet-stream",
                                   "--data-binary", "hello budget")
            self.assertEqual(status, 200, body)
        finally:
            server.stop()


class Shutdown(unittest.TestCase):
    def test_sigterm_with_uploads_in_flight_answers_them_all_and_exits_0(self):
        # No lame duck here: the drain itself is under test; its deadline leaves room for four
        # 3 MiB reports under a sanitizer build.
        server = Server("--compute-threads", "2", "--lame-duck-ms", "0",
                        "--drain-timeout-ms", "60000")
        results, threads = {}, []
        for i in range(4):
            threads.append(post_in_thread(server.url + "/compress", results, i,
                                          "-F", f"fileUpload=@{TEXT_3MB}"))
        wait_for_admitted(self, server, 4)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        with self.assertRaises(OSError):  # no longer accepting
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        for t in threads:
            t.join(60)
        self.assertEqual(server.proc.wait(30), 0)
        for i in range(4):
            self.assertEqual(results[i][0], 200, results[i])
            self.assertEqual(json.loads(results[i][2])["original_size"], 3 * MIB)

    def test_idle_keep_alive_connections_do_not_hold_up_shutdown(self):
        server = Server()
        s = server.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        read_response(s)
        t0 = time.monotonic()
        self.assertEqual(server.stop(), 0)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(s.recv(10), b"")
        s.close()


class Configuration(unittest.TestCase):
    def run_binary(self, *args, env=None):
        from harness import BINARY
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=10,
                              env=full_env)

    def test_invalid_value_exits_2_naming_the_option(self):
        r = self.run_binary("serve", "--queue-length", "many")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--queue-length", r.stderr)
        r = self.run_binary("serve", env={"COMPRESSTEST_IDLE_TIMEOUT_MS": "soon"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("COMPRESSTEST_IDLE_TIMEOUT_MS", r.stderr)

    def test_help_and_version(self):
        r = self.run_binary("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--max-input-bytes", r.stdout)
        r = self.run_binary("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^compresstest \d+\.\d+\.\d+")

    def test_port_env_and_startup_line_with_effective_config(self):
        server = Server(env={"COMPRESSTEST_QUEUE_LENGTH": "3"})
        try:
            line = server.lines[0]
            self.assertIn("queue-length=3", line)
            self.assertIn("max-input-bytes=3145728", line)
        finally:
            server.stop()

    def test_second_server_on_a_port_in_use_exits_1_instead_of_sharing_it(self):
        first = Server()
        try:
            r = self.run_binary("serve", "--listen", f"127.0.0.1:{first.port}")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(f"cannot listen on 127.0.0.1:{first.port}: Address already in use",
                          r.stderr)
            self.assertNotIn("/usr/include", r.stderr)
            self.assertNotIn("listening on", r.stdout)
            self.assertEqual(curl(first.url + "/healthz")[0], 200)
        finally:
            first.stop()

    def compute_threads(self, server):
        """(comm, allowed CPU list, scheduling policy) of each compute-N thread."""
        tasks = f"/proc/{server.proc.pid}/task"
        found = []
        for tid in os.listdir(tasks):
            with open(f"{tasks}/{tid}/comm") as f:
                comm = f.read().strip()
            if not comm.startswith("compute-"):
                continue
            with open(f"{tasks}/{tid}/status") as f:
                allowed = re.search(r"^Cpus_allowed_list:\s*(\S+)", f.read(), re.M).group(1)
            with open(f"{tasks}/{tid}/stat") as f:
                policy = int(f.read().rsplit(")", 1)[1].split()[38])  # field 41
            found.append((comm, allowed, policy))
        return sorted(found)

    def test_compute_threads_are_idle_priority_and_pinned_one_cpu_each_round_robin(self):
        cpus = sorted(os.sched_getaffinity(0))
        n = 2 * len(cpus) + 1
        server = Server("--compute-threads", str(n))
        try:
            found = self.compute_threads(server)
        finally:
            server.stop()
        self.assertEqual([c for c, _, _ in found], sorted(f"compute-{i}" for i in range(n)))
        by_index = {int(c.split("-")[1]): (a, p) for c, a, p in found}
        for i in range(n):
            allowed, policy = by_index[i]
            self.assertEqual(allowed, str(cpus[i % len(cpus)]), f"compute-{i}")
            self.assertEqual(policy, os.SCHED_IDLE, f"compute-{i}")

    def test_unpinned_normal_priority_compute_threads_keep_the_process_cpus(self):
        server = Server("--pin-compute-threads", "off", "--compute-priority", "normal",
                        "--compute-threads", "2")
        try:
            found = self.compute_threads(server)
            with open(f"/proc/{server.proc.pid}/status") as f:
                process_allowed = re.search(r"^Cpus_allowed_list:\s*(\S+)", f.read(), re.M).group(1)
        finally:
            server.stop()
        self.assertEqual(len(found), 2)
        for comm, allowed, policy in found:
            self.assertEqual(allowed, process_allowed, comm)
            self.assertEqual(policy, os.SCHED_OTHER, comm)

    def test_access_log_off_prints_no_request_lines(self):
        server = Server("--access-log", "off")
        curl(server.url + "/healthz")
        time.sleep(0.3)
        server.stop()
        self.assertNotIn("GET /healthz", server.output())


if __name__ == "__main__":
    unittest.main()
