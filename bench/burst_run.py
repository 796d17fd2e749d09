#!/usr/bin/env python3
"""bench/burst's measuring half: drives the real server and the real `compresstest lambda` on
127.0.0.1, then plays the profile through bench/burst_model.py and writes results.json, table.md,
minutes.csv and the plot. Run through bench/burst, which builds the binary first.

Usage: bench/burst_run.py --binary BIN [--profile FILE] [--scales 1,3,10] [--out DIR]
       bench/burst_run.py --from-results results.json [--out DIR]   (model only, no measuring)
"""
import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import burst_model  # noqa: E402
import burst_render  # noqa: E402

BOUNDARY = "----compresstest-burst-boundary"
# Open-loop load levels, as shares of the CPU-bound saturation rate of the report mix.
LOAD_LEVELS = (0.3, 0.6, 0.8, 0.95)


def say(msg):
    print(f"burst: {msg}", file=sys.stderr, flush=True)


def cpu_ms(pid):
    """CPU time process pid's threads have spent running, in ms (schedstat: nanoseconds, where
    /proc/PID/stat counts 10 ms ticks); the compresstest processes keep their threads for life."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # a thread that just ended
            pass
    return total / 1e6


def multipart(text):
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"textEntry\"\r\n\r\n".encode()
            + text + f"\r\n--{BOUNDARY}--\r\n".encode())


class Client:
    """One keep-alive connection to the server; post() returns (status, latency ms)."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                res = self.conn.getresponse()
                data = res.read()
                if res.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return res.status, data
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def post(self, body):
        t0 = time.monotonic()
        status, data = self.request("POST", "/compress", body,
                                    {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
        return status, (time.monotonic() - t0) * 1000, data


def longest_entry_ms(report):
    """CPU of a report's longest entry: its compression and decompression, every timed run."""
    return max(e["compress_ms"] * e["runs"] + (e.get("decompress_ms") or 0) * e.get("decompress_runs", 0)
               for e in report["results"])


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def measure_server(harness, bodies, profile, light_s, alone_s, level_s):
    """Per-kind server CPU and latency alone, /tiny with wrk, and the open-loop latency curve."""
    # The harness gives test servers a 1 ms timing floor; the burst measures the server as
    # deployed, so it passes the default floor its --help states.
    help_text = subprocess.run([harness.BINARY, "--help"], capture_output=True, text=True).stdout
    default_floor = re.search(r"--timing-floor-ms[^\[]*\[([0-9.]+)\]", help_text).group(1)
    server = harness.Server("--access-log", "off", "--max-reports-per-client", "0",
                            "--compute-priority", "normal", "--timing-floor-ms", default_floor)
    try:
        startup = server.output()
        compute = int(re.search(r"compute_threads=(\d+)", startup).group(1))
        queue = int(re.search(r"queue-length=(\d+)", startup).group(1))
        floor = float(re.search(r"timing-floor-ms=([0-9.]+)", startup).group(1))
        pid = server.proc.pid
        out = {"cores": os.cpu_count(), "queue_bound": compute + queue, "compute_threads": compute,
               "queue_length": queue, "timing_floor_ms": floor, "cpu_ms": {}, "alone_ms": {},
               "longest_task_ms": {}}

        # Light requests: wrk on /tiny (what Python could send would measure Python).
        client = Client(server.port)
        status, tiny = client.request("GET", "/tiny")
        assert status == 200, status
        out["light_response_nbytes"] = len(tiny) + 80  # status line and the three headers
        c0 = cpu_ms(pid)
        wrk = subprocess.run(["wrk", "-t1", "-c16", f"-d{light_s}s", f"{server.url}/tiny"],
                             capture_output=True, text=True, check=True).stdout
        requests = int(re.search(r"(\d+) requests in", wrk).group(1))
        out["cpu_ms"]["light"] = (cpu_ms(pid) - c0) / requests
        out["light_rps"] = float(re.search(r"Requests/sec:\s*([0-9.]+)", wrk).group(1))

        # Each report kind alone, one request at a time.
        for kind, body in bodies.items():
            lat, longest, n, c0, t_end = [], [], 0, cpu_ms(pid), time.monotonic() + alone_s
            while n < 3 or time.monotonic() < t_end:
                status, ms, data = client.post(body)
                assert status == 200, (kind, status)
                lat.append(ms)
                longest.append(longest_entry_ms(json.loads(data)))
                n += 1
            out["cpu_ms"][kind] = (cpu_ms(pid) - c0) / n
            out["alone_ms"][kind] = statistics.median(lat)
            out["longest_task_ms"][kind] = statistics.median(longest)
            say(f"{kind}: {out['cpu_ms'][kind]:.0f} ms CPU (longest entry {out['longest_task_ms'][kind]:.0f} ms), "
                f"{out['alone_ms'][kind]:.0f} ms wall alone ({n} reports)")

        # Open loop: Poisson arrivals of the profile's report mix at shares of the saturation rate.
        kinds = list(bodies)
        weights = [profile["requests_per_visitor"][k] for k in kinds]
        mix_cpu = sum(w * out["cpu_ms"][k] for w, k in zip(weights, kinds)) / sum(weights)
        saturation = out["cores"] * 1000 / mix_cpu
        out["report_saturation_rps"] = saturation
        rng = random.Random(16)
        curve, levels = [], []
        local = threading.local()
        for level in LOAD_LEVELS:
            rate = level * saturation
            results, t = [], 0.0
            schedule = []
            while t < level_s:
                t += rng.expovariate(rate)
                schedule.append((t, rng.choices(kinds, weights)[0]))
            start = time.monotonic()
            c0 = cpu_ms(pid)

            def send(at, kind):
                if not hasattr(local, "client"):
                    local.client = Client(server.port)
                status, _, _ = local.client.post(bodies[kind])
                results.append((status, (time.monotonic() - (start + at)) * 1000))

            with ThreadPoolExecutor(max_workers=48) as pool:
                for at, kind in schedule:
                    delay = start + at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    pool.submit(send, at, kind)
            wall_s = time.monotonic() - start
            ok = [ms for status, ms in results if status == 200]
            busy = (cpu_ms(pid) - c0) / (wall_s * 1000 * out["cores"])
            p50, p99 = percentile(ok, 0.5), percentile(ok, 0.99)
            curve.append([level, p50, p99])
            levels.append({"utilisation": level, "offered_rps": rate, "requests": len(results),
                           "non200": len(results) - len(ok), "p50_ms": p50, "p99_ms": p99,
                           "server_cpu_busy": busy})
            say(f"open loop at {level:.0%} ({rate:.1f} reports/s): p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
                f"{len(results) - len(ok)} not 200, server CPU {busy:.0%} of {out['cores']} cores")
        out["load_curve"] = curve
        out["load_levels"] = levels
        return out
    finally:
        server.stop()
        server.proc.stdout.close()


def measure_lambda(lt, bodies, spawns, invocations):
    """compresstest lambda on one core against the Runtime API stand-in of the integration tests:
    start-up (process start to its first /next) and per-invocation duration per kind."""
    cpu = sorted(os.sched_getaffinity(0))[-1]
    out = {"lambda_cpu_ms": {}, "lambda_wall_ms": {}, "lambda_init_ms_runs": []}

    def spawn(api):
        mine = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu})  # the child inherits it: one vCPU, as 1769 MB gets
        try:
            t0 = time.monotonic()
            runtime = lt.Lambda(api.address, {"COMPRESSTEST_ACCESS_LOG": "off"})
        finally:
            os.sched_setaffinity(0, mine)
        while not api.connections:
            if runtime.proc.poll() is not None:
                raise RuntimeError("compresstest lambda exited: " + runtime.output())
            time.sleep(0.0005)
        return runtime, (time.monotonic() - t0) * 1000

    # A stand-in per process: a killed process's pending /next must not take the next's events.
    for _ in range(spawns):
        api = lt.RuntimeAPI()
        try:
            runtime, init_ms = spawn(api)
            try:
                kind, _, _ = api.invoke(lt.http_v2_event("GET", "/healthz"))
                assert kind == "response", kind
            finally:
                runtime.kill()
        finally:
            api.stop()
        out["lambda_init_ms_runs"].append(init_ms)
    out["lambda_init_ms"] = statistics.median(out["lambda_init_ms_runs"])

    api = lt.RuntimeAPI()
    try:
        runtime, _ = spawn(api)
        try:
            events = {"light": lt.http_v2_event("GET", "/tiny", {"Accept-Encoding": "deflate"})}
            ct = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
            for k, body in bodies.items():
                events[k] = lt.http_v2_event("POST", "/compress", ct, body)
            for k, event in events.items():
                raw = json.dumps(event).encode()
                walls, cpus = [], []
                for _ in range(invocations if k != "light" else 4 * invocations):
                    t0, c0 = time.monotonic(), cpu_ms(runtime.proc.pid)
                    kind, _, result = api.invoke(raw)
                    walls.append((time.monotonic() - t0) * 1000)
                    cpus.append(cpu_ms(runtime.proc.pid) - c0)
                    assert kind == "response", (k, kind)
                    assert json.loads(result)["statusCode"] == 200, (k, result[:200])
                # CPU time is what one dedicated vCPU would take; the stand-in's wall time adds
                # this machine's other work and the stand-in's own (Python) overhead.
                out["lambda_cpu_ms"][k] = statistics.median(cpus)
                out["lambda_wall_ms"][k] = statistics.median(walls)
                say(f"lambda {k}: {out['lambda_cpu_ms'][k]:.1f} ms CPU, {out['lambda_wall_ms'][k]:.1f} ms "
                    "through the stand-in, per invocation")
        finally:
            runtime.kill()
    finally:
        api.stop()
    return out


def measure(binary, profile, args):
    os.environ["COMPRESSTEST_BINARY"] = binary
    sys.path.insert(0, os.path.join(ROOT, "test", "integration"))
    import harness  # noqa: E402  (the integration tests' server harness)
    import lambda_test as lt  # noqa: E402  (and their Runtime API stand-in)

    bodies = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, nbytes in profile["input_nbytes"].items():
            path = harness.text_file(os.path.join(tmp, kind), nbytes)
            with open(path, "rb") as f:
                bodies[kind] = multipart(f.read())
    t0 = time.monotonic()
    m = measure_server(harness, bodies, profile, args.light_s, args.alone_s, args.level_s)
    m.update(measure_lambda(lt, bodies, args.spawns, args.invocations))
    m["seconds"] = time.monotonic() - t0
    with open("/proc/loadavg", encoding="ascii") as f:
        m["loadavg_end"] = " ".join(f.read().split()[:3])
    return m


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary")
    p.add_argument("--from-results", help="reuse a results.json's measurements")
    p.add_argument("--profile", default=os.path.join(HERE, "profiles", "hn-day.json"))
    p.add_argument("--scales", default="1,3,10", help="burst sizes: multiples of the profile's visitors above its baseline")
    p.add_argument("--out", default=os.path.join(ROOT, "build", "burst"))
    p.add_argument("--ebextensions", default=os.path.join(ROOT, "deploy", "elasticbeanstalk", ".ebextensions"))
    p.add_argument("--params", default=os.path.join(HERE, "burst_params.json"))
    p.add_argument("--prices", default=os.path.join(HERE, "prices.json"))
    p.add_argument("--light-s", type=int, default=2, help="seconds of wrk on /tiny")
    p.add_argument("--alone-s", type=float, default=2.0, help="seconds per report kind, one at a time")
    p.add_argument("--level-s", type=float, default=5.0, help="seconds per open-loop load level")
    p.add_argument("--spawns", type=int, default=3, help="lambda start-ups timed")
    p.add_argument("--invocations", type=int, default=3, help="lambda invocations per report kind")
    args = p.parse_args(argv[1:])

    profile = burst_model.load_json(args.profile)
    if args.from_results:
        measured = burst_model.load_json(args.from_results)["measured"]
    else:
        if not args.binary:
            p.error("--binary or --from-results")
        measured = measure(os.path.abspath(args.binary), profile, args)
    res = burst_render.play(profile, measured, args)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(res["json"], f, indent=1)
    with open(os.path.join(args.out, "minutes.csv"), "w", encoding="utf-8") as f:
        f.write(res["csv"])
    with open(os.path.join(args.out, "table.md"), "w", encoding="utf-8") as f:
        f.write(res["markdown"] + "\n")
    with open(os.path.join(args.out, "summary.md"), "w", encoding="utf-8") as f:
        f.write(res["summary"] + "\n")  # the README's section: per-minute rows every 5 minutes
    plots = burst_render.plot(res, args.out)
    print(res["markdown"])
    print()
    written = [os.path.join(args.out, n) for n in ("results.json", "table.md", "summary.md", "minutes.csv")]
    print("_Written: " + ", ".join(os.path.relpath(x, ROOT) for x in written + plots) + "._")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
