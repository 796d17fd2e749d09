"""A rolling restart behind a real balancer loses nothing: HAProxy (Debian's) in front of three
instances, active /healthz checks every 200 ms, no request ever retried (as an AWS load balancer
does not), constant /tiny and report load; each instance in turn is sent SIGTERM, exits 0 and
is started again on its port. Every request must get its 200."""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BINARY, QUICK_TIMINGS, wait_for

INSTANCES = 3
CHECK_INTERVAL_MS = 200
CLIENTS_PER_ROUTE = 2
READY_TIMEOUT_S = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz_status(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", "/healthz")
        status = c.getresponse().status
        c.close()
        return status
    except OSError:
        return None


class Instance:
    """One compresstest serve on a fixed port, as an EB host runs it behind its balancer."""

    def __init__(self, port):
        self.port = port
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", f"127.0.0.1:{self.port}", "--access-log", "off",
             "--trust-forwarded-for", "on", *QUICK_TIMINGS],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: healthz_status(self.port) == 200, READY_TIMEOUT_S,
                   f"instance on {self.port} to answer /healthz")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


HAPROXY_CONFIG = """
global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 0
    option forwardfor
frontend site
    bind 127.0.0.1:{port}
    default_backend instances
backend instances
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter {inter}ms fall 2 rise 2
{servers}
"""


class RollingRestart(unittest.TestCase):
    def setUp(self):
        self.haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.assertTrue(os.path.exists(self.haproxy), "haproxy is not installed")
        self.instances = [Instance(free_port()) for _ in range(INSTANCES)]
        self.port = free_port()
        self.dir = tempfile.mkdtemp()
        config = os.path.join(self.dir, "haproxy.cfg")
        with open(config, "w") as f:
            f.write(HAPROXY_CONFIG.format(
                port=self.port, inter=CHECK_INTERVAL_MS,
                servers="\n".join(f"    server s{i} 127.0.0.1:{inst.port} check"
                                  for i, inst in enumerate(self.instances))))
        self.balancer = subprocess.Popen([self.haproxy, "-db", "-f", config],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: healthz_status(self.port) == 200, READY_TIMEOUT_S,
                   "haproxy to answer")

    def tearDown(self):
        self.balancer.terminate()
        self.balancer.wait(10)
        for inst in self.instances:
            if inst.proc.poll() is None:
                inst.proc.kill()
                inst.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, method, target, body, headers, counts, failures, stop):
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request(method, target, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                counts[target] = counts.get(target, 0) + 1
                if r.status != 200:
                    failures.append((target, r.status))
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as ex:
                failures.append((target, repr(ex)))
                conn = None

    def test_rolling_restart_under_load_fails_no_request(self):
        failures, stop = [], threading.Event()
        text = b"the quick brown fox jumps over the lazy dog\n" * 200
        routes = [("GET", "/tiny", None, {}),
                  ("POST", "/compress?codecs=gzip:6,zstd:3", text,
                   {"Content-Type": "application/octet-stream"})]
        # One counts dict per thread (no shared mutation), summed at the end.
        plan = [route for route in routes for _ in range(CLIENTS_PER_ROUTE)]
        per_thread = [{} for _ in plan]
        threads = [threading.Thread(target=self.client, args=(*route, per_thread[i], failures, stop))
                   for i, route in enumerate(plan)]
        for t in threads:
            t.start()
        try:
            time.sleep(1)
            for inst in self.instances:
                t0 = time.monotonic()
                self.assertEqual(inst.stop(), 0, f"instance on {inst.port} exit code")
                stopped_s = time.monotonic() - t0
                inst.start()
                # Back in the pool once HAProxy's checks have seen it rise.
                time.sleep((CHECK_INTERVAL_MS / 1000) * 4)
                print(f"instance {inst.port}: stopped in {stopped_s:.2f} s, restarted",
                      flush=True)
            time.sleep(1)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        total = {}
        for c in per_thread:
            for k, v in c.items():
                total[k] = total.get(k, 0) + v
        print(f"requests: {total}, failed: {len(failures)}", flush=True)
        self.assertGreater(sum(total.values()), 100)
        self.assertEqual(failures, [], f"{len(failures)} of {sum(total.values())} failed")


if __name__ == "__main__":
    unittest.main()
