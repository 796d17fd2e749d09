"""compresstest probe, the image's health check: 0 only on /healthz's 200 from the server the same
configuration starts, 1 otherwise and never a hang; the real binary and real sockets on loopback."""
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import BINARY, Server, wait_for

TIMEOUT_S = 30


def clean_env(**extra):
    """The test's environment without the variables the probe reads, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if k != "PORT" and not k.startswith("COMPRESSTEST_")}
    env.update(extra)
    return env


def probe(*args, env=None):
    """Runs compresstest probe: (exit code, stdout, stderr, seconds taken)."""
    t0 = time.monotonic()
    out = subprocess.run([BINARY, "probe", *args], capture_output=True, text=True,
                         env=env if env is not None else clean_env(), timeout=TIMEOUT_S)
    return out.returncode, out.stdout, out.stderr, time.monotonic() - t0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class silent_listener:
    """A loopback listener that accepts connections and then does what on_accept says with each
    (by default: reads and never answers), until closed."""

    def __init__(self, on_accept=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.on_accept = on_accept or (lambda conn: conn.recv(65536))
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            self.on_accept(conn)

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        self.sock.close()
        for conn in self.accepted:
            conn.close()


class AgainstTheServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--lame-duck-ms", "0")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_a_serving_server_found_through_listen_exits_0(self):
        code, out, err, _ = probe("--listen", f"127.0.0.1:{self.server.port}")
        self.assertEqual(code, 0, err)
        self.assertIn("200", out)
        self.assertEqual(err, "")

    def test_port_alone_reaches_the_wildcard_listener_on_loopback(self):
        # PORT is what a platform sets; the default host 0.0.0.0 is reached at 127.0.0.1.
        code, out, err, _ = probe(env=clean_env(PORT=str(self.server.port)))
        self.assertEqual(code, 0, err)
        self.assertIn(f"127.0.0.1:{self.server.port}", out)

    def test_compresstest_listen_in_the_environment_is_read_as_the_server_reads_it(self):
        code, _, err, _ = probe(env=clean_env(COMPRESSTEST_LISTEN=f"127.0.0.1:{self.server.port}"))
        self.assertEqual(code, 0, err)

    def test_the_probe_sends_one_healthz_request(self):
        server = Server("--lame-duck-ms", "0")  # its own access log, read from the start
        try:
            self.assertEqual(probe("--listen", f"127.0.0.1:{server.port}")[0], 0)
            wait_for(lambda: " GET /healthz 200 " in server.output(), 5, "the access-log line")
            time.sleep(0.3)  # room for a second request to show up, were there one
            self.assertEqual(server.output().count(" GET "), 1, server.output())
        finally:
            server.stop()


class Unhealthy(unittest.TestCase):
    def test_the_lame_duck_exits_1_naming_the_503(self):
        server = Server("--lame-duck-ms", "3000")
        listen = f"127.0.0.1:{server.port}"
        self.assertEqual(probe("--listen", listen)[0], 0)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        code, out, err, _ = probe("--listen", listen)
        self.assertEqual(code, 1, out)
        self.assertIn("503", err)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertEqual(server.proc.wait(TIMEOUT_S), 0, server.output())

    def test_nothing_listening_exits_1_at_once(self):
        code, _, err, took = probe("--listen", f"127.0.0.1:{free_port()}")
        self.assertEqual(code, 1)
        self.assertIn("cannot connect", err)
        self.assertLess(took, 1.0)

    def test_a_server_that_never_answers_is_given_up_on_at_the_timeout(self):
        listener = silent_listener()
        try:
            code, _, err, took = probe("--listen", f"127.0.0.1:{listener.port}",
                                       "--probe-timeout-ms", "500")
        finally:
            listener.close()
        self.assertEqual(code, 1)
        self.assertIn("no answer within 500 ms", err)
        self.assertGreaterEqual(took, 0.5)
        self.assertLess(took, 1.5)

    def test_the_default_timeout_is_bounded_too(self):
        listener = silent_listener()
        try:
            code, _, err, took = probe("--listen", f"127.0.0.1:{listener.port}")
        finally:
            listener.close()
        self.assertEqual(code, 1)
        self.assertIn("no answer within 2000 ms", err)
        self.assertLess(took, 3.0)

    def test_a_connection_closed_without_an_answer_exits_1(self):
        # The request read first, so that the close is a FIN, not a reset.
        listener = silent_listener(on_accept=lambda conn: (conn.recv(65536), conn.close()))
        try:
            code, _, err, took = probe("--listen", f"127.0.0.1:{listener.port}")
        finally:
            listener.close()
        self.assertEqual(code, 1)
        self.assertIn("closed before a status line", err)
        self.assertLess(took, 1.0)

    def test_a_200_from_an_http_1_0_peer_counts_and_a_2000_does_not(self):
        for status_line, want in ((b"HTTP/1.0 200 OK", 0), (b"HTTP/1.1 2000 OK", 1),
                                  (b"HTTP/1.1 204 No Content", 1)):
            def answer(conn, line=status_line):
                conn.recv(65536)
                conn.sendall(line + b"\r\nContent-Length: 0\r\n\r\n")
            listener = silent_listener(on_accept=answer)
            try:
                code, _, err, _ = probe("--listen", f"127.0.0.1:{listener.port}")
            finally:
                listener.close()
            self.assertEqual(code, want, (status_line, err))

    def test_an_invalid_option_exits_1_not_docker_s_reserved_2(self):
        code, _, err, _ = probe("--probe-timeout-ms", "0")
        self.assertEqual(code, 1)
        self.assertIn("--probe-timeout-ms", err)


if __name__ == "__main__":
    unittest.main()
