#!/usr/bin/env python3
"""A traffic burst played through Elastic Beanstalk and through Lambda + API Gateway (pure model).

Inputs: a profile (bench/profiles/*.json: visitors per minute and what each asks for), the figures
bench/burst measured on this machine (Inputs), the autoscaling policy read from
deploy/elasticbeanstalk/.ebextensions (EbPolicy) and the named assumptions of bench/burst_params.json.
Output: per-minute rows and totals for both designs, and a month's cost through bench/cost_model.py's
price functions. No I/O beyond reading the files named; standard library only.
"""
import bisect
import collections
import glob
import json
import math
import os
import sys
from dataclasses import dataclass, field, replace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost_model  # noqa: E402  (bench/ is not a package)

STEP_S = 10  # simulation step; CloudWatch periods and the Lambda scaling window are multiples of it
LIGHT = "light"  # the kind of request that is no report (page, assets, TinySite)
LATENCY_TARGET_MS = 1000.0


# --- the profile -----------------------------------------------------------------------------------
def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def visitors_at(profile, minute):
    """Visitors per minute at `minute`, linear between the profile's points."""
    pts = profile["visitors_per_min"]
    xs = [p[0] for p in pts]
    i = bisect.bisect_right(xs, minute)
    if i == 0:
        return pts[0][1]
    if i == len(pts):
        return pts[-1][1]
    (x0, y0), (x1, y1) = pts[i - 1], pts[i]
    return y0 + (y1 - y0) * (minute - x0) / (x1 - x0)


def rates_at(profile, t_s, scale=1.0):
    """{kind: requests per second} at second t_s of the day; `scale` multiplies the visitors above
    the baseline (the first point), so every scale keeps the same quiet baseline."""
    base = profile["visitors_per_min"][0][1]
    v = visitors_at(profile, t_s / 60)
    v = base + (v - base) * scale
    return {k: v * n / 60 for k, n in profile["requests_per_visitor"].items()}


def flat_profile(profile):
    """The profile's baseline all day: an ordinary day."""
    base = profile["visitors_per_min"][0][1]
    return dict(profile, visitors_per_min=[[0, base], [profile["minutes"], base]])


def report_kinds(profile):
    return [k for k in profile["requests_per_visitor"] if k != LIGHT]


def request_nbytes(profile, kind):
    if kind == LIGHT:
        return cost_model.TINY_REQUEST_NBYTES
    return profile["input_nbytes"][kind] + cost_model.MULTIPART_OVERHEAD_NBYTES


# --- the autoscaling policy, from the .ebextensions files ------------------------------------------
def parse_option_settings(text):
    """{namespace: {option: value string}} from an .ebextensions file's option_settings mapping
    (the YAML these files use: two-level mapping, scalars, # comments; nothing else)."""
    settings, namespace, in_options = {}, None, False
    for raw in text.splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split(" #")[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if body.endswith(":") and ": " not in body:  # a mapping key: namespace names hold colons
            key, value = body[:-1], ""
        else:
            key, _, value = body.partition(": ")
            value = value.strip().strip("\"'")
        if indent == 0:
            in_options, namespace = key == "option_settings", None
        elif in_options and not value and indent <= 2:
            namespace = key
            settings.setdefault(namespace, {})
        elif in_options and namespace is not None:
            settings[namespace][key] = value
    return settings


def read_ebextensions(directory):
    """Every *.config in directory merged in name order, as Elastic Beanstalk applies them."""
    settings = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.config"))):
        with open(path, encoding="utf-8") as f:
            for ns, options in parse_option_settings(f.read()).items():
                settings.setdefault(ns, {}).update(options)
    return settings


@dataclass
class EbPolicy:
    """The scaling behaviour of the environment: the file's settings plus the named boot times."""

    min_size: int
    max_size: int
    cooldown_s: float
    period_s: float  # CloudWatch period of the CPU datapoints
    breach_periods: int  # consecutive datapoints over (or under) a threshold before acting
    upper_pct: float
    lower_pct: float
    upper_increment: int
    lower_increment: int  # negative
    health_check_s: float  # healthy-threshold count × interval: until the balancer sends traffic
    instance_type: str
    instance_launch_s: float  # named assumption (bench/burst_params.json)
    image_build_s: float  # named assumption

    @property
    def ready_s(self):
        """From the scale-out decision to the instance taking traffic."""
        return self.instance_launch_s + self.image_build_s + self.health_check_s


def eb_policy(settings, params):
    trig = settings["aws:autoscaling:trigger"]
    asg = settings["aws:autoscaling:asg"]
    health = settings.get("aws:elasticbeanstalk:environment:process:default", {})
    instance_type = settings["aws:ec2:instances"]["InstanceTypes"].split(",")[0].strip()
    period_min = float(trig.get("Period", 5))
    breach_min = float(trig.get("BreachDuration", 5))
    evaluation = int(trig.get("EvaluationPeriods", 1))
    if trig.get("MeasureName", "NetworkOut") != "CPUUtilization" or trig.get("Unit") != "Percent":
        raise ValueError("the model plays a CPUUtilization trigger in percent")
    return EbPolicy(
        min_size=int(asg.get("MinSize", 1)),
        max_size=int(asg.get("MaxSize", 4)),
        cooldown_s=float(asg.get("Cooldown", 360)),
        period_s=period_min * 60,
        breach_periods=max(evaluation, math.ceil(breach_min / period_min)),
        upper_pct=float(trig["UpperThreshold"]),
        lower_pct=float(trig["LowerThreshold"]),
        upper_increment=int(trig.get("UpperBreachScaleIncrement", 1)),
        lower_increment=int(trig.get("LowerBreachScaleIncrement", -1)),
        health_check_s=float(health.get("HealthyThresholdCount", 3))
        * float(health.get("HealthCheckInterval", 15)),
        instance_type=instance_type,
        instance_launch_s=params["eb"]["instance_launch_s"]["value"],
        image_build_s=params["eb"]["image_build_s"]["value"],
    )


# --- what was measured -----------------------------------------------------------------------------
@dataclass
class Inputs:
    """bench/burst's measurements (results.json "measured"), per kind of request."""

    cores: int  # of the machine the server ran on = one instance's vCPUs
    cpu_ms: dict  # server CPU time (all threads) per request
    longest_task_ms: dict  # per report kind: the longest entry (CPU), which fan-out cannot split
    queue_bound: int  # reports one instance admits (running + queued) before answering 503
    lambda_ms: dict  # per-invocation duration of compresstest lambda on one core (its CPU time)
    lambda_init_ms: float  # measured start-up: process start to its first /next
    light_response_nbytes: int = 600
    report_response_nbytes: int = cost_model.REPORT_RESPONSE_NBYTES


def inputs_from_results(res):
    m = res["measured"]
    return Inputs(cores=m["cores"], cpu_ms=m["cpu_ms"], longest_task_ms=m["longest_task_ms"],
                  queue_bound=m["queue_bound"], lambda_ms=m["lambda_cpu_ms"],
                  lambda_init_ms=m["lambda_init_ms"],
                  light_response_nbytes=m.get("light_response_nbytes", 600))


def service_ms(inputs, kind):
    """A report's latency alone on an idle instance: its CPU spread over the cores by the fan-out,
    never below its longest entry."""
    return max(inputs.cpu_ms[kind] / inputs.cores, inputs.longest_task_ms.get(kind, 0.0))


def wait_quantile_ms(rho, es_ms, es2_ms2, q):
    """q-quantile of the wait in an M/G/1 queue at utilisation rho (< 1) whose service times have
    mean es_ms and second moment es2_ms2: Pollaczek-Khinchine mean, exponential tail
    P(W > t) = rho * exp(-t * rho / mean)."""
    if rho <= 0 or rho <= 1 - q:
        return 0.0
    rho = min(rho, 0.999)
    mean = rho * es2_ms2 / (2 * (1 - rho) * es_ms)
    return mean / rho * math.log(rho / (1 - q))


@dataclass
class ReportMix:
    """Service-time figures of the profile's report mix on one instance."""

    q50_ms: float  # service-time quantiles
    q99_ms: float
    mean_ms: float
    second_moment_ms2: float
    max_wait_ms: float  # what the reports an instance admits take to serve


def report_mix(profile, inputs):
    kinds = report_kinds(profile)
    w = [profile["requests_per_visitor"][k] for k in kinds]
    s = [service_ms(inputs, k) for k in kinds]
    es = sum(a * b for a, b in zip(w, s)) / sum(w)
    return ReportMix(q50_ms=weighted_quantile(list(zip(s, w)), 0.5),
                     q99_ms=weighted_quantile(list(zip(s, w)), 0.99), mean_ms=es,
                     second_moment_ms2=sum(a * b * b for a, b in zip(w, s)) / sum(w),
                     max_wait_ms=inputs.queue_bound * es)


def mix_latency_ms(mix, rho, backlog_wait_ms=0.0):
    """(p50, p99) of reports on one instance at CPU utilisation rho: the instance as one server (a
    report fans out over every core), the service-time quantile plus the wait's (or the wait behind
    a backlog, if longer), the wait no longer than the reports the server admits take."""
    return tuple(sq + min(mix.max_wait_ms, max(backlog_wait_ms, wait_quantile_ms(
        rho, mix.mean_ms, mix.second_moment_ms2, q))) for sq, q in ((mix.q50_ms, 0.5), (mix.q99_ms, 0.99)))


def report_latency_ms(profile, inputs, rho, backlog_wait_ms=0.0):
    """mix_latency_ms of the profile's report mix."""
    return mix_latency_ms(report_mix(profile, inputs), rho, backlog_wait_ms)


def utilisation_at_p99(profile, inputs, target_ms=LATENCY_TARGET_MS):
    """Highest CPU utilisation at which reports' p99 stays within target_ms (0 if never)."""
    mix = report_mix(profile, inputs)
    lo, hi = 0.0, 0.999
    if mix_latency_ms(mix, lo)[1] > target_ms:
        return 0.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mix_latency_ms(mix, mid)[1] <= target_ms else (lo, mid)
    return lo


def mix_cpu_ms(profile, inputs, kinds=None):
    """Server CPU per request of the profile's mix (of `kinds`, default every kind)."""
    rpv = profile["requests_per_visitor"]
    kinds = kinds or list(rpv)
    n = sum(rpv[k] for k in kinds)
    return sum(rpv[k] * inputs.cpu_ms[k] for k in kinds) / n


def instance_capacity_rps(profile, inputs):
    """Requests per second (profile's mix) one instance serves with reports' p99 within 1 s."""
    saturation = inputs.cores * 1000 / mix_cpu_ms(profile, inputs)
    return saturation * utilisation_at_p99(profile, inputs)


# --- the simulation --------------------------------------------------------------------------------
@dataclass
class Minute:
    """One minute of one design: counts over the minute; instances/queue at its end."""

    minute: int
    offered: float = 0.0
    served: float = 0.0
    refused: float = 0.0
    reports_offered: float = 0.0  # the reports among the offered and refused requests
    reports_refused: float = 0.0
    queued: float = 0.0  # reports waiting at the end of the minute
    p50_ms: float = 0.0  # of reports, the minute's worst step
    p99_ms: float = 0.0
    capacity_rps: float = 0.0  # requests/s of the mix served within 1 s p99 (EB) or allowed (Lambda)
    units: float = 0.0  # EB: instances in service; Lambda: concurrent environments in use
    pending: float = 0.0  # EB: instances launched, not yet in service; Lambda: cold starts
    cpu_pct: float = 0.0  # EB: group CPU


@dataclass
class Run:
    design: str
    minutes: list
    instance_hours: float = 0.0  # EB: billed instance time
    gb_seconds: float = 0.0  # Lambda
    invocations: float = 0.0  # Lambda: billed invocations
    gateway_units: dict = field(default_factory=dict)  # Lambda: requests API Gateway bills, per api
    lcu_hours: float = 0.0  # EB: load balancer
    scaling_events: list = field(default_factory=list)  # EB: (second, +n/-n)

    def total(self, name):
        return sum(getattr(m, name) for m in self.minutes)

    def peak(self, name):
        return max(getattr(m, name) for m in self.minutes)


def _minute_row(rows, t_s, capacity_rps):
    m = int(t_s // 60)
    if not rows or rows[-1].minute != m:
        rows.append(Minute(minute=m, capacity_rps=capacity_rps))
    return rows[-1]


def simulate_eb(profile, inputs, policy, params, prices, scale=1.0):
    """Elastic Beanstalk, as a fluid model in STEP_S steps: instances in service share their CPU
    between light requests (I/O threads, never queued) and reports (compute pool, FIFO); reports
    beyond what an instance admits get 503. The group's CPU is averaged over each CloudWatch period;
    `breach_periods` datapoints over the upper (under the lower) threshold scale out (in) by the
    file's increment, unless within the cooldown; a new instance takes traffic `ready_s` after the
    decision, and the cooldown starts when its launch completes."""
    reports = report_kinds(profile)
    report_cpu_ms = mix_cpu_ms(profile, inputs, reports)
    cap_per_instance = instance_capacity_rps(profile, inputs)
    mix = report_mix(profile, inputs)
    nbytes = {k: request_nbytes(profile, k) + (inputs.light_response_nbytes if k == LIGHT
                                                else inputs.report_response_nbytes)
              for k in profile["requests_per_visitor"]}  # request + response, through the balancer
    in_service = policy.min_size
    pending = []  # seconds at which launched instances start taking traffic
    cooldown_until = 0.0
    backlog_cpu_s = 0.0  # CPU seconds of reports admitted and not yet served
    datapoints = []
    period_busy = period_n = 0.0
    rows, run = [], Run("Elastic Beanstalk", [])
    hour_requests = collections.defaultdict(float)
    hour_nbytes = collections.defaultdict(float)
    steps = int(profile["minutes"] * 60 / STEP_S)
    for i in range(steps):
        t = i * STEP_S
        ready = [p for p in pending if p <= t]
        pending = [p for p in pending if p > t]
        in_service += len(ready)
        rates = rates_at(profile, t, scale)
        row = _minute_row(rows, t, in_service * cap_per_instance)
        supply = in_service * inputs.cores * STEP_S
        light = rates[LIGHT] * STEP_S
        light_cpu = light * inputs.cpu_ms[LIGHT] / 1000
        arrivals = sum(rates[k] for k in reports) * STEP_S
        offered_util = (light_cpu + arrivals * report_cpu_ms / 1000) / supply
        backlog_cpu_s += arrivals * report_cpu_ms / 1000
        served_cpu = min(backlog_cpu_s, max(0.0, supply - light_cpu))
        backlog_cpu_s -= served_cpu
        bound_cpu_s = in_service * inputs.queue_bound * report_cpu_ms / 1000
        refused = max(0.0, backlog_cpu_s - bound_cpu_s) * 1000 / report_cpu_ms
        backlog_cpu_s = min(backlog_cpu_s, bound_cpu_s)
        busy = min(1.0, (min(light_cpu, supply) + served_cpu) / supply)
        wait_ms = backlog_cpu_s / (in_service * inputs.cores) * 1000
        p50, p99 = mix_latency_ms(mix, min(offered_util, 1.0), wait_ms)
        row.offered += light + arrivals
        row.served += light + served_cpu * 1000 / report_cpu_ms
        row.refused += refused
        row.reports_offered += arrivals
        row.reports_refused += refused
        row.queued = backlog_cpu_s * 1000 / report_cpu_ms
        if arrivals > 0:
            row.p50_ms = max(row.p50_ms, p50)
            row.p99_ms = max(row.p99_ms, p99)
        row.units, row.pending = in_service, len(pending)
        row.capacity_rps = in_service * cap_per_instance
        row.cpu_pct = max(row.cpu_pct, 100 * busy)
        run.instance_hours += (in_service + len(pending)) * STEP_S / 3600
        hour = t // 3600
        hour_requests[hour] += light + arrivals
        hour_nbytes[hour] += sum(rates[k] * STEP_S * nbytes[k] for k in nbytes)
        period_busy += busy * in_service
        period_n += in_service
        t_end = t + STEP_S
        if t_end % policy.period_s == 0:
            datapoints.append(100 * period_busy / period_n)
            period_busy = period_n = 0.0
            recent = datapoints[-policy.breach_periods:]
            full = len(recent) == policy.breach_periods
            desired = in_service + len(pending)
            if full and t_end >= cooldown_until:
                if all(d > policy.upper_pct for d in recent) and desired < policy.max_size:
                    n = min(policy.upper_increment, policy.max_size - desired)
                    pending += [t_end + policy.ready_s] * n
                    cooldown_until = t_end + policy.instance_launch_s + policy.cooldown_s
                    run.scaling_events.append((t_end, n))
                elif all(d < policy.lower_pct for d in recent) and desired > policy.min_size:
                    n = min(-policy.lower_increment, desired - policy.min_size)
                    for _ in range(n):
                        if pending:
                            pending.pop()
                        else:
                            in_service -= 1
                    cooldown_until = t_end + policy.cooldown_s
                    run.scaling_events.append((t_end, -n))
    conn = params["eb"]["new_connections_per_request"]["value"]
    for hour, n in hour_requests.items():
        rps = n / 3600
        per_request = hour_nbytes[hour] / n if n else 0.0
        run.lcu_hours += cost_model.alb_lcus(rps, per_request, prices, conn)
    run.minutes = rows
    return run


def weighted_quantile(pairs, q):
    """The q-quantile of a discrete distribution given as [(value, weight)]."""
    pairs = sorted(p for p in pairs if p[1] > 0)
    total = sum(w for _, w in pairs)
    if not total:
        return 0.0
    acc = 0.0
    for value, w in pairs:
        acc += w
        if acc >= q * total:
            return value
    return pairs[-1][0]


@dataclass
class LambdaLimits:
    memory_mb: int
    account_concurrency: int
    scaling_per_s: float
    platform_cold_start_ms: float
    environment_keep_s: float


def lambda_limits(params):
    p = params["lambda"]
    return LambdaLimits(
        memory_mb=p["memory_mb"]["value"],
        account_concurrency=p["account_concurrency"]["value"],
        scaling_per_s=p["scaling_per_10_s"]["value"] / 10,
        platform_cold_start_ms=p["platform_cold_start_ms"]["value"],
        environment_keep_s=p["environment_keep_s"]["value"],
    )


def simulate_lambda(profile, inputs, limits, prices, scale=1.0):
    """Lambda behind API Gateway in STEP_S steps: the concurrency a step needs is its rate × the
    measured duration (Little's law); environments can be added at the documented scaling rate up
    to the account's concurrency, and what finds none is throttled (no queue: API Gateway invokes
    synchronously). Each new environment's first request pays the cold start; idle environments
    are kept environment_keep_s."""
    kinds = list(profile["requests_per_visitor"])
    reports = report_kinds(profile)
    cold_ms = limits.platform_cold_start_ms + inputs.lambda_init_ms
    mean_s = sum(profile["requests_per_visitor"][k] * inputs.lambda_ms[k] for k in kinds) / (
        1000 * sum(profile["requests_per_visitor"].values()))
    history = collections.deque()  # (second, environments in use)
    pool = 0  # environments that exist (busy or kept warm)
    rows, run = [], Run("Lambda + API Gateway", [])
    run.gateway_units = {"http": 0.0, "rest": 0.0}
    mem_gb = limits.memory_mb / 1024
    units_per = {api: {k: cost_model.gateway_units(request_nbytes(profile, k), api, prices)
                       for k in kinds} for api in ("http", "rest")}
    steps = int(profile["minutes"] * 60 / STEP_S)
    for i in range(steps):
        t = i * STEP_S
        rates = rates_at(profile, t, scale)
        need = sum(rates[k] * inputs.lambda_ms[k] / 1000 for k in kinds)
        allowed = min(limits.account_concurrency, pool + limits.scaling_per_s * STEP_S)
        in_use = min(need, allowed)
        share = in_use / need if need > 0 else 1.0
        # Environments are whole: any request in the step needs one; each new one starts cold.
        envs = min(math.ceil(in_use - 1e-9), int(allowed)) if in_use > 0 else 0
        new_envs = max(0, envs - pool)
        history.append((t, envs))
        while history and history[0][0] <= t - limits.environment_keep_s:
            history.popleft()
        pool = max(e for _, e in history)
        row = _minute_row(rows, t, allowed / mean_s)
        arrivals = {k: rates[k] * STEP_S for k in kinds}
        served = {k: arrivals[k] * share for k in kinds}
        total_served = sum(served.values())
        cold = min(new_envs, total_served)
        cold_share = cold / total_served if total_served else 0.0
        row.offered += sum(arrivals.values())
        row.served += total_served
        row.refused += sum(arrivals.values()) - total_served
        row.reports_offered += sum(arrivals[k] for k in reports)
        row.reports_refused += sum(arrivals[k] - served[k] for k in reports)
        row.units = max(row.units, in_use)
        row.pending += cold
        row.capacity_rps = max(row.capacity_rps, allowed / mean_s)
        dist = []
        for k in reports:
            dist += [(inputs.lambda_ms[k], served[k] * (1 - cold_share)),
                     (inputs.lambda_ms[k] + cold_ms, served[k] * cold_share)]
        if any(w > 0 for _, w in dist):
            row.p50_ms = max(row.p50_ms, weighted_quantile(dist, 0.5))
            row.p99_ms = max(row.p99_ms, weighted_quantile(dist, 0.99))
        run.invocations += total_served
        run.gb_seconds += mem_gb / 1000 * (
            sum(served[k] * cost_model.billed_ms(inputs.lambda_ms[k], prices) for k in kinds)
            + cold * cost_model.billed_ms(inputs.lambda_init_ms, prices))
        for api in run.gateway_units:
            run.gateway_units[api] += sum(arrivals[k] * units_per[api][k] for k in kinds)
    run.minutes = rows
    return run


# --- the month -------------------------------------------------------------------------------------
def eb_month_cost(policy, params, prices, days):
    """Dollars for a month made of `days` simulated days (Run objects); the month's remaining hours
    (prices["hours_per_month"]) are idle at min_size. The balancer runs all month."""
    hours = prices["hours_per_month"]
    sim_hours = sum(len(d.minutes) / 60 for d in days)
    inst_h = sum(d.instance_hours for d in days) + max(0.0, hours - sim_hours) * policy.min_size
    ebs = params["eb"]["ebs_gb"]["value"]
    lcu_h = sum(d.lcu_hours for d in days)
    return cost_model.ec2_cost(inst_h, policy.instance_type, prices, ebs) + cost_model.alb_cost(
        hours, lcu_h, prices)


def lambda_month_cost(prices, days, api="http"):
    """Dollars for a month made of `days` simulated Lambda days; nothing is billed the rest."""
    return cost_model.lambda_cost(sum(d.invocations for d in days), sum(d.gb_seconds for d in days),
                                  sum(d.gateway_units[api] for d in days), prices, api)


def month_days(prices, burst_day, ordinary_day):
    """The days of a month with one burst day and ordinary days for the rest (whole days; the
    fraction of a day left over is charged like an ordinary day)."""
    n = prices["hours_per_month"] / 24
    days = [ordinary_day] * int(n - 1)
    if burst_day is not None:
        days.append(burst_day)
    else:
        days.append(ordinary_day)
    frac = n - int(n)
    if frac:
        days.append(scaled_run(ordinary_day, frac))
    return days


def scaled_run(run, f):
    """A fraction f of a day's totals (for the month's leftover hours)."""
    return replace(run, minutes=run.minutes[: int(len(run.minutes) * f)],
                   instance_hours=run.instance_hours * f, gb_seconds=run.gb_seconds * f,
                   invocations=run.invocations * f, lcu_hours=run.lcu_hours * f,
                   gateway_units={k: v * f for k, v in run.gateway_units.items()})


# --- rendering -------------------------------------------------------------------------------------
def fmt_n(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.1f}k"
    return f"{x:,.0f}"


def fmt_pct(part, whole):
    if not whole or not part:
        return "0"
    p = 100 * part / whole
    return f"{p:.2g}%" if p < 10 else f"{p:.0f}%"


def clock(minute):
    return f"{minute // 60:02d}:{minute % 60:02d}"
