#!/usr/bin/env python3
"""Lambda start-up: time from exec of `compresstest lambda` to its first Runtime API request
(GET /runtime/invocation/next) and to its first response posted, measured by the integration
tests' Runtime API stand-in (imported from test/integration/lambda_test.py, not copied).

Usage: bench/lambda_startup.py BINARY [RUNS]   prints one JSON object: each run's figures (ms),
their medians and maxima. An event for GET /tiny is queued before each start, so /next answers
at once and the first response is the first invocation's whole round trip.
"""
import json
import os
import statistics
import sys
import time

if len(sys.argv) not in (2, 3):
    print(__doc__.strip(), file=sys.stderr)
    sys.exit(2)
# harness reads the binary's path when it is imported.
os.environ["COMPRESSTEST_BINARY"] = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test",
                                "integration"))
from lambda_test import Lambda, RuntimeAPI, rest_v1_event  # noqa: E402


class TimedRuntimeAPI(RuntimeAPI):
    """The stand-in, noting when the first request arrived and the first result was posted."""

    def __init__(self):
        self.first_request_s = None
        self.first_result_s = None
        super().__init__()

    def note(self, client_address):
        if self.first_request_s is None:
            self.first_request_s = time.monotonic()
        super().note(client_address)

    def record(self, change):
        if self.first_result_s is None:
            self.first_result_s = time.monotonic()
        super().record(change)


def one_start():
    """(ms to the first /next, ms to the first response posted) for one fresh process."""
    api = TimedRuntimeAPI()
    try:
        api.events.put(("startup-0", json.dumps(rest_v1_event("GET", "/tiny")).encode()))
        started_s = time.monotonic()  # Popen returns once exec has succeeded: this is before it
        runtime = Lambda(api.address)
        try:
            api.wait_for(lambda: "startup-0" in api.results, 10)
            kind = api.results["startup-0"][0]
            if kind != "response":
                raise SystemExit(f"lambda_startup: the first invocation posted {kind}: "
                                 + runtime.output())
        finally:
            runtime.kill()
        return ((api.first_request_s - started_s) * 1000, (api.first_result_s - started_s) * 1000)
    finally:
        api.stop()


def main():
    runs = int(sys.argv[2]) if len(sys.argv) == 3 else 11
    one_start()  # warms the page cache for the binary and its libraries; not counted
    figures = [one_start() for _ in range(runs)]
    to_next = [f[0] for f in figures]
    to_response = [f[1] for f in figures]
    print(json.dumps({
        "runs": runs,
        "to_first_next_ms": [round(x, 2) for x in to_next],
        "to_first_response_ms": [round(x, 2) for x in to_response],
        "to_first_next_median_ms": round(statistics.median(to_next), 2),
        "to_first_next_max_ms": round(max(to_next), 2),
        "to_first_response_median_ms": round(statistics.median(to_response), 2),
        "to_first_response_max_ms": round(max(to_response), 2),
    }))


if __name__ == "__main__":
    main()
