"""Integration tests for compresstest lambda against a Runtime API stand-in on loopback."""
import base64
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, DATA_DIR, Server, curl, text_file  # noqa: E402

RUNTIME = "/2018-06-01/runtime"
WAIT_S = 60          # longest wait for one invocation's result
EXIT_WAIT_S = 10     # longest wait for the lambda process to exit
# Figures that depend on how fast this run was, not on the input.
TIMING_KEYS = {"compress_ms", "decompress_ms", "compress_min_ms", "decompress_min_ms", "runs",
               "decompress_runs", "compress_mb_s", "decompress_mb_s", "pareto", "elapsed_ms"}
BOUNDARY = "----compresstest-lambda-boundary"
LAMBDA_PAYLOAD_NBYTES = 6 * 1024 * 1024


def fixture(name):
    """A real API Gateway event shape from test/data/apigw (a missing one is an error)."""
    with open(os.path.join(DATA_DIR, "apigw", name), "rb") as f:
        return json.load(f)


def rest_v1_event(method, path, headers=None, body=b"", query=None):
    """The REST API (payload 1.0) fixture turned into a request for one of our routes."""
    ev = fixture("rest-v1-request.json")
    hdrs = dict(ev["headers"])
    for name in [n for n in hdrs if n.lower() == "content-type"]:
        del hdrs[name]
    hdrs.update(headers or {})
    ev.update(httpMethod=method, path=path, resource="/{proxy+}", headers=hdrs,
              multiValueHeaders={k: [v] for k, v in hdrs.items()},
              queryStringParameters=query,
              multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
              body=base64.b64encode(body).decode() if body else None,
              isBase64Encoded=bool(body))
    ev["requestContext"]["httpMethod"] = method
    return ev


def http_v2_event(method, path, headers=None, body=b"", raw_query=""):
    """The HTTP API (payload 2.0) fixture turned into a request for one of our routes."""
    ev = fixture("http-v2-request.json")
    hdrs = {k.lower(): v for k, v in ev["headers"].items()}
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    ev.update(rawPath=path, rawQueryString=raw_query, headers=hdrs,
              body=base64.b64encode(body).decode() if body else None,
              isBase64Encoded=bool(body))
    ev.pop("queryStringParameters", None)
    ev["requestContext"]["http"].update(method=method, path=path)
    return ev


def multipart_text(text):
    """A multipart/form-data body with one textEntry field, as a browser's FormData sends."""
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"textEntry\"\r\n\r\n"
            .encode() + text + f"\r\n--{BOUNDARY}--\r\n".encode())


def without_timing(value):
    """The report JSON with the timing fields (which differ run to run) left out."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def stop_server(server):
    """Stops a harness Server and closes its output pipe."""
    try:
        server.stop()
    finally:
        server.proc.stdout.close()


class RuntimeAPI:
    """A stand-in for the Lambda Runtime API on 127.0.0.1: /next blocks until an event is
    queued; /response, /error and /init/error posts are recorded."""

    def __init__(self):
        self.events = queue.Queue()
        self.results = {}          # request id -> (kind, error type header, body bytes)
        self.init_errors = []      # (error type header, body bytes)
        self.connections = set()   # client (host, port) of every request
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle(self):
                # The lambda process is killed at the end of each test, maybe mid-exchange.
                try:
                    super().handle()
                except ConnectionError:
                    pass

            def answer(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                api.note(self.client_address)
                if self.path != RUNTIME + "/invocation/next":
                    return self.answer(404, b'{"errorType":"NotFound"}')
                while not api.stopping.is_set():
                    try:
                        request_id, event = api.events.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    deadline_ms = int((time.time() + WAIT_S) * 1000)
                    return self.answer(200, event, [
                        ("Lambda-Runtime-Aws-Request-Id", request_id),
                        ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                        ("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:compresstest"),
                        ("Lambda-Runtime-Trace-Id",
                         "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;"
                         "Sampled=1")])
                self.close_connection = True

            def do_POST(self):
                api.note(self.client_address)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                parts = self.path[len(RUNTIME) + 1:].split("/")
                if parts == ["init", "error"]:
                    api.record(lambda: api.init_errors.append((error_type, body)))
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in (
                        "response", "error"):
                    api.record(lambda: api.results.__setitem__(
                        parts[1], (parts[2], error_type, body)))
                else:
                    return self.answer(404, b'{"errorType":"NotFound"}')
                self.answer(202, b'{"status":"OK"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def note(self, client_address):
        with self.changed:
            self.connections.add(client_address)

    def record(self, change):
        with self.changed:
            change()
            self.changed.notify_all()

    def wait_for(self, predicate, timeout=WAIT_S):
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError(f"nothing recorded within {timeout} s")

    def invoke(self, event, timeout=WAIT_S):
        """Queues an event (a dict, or raw bytes) and returns (kind, error type, body bytes)."""
        request_id = str(uuid.uuid4())
        raw = event if isinstance(event, bytes) else json.dumps(event).encode()
        self.events.put((request_id, raw))
        self.wait_for(lambda: request_id in self.results, timeout)
        return self.results[request_id]

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(EXIT_WAIT_S)


class Lambda:
    """A compresstest lambda process pointed at a RuntimeAPI, its output in a temporary file."""

    def __init__(self, api_address, env=None):
        full_env = dict(os.environ)
        if api_address is not None:
            full_env["AWS_LAMBDA_RUNTIME_API"] = api_address
        else:
            full_env.pop("AWS_LAMBDA_RUNTIME_API", None)
        full_env.update(env or {})
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([BINARY, "lambda"], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait(self, timeout=EXIT_WAIT_S):
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(EXIT_WAIT_S)
        self.log.close()


class LambdaCase(unittest.TestCase):
    """Each test gets its own Runtime API stand-in and lambda process, killed at the end."""
    lambda_env = None

    def setUp(self):
        self.api = RuntimeAPI()
        self.addCleanup(self.api.stop)
        self.runtime = Lambda(self.api.address, self.lambda_env)
        self.addCleanup(self.runtime.kill)  # cleanups run last-in first-out: process first

    def respond(self, event):
        """Invokes and expects a response (not an error); returns the API Gateway response."""
        kind, error_type, body = self.api.invoke(event)
        self.assertEqual(kind, "response",
                         f"expected a response, got {kind} {error_type} {body!r}\n"
                         + self.runtime.output())
        return json.loads(body)

    @staticmethod
    def body_bytes(response):
        if response.get("isBase64Encoded"):
            return base64.b64decode(response["body"], validate=True)
        return response["body"].encode()


class RealShapesTest(LambdaCase):
    def test_real_fixture_events_get_a_response_not_an_error(self):
        for name in ("rest-v1-request.json", "http-v2-request.json"):
            with self.subTest(fixture=name):
                res = self.respond(fixture(name))
                # /hello/world and /my/path are not our routes: a JSON 404 with CORS.
                self.assertEqual(res["statusCode"], 404)
                self.assertIn("error", json.loads(res["body"]))
                self.assertEqual(res["headers"]["Access-Control-Allow-Origin"], "*")
                self.assertIs(res["isBase64Encoded"], False)

    def test_one_keep_alive_connection_serves_every_invocation(self):
        for _ in range(3):
            self.respond(http_v2_event("GET", "/healthz"))
        self.assertEqual(len(self.api.connections), 1, self.api.connections)


class MatchesSocketServerTest(LambdaCase):
    """The same requests through API Gateway events and through the socket server."""

    @classmethod
    def setUpClass(cls):
        # The socket server's defaults, timing floor included, so both faces give one document.
        cls.server = Server("--timing-floor-ms", "20")
        cls.workdir = tempfile.TemporaryDirectory()
        with open(text_file(os.path.join(cls.workdir.name, "input.txt"), 50_000), "rb") as f:
            cls.text = f.read()

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.server)
        cls.workdir.cleanup()

    def socket_report(self, body, query=""):
        path = os.path.join(self.workdir.name, "body")
        with open(path, "wb") as f:
            f.write(body)
        return curl("-X", "POST", "--data-binary", "@" + path, "-H",
                    f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
                    self.server.url + "/" + query)

    def test_base64_multipart_upload_gets_the_socket_servers_report(self):
        body = multipart_text(self.text)
        # The wire view names the Accept-Encoding it answered for: the parameter makes it the
        # same for every path, whatever headers the fixture events carry.
        status, headers, expected = self.socket_report(body, "?name=me&accept_encoding=br")
        self.assertEqual(status, 200)
        ct = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        for version, event in (
                ("1.0", rest_v1_event("POST", "/", ct, body,
                                      {"name": "me", "accept_encoding": "br"})),
                ("2.0", http_v2_event("POST", "/", ct, body, "name=me&accept_encoding=br"))):
            with self.subTest(payload=version):
                res = self.respond(event)
                self.assertEqual(res["statusCode"], 200)
                self.assertIs(res["isBase64Encoded"], False)
                self.assertEqual(res["headers"]["Content-Type"], headers["content-type"])
                self.assertEqual(res["headers"]["Access-Control-Allow-Origin"], "*")
                got = json.loads(res["body"])
                self.assertEqual(without_timing(got), without_timing(json.loads(expected)))
                self.assertEqual(got["original_size"], len(self.text))

    def test_tiny_comes_back_base64_and_inflates_to_the_socket_servers_page(self):
        status, headers, deflated = curl(self.server.url + "/tiny")
        self.assertEqual((status, headers["content-encoding"]), (200, "deflate"))
        page = zlib.decompress(deflated)
        for version, event in (("1.0", rest_v1_event("GET", "/tiny")),
                               ("2.0", http_v2_event("GET", "/tiny"))):
            with self.subTest(payload=version):
                res = self.respond(event)
                self.assertEqual(res["statusCode"], 200)
                self.assertIs(res["isBase64Encoded"], True)
                self.assertEqual(res["headers"]["Content-Encoding"], "deflate")
                self.assertNotIn("Content-Length", res["headers"])
                self.assertEqual(zlib.decompress(self.body_bytes(res)), page)

    def test_codecs_route_answers_the_same_json(self):
        status, _, expected = curl(self.server.url + "/api/codecs")
        res = self.respond(http_v2_event("GET", "/api/codecs"))
        self.assertEqual((res["statusCode"], json.loads(res["body"])),
                         (status, json.loads(expected)))


class ContentTypeTest(LambdaCase):
    """Every answer names its media type: API Gateway labels an answer without one
    application/json, and a browser then shows TinySite's page source instead of the page."""
    BROWSER = {"Accept": "text/html,*/*;q=0.8", "Accept-Encoding": "gzip, deflate, br"}

    def routes(self, make_event):
        """(name, event, status) for every route: the routes by name, the assets the page links
        to, each asset revalidated, a report, a preflight, a 404 and a 405."""
        page = self.respond(make_event("GET", "/", {"Accept-Encoding": "identity"}))
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', self.body_bytes(page).decode())
        self.assertTrue(assets, "the page links to no assets")
        browser = self.BROWSER
        routes = [("GET /", make_event("GET", "/", browser), 200),
                  ("HEAD /", make_event("HEAD", "/", browser), 200),
                  ("GET /tiny", make_event("GET", "/tiny", browser), 200),
                  ("HEAD /tiny", make_event("HEAD", "/tiny", browser), 200),
                  ("GET /api/codecs", make_event("GET", "/api/codecs", browser), 200),
                  ("GET /healthz", make_event("GET", "/healthz", browser), 200),
                  ("GET /metrics", make_event("GET", "/metrics", browser), 200)]
        for path in assets:
            etag = self.respond(make_event("GET", path))["headers"]["ETag"]
            routes += [(f"GET {path}", make_event("GET", path, browser), 200),
                       (f"GET {path} revalidated",
                        make_event("GET", path, {**browser, "If-None-Match": etag}), 304)]
        form = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        return routes + [
            ("POST /compress",
             make_event("POST", "/compress", form, multipart_text(b"tiny " * 200)), 200),
            ("OPTIONS /compress", make_event("OPTIONS", "/compress", {
                "Origin": "https://example.com", "Access-Control-Request-Method": "POST"}), 204),
            ("GET /no-such-route", make_event("GET", "/no-such-route", browser), 404),
            ("DELETE /healthz", make_event("DELETE", "/healthz", browser), 405)]

    def test_every_route_answers_with_a_content_type_in_both_payload_versions(self):
        for version, make_event in (("1.0", rest_v1_event), ("2.0", http_v2_event)):
            for name, event, status in self.routes(make_event):
                with self.subTest(payload=version, route=name):
                    res = self.respond(event)
                    self.assertEqual(res["statusCode"], status)
                    headers = {k.lower(): v for k, v in res["headers"].items()}
                    self.assertTrue(headers.get("content-type"), res["headers"])

    def test_tiny_is_an_html_page_still_deflated(self):
        for version, make_event in (("1.0", rest_v1_event), ("2.0", http_v2_event)):
            for method in ("GET", "HEAD"):
                with self.subTest(payload=version, method=method):
                    res = self.respond(make_event(method, "/tiny", self.BROWSER))
                    self.assertEqual(res["headers"]["Content-Encoding"], "deflate")
                    self.assertEqual(res["headers"].get("Content-Type"), "text/html; charset=utf-8")


class BodyLimitTest(LambdaCase):
    """A body over the configured limit, and an event over Lambda's, get the server's 413."""
    limits = {"COMPRESSTEST_MAX_INPUT_BYTES": "1000", "COMPRESSTEST_MAX_BODY_BYTES": "2000"}
    lambda_env = limits

    @classmethod
    def setUpClass(cls):
        cls.server = Server(env=cls.limits)

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.server)

    def test_body_over_the_configured_limit_gets_the_servers_413_json(self):
        body = multipart_text(b"x" * 5000)
        with tempfile.NamedTemporaryFile() as f:
            f.write(body)
            f.flush()
            status, _, expected = curl(
                "-X", "POST", "--data-binary", "@" + f.name, "-H",
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}", self.server.url + "/")
        self.assertEqual(status, 413)
        ct = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        for version, event in (("1.0", rest_v1_event("POST", "/", ct, body)),
                               ("2.0", http_v2_event("POST", "/", ct, body))):
            with self.subTest(payload=version):
                res = self.respond(event)
                self.assertEqual(res["statusCode"], 413)
                self.assertEqual(json.loads(res["body"]), json.loads(expected))
                self.assertEqual(res["headers"]["Access-Control-Allow-Origin"], "*")

    def test_event_over_the_lambda_payload_limit_gets_413(self):
        event = http_v2_event("POST", "/", {"Content-Type": "application/octet-stream"})
        event["body"] = "a" * (LAMBDA_PAYLOAD_NBYTES + 1)
        res = self.respond(event)
        self.assertEqual(res["statusCode"], 413)
        self.assertIn("error", json.loads(res["body"]))
        # The runtime dropped the unread event with its connection and carries on.
        self.assertEqual(self.respond(http_v2_event("GET", "/healthz"))["statusCode"], 200)


class InvalidEventTest(LambdaCase):
    def test_malformed_events_go_to_the_error_endpoint_and_the_loop_continues(self):
        for raw in (b"this is not json", b'{"hello": "world"}', b"[1, 2, 3]",
                    json.dumps({"version": "2.0", "rawPath": "/", "body": "!!",
                                "isBase64Encoded": True,
                                "requestContext": {"http": {"method": "POST"}}}).encode()):
            with self.subTest(event=raw[:40]):
                kind, error_type, body = self.api.invoke(raw)
                self.assertEqual((kind, error_type), ("error", "Runtime.InvalidEvent"))
                doc = json.loads(body)
                self.assertEqual(doc["errorType"], "Runtime.InvalidEvent")
                self.assertEqual(doc["stackTrace"], [])
                self.assertTrue(doc["errorMessage"])
        kind, _, body = self.api.invoke({"version": "2.0", "rawPath": "/healthz",
                                         "requestContext": {"http": {"method": "GET"}}})
        self.assertEqual((kind, json.loads(json.loads(body)["body"])),
                         ("response", {"status": "ok"}))


class StartupFailureTest(unittest.TestCase):
    def test_invalid_config_goes_to_init_error_and_exits_nonzero(self):
        api = RuntimeAPI()
        self.addCleanup(api.stop)
        runtime = Lambda(api.address, {"COMPRESSTEST_MAX_INPUT_BYTES": "abc"})
        self.addCleanup(runtime.kill)
        api.wait_for(lambda: api.init_errors, EXIT_WAIT_S)
        error_type, body = api.init_errors[0]
        doc = json.loads(body)
        self.assertEqual(error_type, "Runtime.InvalidConfig")
        self.assertEqual(doc["errorType"], error_type)
        self.assertIn("max-input-bytes", doc["errorMessage"])
        self.assertEqual(doc["stackTrace"], [])
        self.assertNotEqual(runtime.wait(), 0)
        self.assertEqual(api.results, {})

    def test_missing_runtime_api_is_reported_on_stderr_and_exits_nonzero(self):
        runtime = Lambda(None)
        self.addCleanup(runtime.kill)
        self.assertNotEqual(runtime.wait(), 0)
        self.assertIn("AWS_LAMBDA_RUNTIME_API", runtime.output())


if __name__ == "__main__":
    unittest.main()
