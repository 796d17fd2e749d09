#!/usr/bin/env python3
"""GETs PATH from URL COUNT times on one connection, one request at a time, pausing PAUSE_S
seconds after each answer, so that every request finds the server waiting for it: each takes the
same path through the server (bench/run counts its instructions). Fails on any other answer than
the first one's bytes."""
import re
import socket
import sys
import time
import urllib.parse


def read_answer(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if not m:
        raise SystemExit("an answer without Content-Length")
    length = int(m.group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection mid-body")
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def main(argv):
    url, count, pause_s = urllib.parse.urlsplit(argv[1]), int(argv[2]), float(argv[3])
    path = argv[4] if len(argv) > 4 else "/tiny"
    request = f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()
    first, buf = None, b""
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        for _ in range(count):
            sock.sendall(request)
            answer, buf = read_answer(sock, buf)
            if first is None:
                first = answer
            elif answer != first:
                raise SystemExit("an answer differs from the first")
            time.sleep(pause_s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
