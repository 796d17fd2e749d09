#!/usr/bin/env python3
"""Monthly AWS cost of V requests/month: Elastic Beanstalk (EC2 + ALB) vs Lambda + API Gateway.

Reads the figures bench/run measured (results.json) and list prices (bench/prices.json) and prints
Markdown: cost per volume for each workload, and the break-even volume. Standard library only.

Usage: bench/cost_model.py RESULTS.json [--prices bench/prices.json] [--basis cpu|wall]
           [--peak-factor 3] [--target-utilisation 0.6] [--min-instances 2] [--lambda-memory-mb 1769]
"""
import argparse
import json
import math
import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table import codec_tasks, cpu_per_request_ms  # noqa: E402  (bench/ is not a package)

SECONDS_PER_HOUR = 3600
# Bytes around the input in a multipart upload (request line, headers, part headers, boundaries),
# and a report's JSON answer with headers: rounded up from what curl sends and the server answers.
MULTIPART_OVERHEAD_NBYTES = 512
REPORT_RESPONSE_NBYTES = 1024
TINY_REQUEST_NBYTES = 128


@dataclass
class Workload:
    """One kind of request, with what was measured for it on this machine."""

    name: str
    capacity_rps: float  # sustained req/s measured on measured_vcpus cores
    measured_vcpus: int
    request_nbytes: int
    response_nbytes: int
    lambda_memory_mb: int
    lambda_duration_ms: float  # wall time one invocation is billed for


@dataclass
class Assumptions:
    peak_factor: float = 3.0  # busiest hour's rate ÷ the month's average rate
    target_utilisation: float = 0.6  # capacity kept free at peak (headroom)
    min_instances: int = 2  # one per Availability Zone, as Lambda is multi-AZ by itself
    ebs_gb: int = 8  # root volume per instance
    new_connections_per_request: float = 1.0  # ALB LCU: worst case, no keep-alive reuse


def lambda_duration_ms(single_thread_ms, longest_task_ms, overhead_ms, memory_mb, mb_per_vcpu):
    """Billed duration of a CPU-bound report: the codec time spread over the vCPUs Lambda gives
    this memory size (never below the longest indivisible task), plus upload/parse/answer time."""
    vcpus = memory_mb / mb_per_vcpu
    codec_ms = single_thread_ms / vcpus
    if vcpus > 1:
        codec_ms = max(codec_ms, longest_task_ms)
    return codec_ms + overhead_ms


def capacity_rps(run, nproc, basis):
    """Requests/s the measured cores sustain: wrk's count ('wall'), or cores ÷ server CPU time per
    request ('cpu': what dedicated cores would do when this machine's cores are shared)."""
    cpu_ms = cpu_per_request_ms(run)
    if basis == "cpu" and cpu_ms:
        return nproc * 1000 / cpu_ms
    return run["rps"]


def workloads_from_results(res, prices, lambda_memory_mb, basis="cpu"):
    """TinySite and one report workload per measured input, from bench/run's results.json."""
    nproc = res["host"]["nproc"]
    tiny = res["tiny"]
    out = [
        Workload(
            name="TinySite GET /tiny",
            capacity_rps=capacity_rps(tiny["compresstest"], nproc, basis),
            measured_vcpus=nproc,
            request_nbytes=TINY_REQUEST_NBYTES,
            response_nbytes=tiny["compresstest_response_nbytes"],
            lambda_memory_mb=128,
            lambda_duration_ms=1.0,  # the handler takes microseconds; Lambda bills at least 1 ms
        )
    ]
    for r in res["reports"]:
        tasks = codec_tasks(r["single_thread_report"])
        longest = max(ms for name, ms in tasks.items() if not name.startswith("bzip2"))
        c1 = r["c1"]
        # What a request costs beyond the codecs: wrk's latency minus the server's own elapsed_ms.
        overhead_ms = max(0.0, c1["p50_ms"] - (c1["server_elapsed_ms"] or c1["p50_ms"]))
        single_ms = r["single_thread_ms"]
        if basis == "cpu":
            single_ms = min(single_ms, r.get("single_thread_cpu_ms") or single_ms)
        out.append(
            Workload(
                name=f"report, {r['name']} ({r['input_nbytes']} bytes)",
                capacity_rps=capacity_rps(r["c8"], nproc, basis),
                measured_vcpus=nproc,
                request_nbytes=r["input_nbytes"] + MULTIPART_OVERHEAD_NBYTES,
                response_nbytes=REPORT_RESPONSE_NBYTES,
                lambda_memory_mb=lambda_memory_mb,
                lambda_duration_ms=lambda_duration_ms(
                    single_ms, longest, overhead_ms, lambda_memory_mb,
                    prices["lambda"]["memory_mb_per_vcpu"],
                ),
            )
        )
    return out


def tiered_cost(units, tiers_per_million):
    """Cost of `units` requests under [[cumulative upper bound in millions or None, $/million]]."""
    cost, done = 0.0, 0.0
    for upper_millions, price in tiers_per_million:
        upper = math.inf if upper_millions is None else upper_millions * 1e6
        in_tier = min(units, upper) - done
        if in_tier <= 0:
            break
        cost += in_tier / 1e6 * price
        done += in_tier
    return cost


def ec2_cost(instance_hours, instance_type, prices, ebs_gb):
    """Dollars for instance_hours of instance_type on demand, each with an ebs_gb gp3 root volume."""
    inst = prices["ec2"][instance_type]
    volume_months = instance_hours / prices["hours_per_month"]
    return instance_hours * inst["hourly"] + volume_months * ebs_gb * prices["ebs_gp3_gb_month"]


def alb_lcus(requests_per_s, nbytes_per_request, prices, new_connections_per_request):
    """LCUs an Application Load Balancer bills for a steady rate: the larger of the new-connection
    and processed-bytes dimensions (the other two stay far below them for this service)."""
    lcu = prices["alb"]["lcu"]
    processed_gb_per_h = requests_per_s * SECONDS_PER_HOUR * nbytes_per_request / 1e9
    return max(requests_per_s * new_connections_per_request / lcu["new_connections_per_s"],
               processed_gb_per_h / lcu["processed_gb_per_h"])


def alb_cost(hours, lcu_hours, prices):
    """Dollars for an Application Load Balancer up `hours` that used `lcu_hours` LCU-hours."""
    return hours * prices["alb"]["hourly"] + lcu_hours * prices["alb"]["lcu_hourly"]


def eb_monthly(volume, w, instance_type, prices, a):
    """(dollars, instances) for Elastic Beanstalk: EC2 instances sized for the peak with headroom,
    their root volumes, T3 surplus credits if busy above baseline, and the ALB (hours + LCUs)."""
    hours = prices["hours_per_month"]
    inst = prices["ec2"][instance_type]
    avg_rps = volume / (hours * SECONDS_PER_HOUR)
    capacity_rps = w.capacity_rps * inst["vcpus"] / w.measured_vcpus
    needed = avg_rps * a.peak_factor / (capacity_rps * a.target_utilisation)
    instances = max(a.min_instances, math.ceil(needed))
    cost = ec2_cost(instances * hours, instance_type, prices, a.ebs_gb)
    if "baseline_utilisation" in inst:
        # T3 "unlimited" (the default): CPU above baseline, averaged, is billed per vCPU-hour.
        utilisation = avg_rps / (instances * capacity_rps)
        surplus = max(0.0, utilisation - inst["baseline_utilisation"])
        cost += surplus * inst["vcpus"] * hours * instances * inst["surplus_vcpu_hourly"]
    lcus = alb_lcus(avg_rps, w.request_nbytes + w.response_nbytes, prices,
                    a.new_connections_per_request)
    cost += alb_cost(hours, hours * lcus, prices)
    return cost, instances


def gateway_units(request_nbytes, api, prices):
    """How many requests API Gateway `api` ('http' or 'rest') bills one request of this size as:
    HTTP APIs meter in 512 KB increments (a 3 MB upload counts 7 times), REST APIs per request."""
    if api == "http":
        return math.ceil(request_nbytes / prices["api_gateway_http"]["metering_increment_nbytes"])
    return 1


def lambda_cost(invocations, gb_seconds, units, prices, api):
    """Dollars for Lambda (x86: requests + GB-seconds) behind API Gateway `api` ('http' or 'rest')
    billing `units` requests (gateway_units summed), over one month's tiers."""
    lam = prices["lambda"]
    cost = invocations / 1e6 * lam["request_per_million"] + gb_seconds * lam["gb_second_x86"]
    tiers = prices["api_gateway_http" if api == "http" else "api_gateway_rest"]["tiers_per_million"]
    return cost + tiered_cost(units, tiers)


def billed_ms(duration_ms, prices):
    """A duration rounded up to Lambda's billing granularity."""
    step = prices["lambda"]["billing_granularity_ms"]
    return math.ceil(duration_ms / step) * step


def lambda_monthly(volume, w, prices, api):
    """Dollars for Lambda (requests + GB-seconds, x86) behind API Gateway `api` ('http' or 'rest')."""
    gb_seconds = volume * (w.lambda_memory_mb / 1024) * billed_ms(w.lambda_duration_ms, prices) / 1000
    return lambda_cost(volume, gb_seconds, volume * gateway_units(w.request_nbytes, api, prices),
                       prices, api)


def break_even(w, instance_type, api, prices, a, lo=1e3, hi=1e12):
    """Smallest monthly volume at which Lambda + API Gateway costs at least Elastic Beanstalk, or
    None if Lambda stays cheaper up to `hi` (or is dearer already at `lo`)."""

    def lambda_dearer(v):
        return lambda_monthly(v, w, prices, api) >= eb_monthly(v, w, instance_type, prices, a)[0]

    if lambda_dearer(lo):
        return None
    steps = 2000  # EB's cost is a staircase: scan on a log grid, then bisect the first crossing
    prev = lo
    for i in range(1, steps + 1):
        v = lo * (hi / lo) ** (i / steps)
        if lambda_dearer(v):
            low, high = prev, v
            for _ in range(60):
                mid = (low + high) / 2
                low, high = (low, mid) if lambda_dearer(mid) else (mid, high)
            return high
        prev = v
    return None


def break_even_text(w, instance_type, api, prices, a):
    v = break_even(w, instance_type, api, prices, a)
    if v is not None:
        return f"{fmt_volume(v)} ({v / (prices['hours_per_month'] * SECONDS_PER_HOUR):.3g}/s)"
    if lambda_monthly(1e3, w, prices, api) >= eb_monthly(1e3, w, instance_type, prices, a)[0]:
        return "Lambda dearer from 1k on"
    return "Lambda cheaper up to 1T"


def fmt_dollars(x):
    return f"${x:,.0f}" if x >= 100 else f"${x:,.2f}"


def fmt_volume(v):
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.0f}"


def render(res, prices, a, volumes, lambda_memory_mb, basis="cpu"):
    hours = prices["hours_per_month"]
    types = list(prices["ec2"])
    out = [
        f"### Cost model — {prices['region']} list prices as of {prices['as_of']} "
        "(check them before use)",
        "",
        f"Prices: bench/prices.json ({prices['caveat']}) Sources: "
        + "; ".join(prices["sources"].values())
        + ".",
        "",
        "Assumptions:",
        "- Capacity and Lambda duration: "
        + (
            "from CPU time (server CPU per request at 8 connections → requests/s that dedicated "
            "cores sustain; the single-thread report's CPU time), since this machine's cores are "
            "shared with other work; `--basis wall` uses wrk's req/s and elapsed times instead."
            if basis == "cpu"
            else "wrk's req/s at 8 connections and the median single-thread elapsed time."
        ),
        f"- Elastic Beanstalk: each instance serves the capacity measured here "
        f"({res['host']['nproc']} cores) scaled by its vCPUs — optimistic for x86 types whose 2 vCPUs "
        "are one core's two hyperthreads, unmeasured for Graviton (c7g); sized for a peak of "
        f"{a.peak_factor:g}× the monthly average at {a.target_utilisation:.0%} utilisation, at least "
        f"{a.min_instances} instances, {a.ebs_gb} GB gp3 each, {hours} h/month; t3.small pays "
        "unlimited-mode surplus credits for average CPU above its 20% baseline.",
        "- Application Load Balancer: hours + LCU-hours at the average rate (busier hours cost a "
        f"little more); {a.new_connections_per_request:g} new connection per request; processed "
        "bytes = request + response.",
        "- Lambda (x86) behind API Gateway: per-request price + GB-seconds at the memory size below, "
        "billed per ms; HTTP API requests metered in 512 KB increments; cold starts, free tiers "
        "and data transfer out are left out.",
        "",
    ]
    for w in workloads_from_results(res, prices, lambda_memory_mb, basis):
        gb_s = w.lambda_memory_mb / 1024 * math.ceil(w.lambda_duration_ms) / 1000
        http_units = math.ceil(w.request_nbytes / prices["api_gateway_http"]["metering_increment_nbytes"])
        out.append(f"#### {w.name}")
        out.append("")
        out.append(
            f"Measured capacity {w.capacity_rps:,.1f} req/s on {w.measured_vcpus} cores; Lambda "
            f"{w.lambda_memory_mb} MB × {math.ceil(w.lambda_duration_ms):.0f} ms = {gb_s:.4g} GB-s "
            f"per request; HTTP API counts it as {http_units} request{'s' if http_units > 1 else ''}."
        )
        out.append("")
        header = "| requests/month | avg req/s | " + " | ".join(
            f"EB {t} (instances)" for t in types
        ) + " | Lambda + HTTP API | Lambda + REST API |"
        out.append(header)
        out.append("|" + "---:|" * (4 + len(types)))
        for v in volumes:
            cells = [fmt_volume(v), f"{v / (hours * SECONDS_PER_HOUR):.3g}"]
            for t in types:
                cost, n = eb_monthly(v, w, t, prices, a)
                cells.append(f"{fmt_dollars(cost)} ({n})")
            cells.append(fmt_dollars(lambda_monthly(v, w, prices, "http")))
            cells.append(fmt_dollars(lambda_monthly(v, w, prices, "rest")))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        steady = Assumptions(peak_factor=1.0, target_utilisation=0.8, min_instances=a.min_instances,
                             ebs_gb=a.ebs_gb, new_connections_per_request=a.new_connections_per_request)
        out.append(
            "Break-even volume, requests/month (Lambda is cheaper below it; in brackets the "
            "average req/s):"
        )
        out.append("")
        out.append(
            "| Elastic Beanstalk on | vs Lambda + HTTP API | vs Lambda + REST API "
            "| vs Lambda + HTTP API, steady load (peak 1×, 80% busy) |"
        )
        out.append("|---|---:|---:|---:|")
        for t in types:
            cells = [break_even_text(w, t, "http", prices, a), break_even_text(w, t, "rest", prices, a),
                     break_even_text(w, t, "http", prices, steady)]
            out.append(f"| {t} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out).rstrip()


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", help="results.json written by bench/run")
    p.add_argument("--prices", default=os.path.join(here, "prices.json"))
    p.add_argument("--peak-factor", type=float, default=Assumptions.peak_factor)
    p.add_argument("--target-utilisation", type=float, default=Assumptions.target_utilisation)
    p.add_argument("--min-instances", type=int, default=Assumptions.min_instances)
    p.add_argument("--lambda-memory-mb", type=int, default=1769, help="for reports (1769 MB = 1 vCPU)")
    p.add_argument("--basis", choices=("cpu", "wall"), default="cpu",
                   help="capacity from server CPU per request (default) or from wrk's req/s")
    p.add_argument("--volumes", default="1e5,1e6,1e7,1e8,1e9", help="requests/month, comma-separated")
    args = p.parse_args(argv[1:])
    with open(args.results, encoding="utf-8") as f:
        res = json.load(f)
    with open(args.prices, encoding="utf-8") as f:
        prices = json.load(f)
    a = Assumptions(
        peak_factor=args.peak_factor,
        target_utilisation=args.target_utilisation,
        min_instances=args.min_instances,
    )
    volumes = [float(v) for v in args.volumes.split(",")]
    print(render(res, prices, a, volumes, args.lambda_memory_mb, args.basis))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
