"""Overload and shutdown against the real binary: 64 concurrent 3 MB uploads, drain, forced exit,
bodies built against the multipart delimiter search.

Every upload must get a correct 200 or a 503 with Retry-After, within a bounded wait, and the
server's peak RSS (VmHWM) must stay under a bound derived from its configuration (see
rss_bound_nbytes). On SIGTERM in-flight uploads are answered and the process exits 0 before the
drain deadline; a second signal exits non-zero at once. Three clients sending the multipart
worst case keep /healthz answering within 5 ms at the 99th percentile.
"""
import itertools
import json
import math
import mmap
import multiprocessing
import os
import re
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import Server, curl, read_response, text_file, wait_for

MIB = 1024 * 1024
UPLOAD_NBYTES = 3 * MIB
CONCURRENT_UPLOADS = 64
# Every wait is bounded; generous because ASan builds on a busy machine are slow.
ANSWER_DEADLINE_S = float(os.environ.get("COMPRESSTEST_OVERLOAD_DEADLINE_S", "600"))

# Defaults the server runs with (config/config.hpp); the test starts it unconfigured.
DEFAULT_QUEUE_LENGTH = 16
DEFAULT_MAX_BODY_NBYTES = 3 * MIB + 64 * 1024
DEFAULT_RETRY_AFTER_S = "1"
# Working memory of one codec task on 3 MB, default panel (measured with `compresstest report`:
# bzip2 -9 ≈ 7.6 MB of state + its block's output, brotli 5 a 4 MB window and hashes, zstd 3 a
# few MB, deflate 256 KB). Heavier panels need more: xz 9 ≈ 90 MB, zstd 19 ≈ 65 MB, brotli 11
# ≈ 55 MB per task.
CODEC_WORKING_NBYTES = 16 * MIB
# Per connection besides its body: Beast's flat_buffer read buffer, parser, socket buffers.
PER_CONNECTION_NBYTES = 256 * 1024
# glibc arenas and fragmentation: freed bodies are not all returned at once.
ALLOCATOR_SLACK_FRACTION = 0.25
ALLOCATOR_SLACK_NBYTES = 32 * MIB
# AddressSanitizer keeps freed memory in quarantine (256 MiB unless ASAN_OPTIONS says) and adds
# 1/8 shadow plus redzones.
ASAN_QUARANTINE_NBYTES = 256 * MIB
ASAN_FACTOR = 1.25


def rss_bound_nbytes(baseline_nbytes, uploads, compute_threads, asan):
    """The peak-RSS bound for `uploads` concurrent uploads:

        bound = baseline
              + uploads × max_body_bytes          every connection reading a body holds up to
                                                  max_body_bytes (Beast's string_body reserves
                                                  Content-Length); the body stays with its
                                                  connection until answered, and an admitted
                                                  report only views it (no copy), so admitted
                                                  reports add nothing here
              + compute_threads × codec_working   one codec task runs per compute thread
              + uploads × per_connection
              + slack (25 % of the above + 32 MiB for allocator arenas and fragmentation)

    Note uploads is capped only by --max-connections (10000 by default): the server has no
    global cap on memory held by bodies being read. Under ASan: × 1.25 + the quarantine.
    """
    dynamic = (uploads * DEFAULT_MAX_BODY_NBYTES + compute_threads * CODEC_WORKING_NBYTES +
               uploads * PER_CONNECTION_NBYTES)
    bound = baseline_nbytes + dynamic * (1 + ALLOCATOR_SLACK_FRACTION) + ALLOCATOR_SLACK_NBYTES
    if asan:
        m = re.search(r"quarantine_size_mb=(\d+)", os.environ.get("ASAN_OPTIONS", ""))
        quarantine = int(m.group(1)) * MIB if m else ASAN_QUARANTINE_NBYTES
        bound = bound * ASAN_FACTOR + quarantine
    return int(bound)


def proc_status_nbytes(pid, field):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024


def is_asan(pid):
    """AddressSanitizer is linked in: libasan (GCC) or the static runtime (clang)."""
    with open(f"/proc/{pid}/maps") as f:
        if "libasan" in f.read():
            return True
    with open(f"/proc/{pid}/exe", "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return m.find(b"AddressSanitizer") != -1


def multipart_upload(data, boundary=b"------------------------overloadtest"):
    """The original client's request: multipart/form-data with fileUpload."""
    body = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"fileUpload\"; "
            b"filename=\"big.txt\"\r\nContent-Type: text/plain\r\n\r\n" + data + b"\r\n--" +
            boundary + b"--\r\n")
    head = (b"POST /compress HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: overload-test\r\n"
            b"Content-Type: multipart/form-data; boundary=" + boundary +
            b"\r\nContent-Length: %d\r\n\r\n" % len(body))
    return head, body


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return status, headers


class Upload(threading.Thread):
    """One raw-socket upload: headers, body in two halves (gate between them), answer."""

    def __init__(self, port, head, body, gate=None):
        super().__init__(daemon=True)
        self.port, self.head, self.body, self.gate = port, head, body, gate
        self.sent_first_half = threading.Event()
        self.result = None  # (status, headers, body bytes) or the exception

    def run(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=ANSWER_DEADLINE_S) as s:
                s.settimeout(ANSWER_DEADLINE_S)
                half = len(self.body) // 2
                s.sendall(self.head + self.body[:half])
                self.sent_first_half.set()
                if self.gate:
                    self.gate.wait(ANSWER_DEADLINE_S)
                s.sendall(self.body[half:])
                head, rbody, _ = read_response(s)
                status, headers = parse_head(head)
                self.result = (status, headers, rbody)
        except Exception as ex:  # asserted by the test
            self.result = ex
        finally:
            self.sent_first_half.set()


def metric(server, name):
    _, _, m = curl(server.url + "/metrics", timeout=10)
    found = re.search(rb"^" + re.escape(name.encode()) + rb" (\d+)", m, re.M)
    return int(found.group(1)) if found else None


def assert_no_sanitizer_reports(test, server):
    out = server.output()
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        test.assertNotIn(marker, out, out[-4000:])


def compute_threads_of(server):
    m = re.search(r"compute_threads=(\d+)", server.lines[0])
    return int(m.group(1))


# The body that made the delimiter search quadratic: a 70-character boundary of one repeated
# character (RFC 2046's longest) and 3 MB of that character as the file.
WORST_CASE_BOUNDARY = b"a" * 70
WORST_CASE_DATA_NBYTES = 3_000_000
WORST_CASE_SENDERS = 3
WORST_CASE_PANEL = "lz4:1"  # cheap, so the parse and not compression is what the load is made of
# Each sender starts an upload every SENDER_INTERVAL_S (or at once when behind): 30 a second in
# all, which the quadratic search (100-170 ms each) could not parse in 3 s of I/O-thread time,
# while unpaced senders on loopback would measure the kernel's dropped and retransmitted segments
# rather than the server.
SENDER_INTERVAL_S = 0.1
SENDER_NICENESS = 10
# Sampling of GET /healthz while the senders run, bounded in count and in time: rounds of up to
# HEALTHZ_ROUND_SAMPLES probes, one every HEALTHZ_INTERVAL_S, each on a fresh keep-alive
# connection. Other load on the machine only ever adds latency, so the best round is the
# server's own figure; the test stops at the first round within the bound.
HEALTHZ_ROUNDS = 5
HEALTHZ_ROUND_SAMPLES = 1000
HEALTHZ_INTERVAL_S = 0.002
HEALTHZ_ROUND_MAX_S = 10.0  # 2 s of probes, and room for answers that come late
HEALTHZ_P99_BOUND_MS = 5.0  # the target, for the release build CI tests first
# AddressSanitizer and UBSan instrument every copy of a body the I/O thread makes, several times
# slower: the sanitizer build is held to a looser bound (it checks the same path for memory
# errors; the latency target is the release build's).
SANITIZER_SLOWDOWN = 4


def send_worst_case_until(port, request, stop, answered, out):
    """A sender process: the worst-case upload every SENDER_INTERVAL_S until stop; counts answers
    in answered and reports them on out.

    A process rather than a thread, so the senders never hold the GIL the sampler needs; niced,
    so that on a machine with few cores they do not take the CPU from the sampler or the server.
    """
    os.nice(SENDER_NICENESS)
    statuses, wrong = {}, []
    try:
        start = time.monotonic()
        for sent in itertools.count():
            if stop.wait(max(0.0, start + sent * SENDER_INTERVAL_S - time.monotonic())):
                break
            with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_DEADLINE_S) as s:
                s.settimeout(ANSWER_DEADLINE_S)
                s.sendall(request)
                head, rbody, _ = read_response(s)
            status, _ = parse_head(head)
            statuses[status] = statuses.get(status, 0) + 1
            with answered.get_lock():
                answered.value += 1
            if status == 200 and json.loads(rbody)["original_size"] != WORST_CASE_DATA_NBYTES:
                wrong.append(rbody[:300])
        out.put((statuses, wrong, None))
    except Exception as ex:  # asserted by the test
        out.put((statuses, wrong, repr(ex)))


def nearest_rank(sorted_values, fraction):
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def healthz_latencies_ms(server):
    """One round of /healthz probes, sorted. Open loop, as wrk2 measures: each probe is due at a
    fixed time and its latency counts from then, so a stall delays every probe due during it, as
    it would every client, instead of counting once."""
    latencies_ms = []
    with server.connect() as s:
        start = time.perf_counter()
        while (len(latencies_ms) < HEALTHZ_ROUND_SAMPLES and
               time.perf_counter() - start < HEALTHZ_ROUND_MAX_S):
            due = start + len(latencies_ms) * HEALTHZ_INTERVAL_S
            time.sleep(max(0.0, due - time.perf_counter()))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head, body, _ = read_response(s)
            latencies_ms.append((time.perf_counter() - due) * 1000)
            if parse_head(head)[0] != 200:
                raise AssertionError(f"/healthz answered {head!r} {body!r}")
    return sorted(latencies_ms)


def setUpModule():
    global TMP, TEXT_3MB
    TMP = tempfile.mkdtemp(prefix="compresstest-overload-")
    TEXT_3MB = text_file(os.path.join(TMP, "3mb.txt"), UPLOAD_NBYTES)


class Overload(unittest.TestCase):
    def test_64_concurrent_3mb_uploads_get_200_or_503_and_memory_stays_bounded(self):
        # Production's config but for the per-client cap: one client stands in for 64 here
        # (lifecycle_test covers the cap's 429).
        server = Server("--max-reports-per-client", "0")
        try:
            pid = server.proc.pid
            compute_threads = compute_threads_of(server)
            # Warm up: the first report starts the compute threads' allocator arenas.
            status, _, _ = curl("-F", "textEntry=warm up warm up", server.url + "/compress")
            self.assertEqual(status, 200)
            baseline = proc_status_nbytes(pid, "VmRSS")
            with open(TEXT_3MB, "rb") as f:
                data = f.read()
            head, body = multipart_upload(data)
            uploads = [Upload(server.port, head, body) for _ in range(CONCURRENT_UPLOADS)]
            t0 = time.monotonic()
            for u in uploads:
                u.start()
            # Quick routes keep answering while the compute pool is saturated.
            wait_for(lambda: (metric(server, "compresstest_reports_admitted") or 0) > 0, 60,
                     "a report to be admitted")
            status, _, _ = curl(server.url + "/healthz", timeout=5)
            self.assertEqual(status, 200)
            for u in uploads:
                u.join(max(1, ANSWER_DEADLINE_S - (time.monotonic() - t0)))
            elapsed = time.monotonic() - t0
            hung = [i for i, u in enumerate(uploads) if u.is_alive()]
            self.assertEqual(hung, [], f"uploads without an answer after {elapsed:.0f} s")

            by_status = {}
            for i, u in enumerate(uploads):
                self.assertNotIsInstance(u.result, Exception, f"upload {i} lost: {u.result!r}")
                status, headers, rbody = u.result
                by_status[status] = by_status.get(status, 0) + 1
                self.assertEqual(headers.get("access-control-allow-origin"), "*")
                if status == 200:
                    r = json.loads(rbody)
                    self.assertEqual(r["original_size"], UPLOAD_NBYTES)
                    for k in ("gzip_size", "bzip_size", "deflate_size"):
                        self.assertGreater(r[k], 0)
                        self.assertLess(r[k], UPLOAD_NBYTES)
                    self.assertEqual(r["gzip_size"], r["deflate_size"] + 18)
                elif status == 503:
                    self.assertEqual(headers.get("retry-after"), DEFAULT_RETRY_AFTER_S)
                    self.assertIn("busy", json.loads(rbody)["error"])
                else:
                    self.fail(f"upload {i}: unexpected {status}: {rbody[:300]!r}")
            # The first compute_threads + queue_length complete bodies always find room.
            self.assertGreaterEqual(by_status.get(200, 0), compute_threads + DEFAULT_QUEUE_LENGTH)
            self.assertEqual(metric(server, "compresstest_rejected_total"), by_status.get(503, 0))
            self.assertEqual(metric(server, "compresstest_reports_admitted"), 0)
            self.assertEqual(metric(server, "compresstest_in_flight_requests"), 1)  # this scrape

            peak = proc_status_nbytes(pid, "VmHWM")
            asan = is_asan(pid)
            bound = rss_bound_nbytes(baseline, CONCURRENT_UPLOADS, compute_threads, asan)
            print(f"\noverload: {CONCURRENT_UPLOADS} uploads of {UPLOAD_NBYTES} bytes in "
                  f"{elapsed:.1f} s: {dict(sorted(by_status.items()))}; compute_threads="
                  f"{compute_threads}; ASan {asan}; baseline RSS {baseline / MIB:.0f} MiB, peak RSS "
                  f"{peak / MIB:.0f} MiB, bound {bound / MIB:.0f} MiB")
            self.assertLess(peak, bound, "peak RSS over the configured bound")
        finally:
            self.assertEqual(server.stop(), 0)
            assert_no_sanitizer_reports(self, server)


class Drain(unittest.TestCase):
    DRAIN_TIMEOUT_MS = 20000  # stated, so the assertion below reads plainly

    def test_sigterm_with_8_uploads_in_flight_answers_all_refuses_new_and_exits_0(self):
        # One client stands in for 8: the per-client cap is off (lifecycle_test covers it).
        server = Server("--drain-timeout-ms", str(self.DRAIN_TIMEOUT_MS),
                        "--max-reports-per-client", "0")
        with open(TEXT_3MB, "rb") as f:
            data = f.read(1 * MIB)  # reports take well under the deadline, even under ASan
        head, body = multipart_upload(data)
        gate = threading.Event()
        uploads = [Upload(server.port, head, body, gate) for _ in range(8)]
        for u in uploads:
            u.start()
        for u in uploads:  # all 8 are mid-body when the signal arrives
            self.assertTrue(u.sent_first_half.wait(30))
        # 8 uploads + the scrape's own connection.
        wait_for(lambda: metric(server, "compresstest_open_connections") >= 9, 10,
                 "8 connections")
        t_signal = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        # New connections are refused once every worker has closed its acceptor.
        refused_at = None
        while time.monotonic() - t_signal < 5:
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            except (ConnectionRefusedError, ConnectionResetError):
                # Reset: this connect reached the backlog just as the acceptor closed, and the
                # kernel reset it with the rest of the backlog; refused, either way.
                refused_at = time.monotonic()
                break
            time.sleep(0.02)
        self.assertIsNotNone(refused_at, "still accepting 5 s after SIGTERM")
        for _ in range(20):
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        gate.set()  # the in-flight uploads send the rest of their bodies
        for u in uploads:
            u.join(self.DRAIN_TIMEOUT_MS / 1000 + 10)
        code = server.proc.wait(self.DRAIN_TIMEOUT_MS / 1000 + 10)
        exit_s = time.monotonic() - t_signal
        server.stop()
        for i, u in enumerate(uploads):
            self.assertNotIsInstance(u.result, Exception, f"upload {i}: {u.result!r}")
            status, headers, rbody = u.result
            self.assertEqual(status, 200, rbody[:300])
            self.assertEqual(json.loads(rbody)["original_size"], len(data))
            self.assertEqual(headers.get("connection"), "close")  # draining: no keep-alive
        self.assertEqual(code, 0, server.output()[-2000:])
        assert_no_sanitizer_reports(self, server)
        self.assertLess(exit_s, self.DRAIN_TIMEOUT_MS / 1000)
        print(f"\ndrain: 8 uploads answered 200, refused new connections after "
              f"{refused_at - t_signal:.2f} s, exit 0 after {exit_s:.1f} s")

    def test_second_signal_exits_non_zero_at_once_while_a_long_report_runs(self):
        server = Server("--compute-threads", "1", "--max-panel-cpu-ms", "1000000000")
        with open(TEXT_3MB, "rb") as f:
            data = f.read()
        head, body = multipart_upload(data)
        # A report of tens of seconds: brotli 11 and xz 9 on 3 MB.
        head = head.replace(b"POST /compress ", b"POST /compress?codecs=brotli:11,xz:9,zstd:19 ")
        upload = Upload(server.port, head, body)
        upload.start()
        wait_for(lambda: metric(server, "compresstest_reports_admitted") == 1, 60,
                 "the long report to be admitted")
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(server.proc.poll(), "the first signal must drain, not exit")
        t_second = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(10)
        exit_s = time.monotonic() - t_second
        server.stop()
        upload.join(10)
        self.assertNotEqual(code, 0)
        self.assertLess(exit_s, 2.0, "the second signal must exit at once")
        self.assertIn("second signal", server.output())
        # The unfinished report's client sees the connection close, not a made-up answer.
        self.assertIsInstance(upload.result, Exception, upload.result)
        print(f"\nsecond signal: exit {code} after {exit_s:.2f} s")


class MultipartWorstCase(unittest.TestCase):
    def test_three_senders_of_the_worst_case_body_keep_healthz_p99_within_5_ms(self):
        server = Server()  # default config: what production runs
        # The machine's own noise, measured the same way in the same run with no senders: the
        # bound is what the senders may add to it (a shared machine's stalls are not the server's).
        idle_p99_ms = min(nearest_rank(healthz_latencies_ms(server), 0.99) for _ in range(2))
        bound_ms = (HEALTHZ_P99_BOUND_MS * (SANITIZER_SLOWDOWN if is_asan(server.proc.pid) else 1)
                    + idle_p99_ms)
        ctx = multiprocessing.get_context("fork")
        stop = ctx.Event()
        answered = ctx.Value("i", 0)
        out = ctx.Queue()
        senders = []
        try:
            head, body = multipart_upload(b"a" * WORST_CASE_DATA_NBYTES, WORST_CASE_BOUNDARY)
            head = head.replace(b"POST /compress ",
                                b"POST /compress?codecs=" + WORST_CASE_PANEL.encode() + b" ")
            senders = [ctx.Process(target=send_worst_case_until,
                                   args=(server.port, head + body, stop, answered, out),
                                   daemon=True)
                       for _ in range(WORST_CASE_SENDERS)]
            for p in senders:
                p.start()
            # Sample once the senders are under way: one answer each, roughly.
            wait_for(lambda: answered.value >= WORST_CASE_SENDERS, ANSWER_DEADLINE_S,
                     "the first worst-case reports")
            rounds = []  # (p50, p99, max) in ms
            while len(rounds) < HEALTHZ_ROUNDS:
                latencies_ms = healthz_latencies_ms(server)
                rounds.append((nearest_rank(latencies_ms, 0.5), nearest_rank(latencies_ms, 0.99),
                               latencies_ms[-1]))
                if rounds[-1][1] <= bound_ms:
                    break
            stop.set()
            answers = [out.get(timeout=ANSWER_DEADLINE_S) for _ in senders]
        finally:
            stop.set()
            for p in senders:
                p.join(10)
                if p.is_alive():
                    p.kill()
            code = server.stop()
        self.assertEqual(code, 0)
        assert_no_sanitizer_reports(self, server)
        for i, (statuses, wrong, failure) in enumerate(answers):
            self.assertIsNone(failure, f"sender {i}")
            self.assertEqual(wrong, [], f"sender {i}: wrong original_size")
            # Every body was parsed and reported: nothing refused, nothing else.
            self.assertEqual(list(statuses), [200], f"sender {i}: {statuses}")
        reports = sum(statuses[200] for statuses, _, _ in answers)
        print(f"\nmultipart worst case: {WORST_CASE_SENDERS} senders, {reports} reports of "
              f"{WORST_CASE_DATA_NBYTES} bytes; /healthz idle p99 {idle_p99_ms:.2f} ms, bound "
              f"{bound_ms:.2f} ms; in rounds of {HEALTHZ_ROUND_SAMPLES}: " +
              "; ".join(f"median {p50:.2f} ms, p99 {p99:.2f} ms, max {top:.2f} ms"
                        for p50, p99, top in rounds))
        self.assertLessEqual(min(p99 for _, p99, _ in rounds), bound_ms)


if __name__ == "__main__":
    unittest.main()
