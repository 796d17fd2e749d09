"""Integration-test harness: runs the real compresstest binary on loopback and talks to it."""
import os
import re
import socket
import subprocess
import threading
import time
import unittest

BINARY = os.environ.get("COMPRESSTEST_BINARY", "build/release/compresstest")
DATA_DIR = os.environ.get(
    "COMPRESSTEST_TEST_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data"))


# These tests exercise HTTP, admission and the process's life, not measurement: their servers
# repeat each report timing to 1 ms of CPU instead of the default 20, so that a report of many
# entries stays quick under a sanitizer on a busy machine. A test about timings passes its own
# --timing-floor-ms.
QUICK_TIMINGS = ("--timing-floor-ms", "1")


class Server:
    """A compresstest serve process on 127.0.0.1 and a free port, with its stdout captured."""

    def __init__(self, *args, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        if "--timing-floor-ms" not in args:
            args = (*QUICK_TIMINGS, *args)
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env, text=True)
        self.lines = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(10):
            self.proc.kill()
            raise RuntimeError("server did not start: " + "".join(self.lines))
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self._ready.set()

    def output(self):
        return "".join(self.lines)

    def stop(self, sig=15, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self._reader.join(5)
        return code

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.settimeout(timeout)
        return s


def curl(*args, timeout=60):
    """Runs curl; returns (status, headers dict with lower-case names, body bytes)."""
    out = subprocess.run(
        ["curl", "-s", "-S", "-D", "-", "-o", "-", "--max-time", str(timeout), *args],
        capture_output=True, timeout=timeout + 5)
    if out.returncode != 0:
        raise RuntimeError(f"curl {args} failed: {out.stderr.decode()}")
    raw = out.stdout
    # Skip interim 100 Continue blocks.
    while raw.startswith(b"HTTP/1.1 100"):
        raw = raw.split(b"\r\n\r\n", 1)[1]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def read_response(sock, head_only=False):
    """Reads one HTTP/1.1 response with Content-Length from a raw socket: (head, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before headers: %r" % buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    length = 0 if head_only or not m else int(m.group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        rest += chunk
    return head + b"\r\n\r\n", rest[:length], rest[length:]


REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEXT_SOURCES = (".cpp", ".hpp", ".py", ".md", ".js", ".css", ".html", ".c", ".go", ".lua")


def _shifted(data, k):
    """data with every ASCII letter rotated k places: text of the same shape that does not
    repeat the first pass byte for byte (a compressor with a long window would find that)."""
    if k == 0:
        return data
    table = bytearray(range(256))
    for first in (ord("a"), ord("A")):
        for i in range(26):
            table[first + i] = first + (i + k) % 26
    return data.translate(bytes(table))


def text_file(path, nbytes):
    """Writes nbytes of real text to path: this repository's own sources and prose, in a fixed
    order, then again with letters rotated for as long as more is needed."""
    sources = []
    for dirpath, dirs, files in os.walk(REPO):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("build", "node_modules"))
        sources += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith(TEXT_SOURCES)]
    text = bytearray()
    for f in sources:
        with open(f, "rb") as fh:
            text += fh.read()
    if not text:
        raise RuntimeError("no text under " + REPO)
    out = bytearray()
    k = 0
    while len(out) < nbytes:
        out += _shifted(bytes(text), k)
        k += 1
    with open(path, "wb") as fh:
        fh.write(out[:nbytes])
    return path


class ServerTest(unittest.TestCase):
    """Starts one server per test class; subclasses set server_args."""
    server_args = ()
    server_env = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(*cls.server_args, env=cls.server_env)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assertHealthy(self):
        status, _, body = curl(self.server.url + "/healthz", timeout=5)
        self.assertEqual(status, 200)
        self.assertEqual(body, b'{"status":"ok"}\n')


def wait_for_admitted(test, server, n, timeout_s=30):
    """Polls /metrics until n reports are admitted (running or queued); fails the test if not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _, _, m = curl(server.url + "/metrics")
        if re.search(rb"compresstest_reports_admitted %d\b" % n, m):
            return
        time.sleep(0.02)
    test.fail(f"{n} reports were not admitted within {timeout_s} s")


def wait_for(predicate, timeout_s, what):
    """Polls predicate until it is true; fails naming what was awaited after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
