#!/usr/bin/env python3
"""bench/burst's output: plays the profile through bench/burst_model.py with the measured inputs and
renders the Markdown tables, the per-minute CSV and the plot (matplotlib, imported only to plot)."""
import dataclasses
import os

import burst_model as bm
import cost_model

WINDOW_MIN = 90  # per-minute rows printed: from 5 minutes before the rise on


def burst_start(profile):
    """First minute whose visitors are above the baseline."""
    base = profile["visitors_per_min"][0][1]
    return next(m for m in range(profile["minutes"]) if bm.visitors_at(profile, m + 1) > base)


def play(profile, measured, args):
    params = bm.load_json(args.params)
    prices = bm.load_json(args.prices)
    policy = bm.eb_policy(bm.read_ebextensions(args.ebextensions), params)
    inputs = bm.inputs_from_results({"measured": measured})
    limits = bm.lambda_limits(params)
    scales = [float(s) for s in args.scales.split(",")]
    ordinary = bm.flat_profile(profile)
    ord_eb = bm.simulate_eb(ordinary, inputs, policy, params, prices)
    ord_lam = bm.simulate_lambda(ordinary, inputs, limits, prices)
    runs = {s: (bm.simulate_eb(profile, inputs, policy, params, prices, s),
                bm.simulate_lambda(profile, inputs, limits, prices, s)) for s in scales}
    # The same environment with CloudWatch's basic 5-minute datapoints (the seed's "about five
    # minutes to fire"): what the file's 1-minute period buys.
    slow = dataclasses.replace(policy, period_s=max(policy.period_s, 300.0))
    slow_runs = {s: bm.simulate_eb(profile, inputs, slow, params, prices, s) for s in scales}
    for r in slow_runs.values():
        r.design = "Elastic Beanstalk, 5-minute alarm period"
    costs = {"idle": (bm.eb_month_cost(policy, params, prices, []),
                      {api: bm.lambda_month_cost(prices, [], api) for api in ("http", "rest")}),
             "ordinary": (bm.eb_month_cost(policy, params, prices, bm.month_days(prices, None, ord_eb)),
                          {api: bm.lambda_month_cost(prices, bm.month_days(prices, None, ord_lam), api)
                           for api in ("http", "rest")})}
    for s, (eb, lam) in runs.items():
        costs[f"burst ×{s:g}"] = (
            bm.eb_month_cost(policy, params, prices, bm.month_days(prices, eb, ord_eb)),
            {api: bm.lambda_month_cost(prices, bm.month_days(prices, lam, ord_lam), api)
             for api in ("http", "rest")})
    ctx = dict(profile=profile, measured=measured, params=params, prices=prices, policy=policy,
               inputs=inputs, limits=limits, runs=runs, slow_runs=slow_runs, ordinary=(ord_eb, ord_lam),
               costs=costs)
    # summary.md is the README's copy, under its "## Servers vs serverless" heading.
    summary = "#" + markdown(ctx, 5).replace("\n### ", "\n#### ")
    return {"ctx": ctx, "markdown": markdown(ctx), "summary": summary, "csv": csv(ctx),
            "json": as_json(ctx)}


def as_json(ctx):
    out = {"measured": ctx["measured"], "profile": ctx["profile"]["name"],
           "policy": vars(ctx["policy"]) | {"ready_s": ctx["policy"].ready_s},
           "lambda_limits": vars(ctx["limits"]),
           "instance_capacity_rps": bm.instance_capacity_rps(ctx["profile"], ctx["inputs"]),
           "costs": {k: {"eb": eb, "lambda_http": lam["http"], "lambda_rest": lam["rest"]}
                     for k, (eb, lam) in ctx["costs"].items()},
           "runs": {}}
    for s, (eb, lam) in ctx["runs"].items():
        out["runs"][f"{s:g}"] = {r.design: totals(r) | {"scaling_events": r.scaling_events}
                                for r in (eb, lam, ctx["slow_runs"][s])}
    return out


def totals(run):
    worst = max(run.minutes, key=lambda m: m.refused)
    return {"offered": run.total("offered"), "served": run.total("served"),
            "refused": run.total("refused"), "worst_minute_refused": worst.refused,
            "reports": run.total("reports_offered"), "reports_refused": run.total("reports_refused"),
            "max_queued": run.peak("queued"), "worst_p99_ms": run.peak("p99_ms"),
            "peak_units": run.peak("units"), "cold_starts": run.total("pending") if
            run.design.startswith("Lambda") else None,
            "minutes_refusing": sum(1 for m in run.minutes if m.refused >= 0.5),
            "minutes_p99_over_1s": sum(1 for m in run.minutes if m.p99_ms > bm.LATENCY_TARGET_MS)}


def csv(ctx):
    lines = ["scale,design,minute,offered,served,refused,queued,p50_ms,p99_ms,capacity_rps,units,pending,cpu_pct"]
    for s, pair in ctx["runs"].items():
        for r in pair:
            for m in r.minutes:
                lines.append(f"{s:g},{r.design},{m.minute},{m.offered:.2f},{m.served:.2f},{m.refused:.2f},"
                             f"{m.queued:.2f},{m.p50_ms:.1f},{m.p99_ms:.1f},{m.capacity_rps:.2f},"
                             f"{m.units:.2f},{m.pending:.2f},{m.cpu_pct:.1f}")
    return "\n".join(lines) + "\n"


def fmt_ms(ms):
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def markdown(ctx, step_min=1):
    """The tables; per-minute rows every minute for every scale (table.md), or every step_min
    minutes for the largest scale only (summary.md, the README's copy)."""
    p, m, pol, lim = ctx["profile"], ctx["measured"], ctx["policy"], ctx["limits"]
    src = {k: v["source"] for part in ("eb", "lambda") for k, v in ctx["params"][part].items()}
    prices, inputs = ctx["prices"], ctx["inputs"]
    kinds = list(p["requests_per_visitor"])
    cap = bm.instance_capacity_rps(p, inputs)
    u99 = bm.utilisation_at_p99(p, inputs)
    out = [f"### Inputs measured here ({m['cores']} cores, load average {m['loadavg_end']} at the end; "
           f"{m['seconds']:.0f} s of measuring)", "",
           f"Server: `compresstest serve` as deployed (default panel, entries' timings repeated to the "
           f"{m['timing_floor_ms']:g} ms CPU floor of `--timing-floor-ms`), `--compute-priority normal` "
           "because this machine's cores are shared, `--max-reports-per-client 0` because all load "
           "comes from one address. Lambda: `compresstest lambda` pinned to one core (1769 MB = 1 vCPU) "
           "behind the integration tests' Runtime API stand-in, HTTP API (2.0) events.", "",
           "| request | per visitor | server CPU / request | longest entry | latency alone: model (measured wall) "
           "| Lambda CPU / invocation, 1 core (wall through the stand-in) |",
           "|---|---:|---:|---:|---:|---:|"]
    for k in kinds:
        if k == bm.LIGHT:
            name, longest = "light (GET /tiny, wrk)", "–"
            alone = f"– ({m['light_rps']:,.0f} req/s, 16 connections)"
        else:
            name, longest = f"report, {k}", fmt_ms(m["longest_task_ms"][k])
            alone = f"{fmt_ms(bm.service_ms(inputs, k))} ({fmt_ms(m['alone_ms'][k])})"
        out.append(f"| {name} | {p['requests_per_visitor'][k]:g} | {m['cpu_ms'][k]:.2f} ms | {longest} | {alone} | "
                   f"{m['lambda_cpu_ms'][k]:.2f} ms ({fmt_ms(m['lambda_wall_ms'][k])}) |")
    out += ["", "Reports in the profile's mix, open loop (Poisson arrivals) at shares of the CPU-bound "
            f"rate of {m['cores']} cores ({m['report_saturation_rps']:.1f} reports/s):", "",
            "| offered | reports/s | sent | not 200 | measured p50 / p99 | model p50 / p99 | server CPU busy |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    for lv in m["load_levels"]:
        mp50, mp99 = bm.report_latency_ms(p, inputs, lv["utilisation"])
        out.append(f"| {lv['utilisation']:.0%} | {lv['offered_rps']:.1f} | {lv['requests']} | {lv['non200']} | "
                   f"{fmt_ms(lv['p50_ms'])} / {fmt_ms(lv['p99_ms'])} | {fmt_ms(mp50)} / {fmt_ms(mp99)} | "
                   f"{lv['server_cpu_busy']:.0%} |")
    rpv = p["requests_per_visitor"]
    report_share = sum(n for k, n in rpv.items() if k != bm.LIGHT) / sum(rpv.values())
    out += ["", f"→ one instance serves **{cap:.1f} requests/s** of the profile's mix ({cap * report_share:.1f} "
            f"reports/s and {cap * (1 - report_share):.1f} light requests/s) with reports' p99 ≤ 1 s "
            f"(the model's p99 crosses 1 s at {u99:.0%} of the CPU-bound rate: an M/G/1 queue of reports, each "
            f"fanned out over the cores, with the service times above); it admits {m['queue_bound']} reports "
            f"({m['compute_threads']} running + `--queue-length` {m['queue_length']}) before answering 503. "
            f"Lambda start-up (process start to its first `/next`): {m['lambda_init_ms']:.1f} ms "
            f"(runs: {', '.join(f'{x:.1f}' for x in m['lambda_init_ms_runs'])}).", ""]
    out += ["### Assumptions", "",
            f"- Profile `{p['name']}`: {p['description']} Source: {p['source']} Points (time: visitors/min): "
            + ", ".join(f"{bm.clock(int(m))} {v:g}" for m, v in p["visitors_per_min"])
            + "; per visitor: " + ", ".join(f"{n:g} {k}" for k, n in p["requests_per_visitor"].items()) + ".",
            f"- Elastic Beanstalk, read from `deploy/elasticbeanstalk/.ebextensions`: {pol.instance_type}, "
            f"{pol.min_size}–{pol.max_size} instances; CPUUtilization averaged over {pol.period_s / 60:g}-minute "
            f"periods, {pol.breach_periods} period(s) above {pol.upper_pct:g} % adds {pol.upper_increment}, "
            f"below {pol.lower_pct:g} % removes {-pol.lower_increment}; cooldown {pol.cooldown_s:g} s; the "
            f"balancer sends traffic after {pol.health_check_s:g} s of health checks.",
            f"- Not in those files: instance launch {pol.instance_launch_s:g} s ({src['instance_launch_s']}); "
            f"image build {pol.image_build_s:g} s ({src['image_build_s']}). "
            f"So a new instance takes traffic {pol.ready_s:g} s after the alarm acts.",
            f"- An instance is as fast as this machine's {m['cores']} cores (optimistic for a 2-vCPU x86 "
            "instance, whose vCPUs are one core's two hyperthreads); the group's CPU is the served work's.",
            f"- Lambda: {lim.account_concurrency} concurrent executions ({src['account_concurrency']}); "
            f"+{lim.scaling_per_s * 10:g} environments per 10 s ({src['scaling_per_10_s']}); "
            f"cold start = {lim.platform_cold_start_ms:g} ms platform part ({src['platform_cold_start_ms']}) "
            f"+ the measured start-up; idle environments kept {lim.environment_keep_s:g} s "
            f"({src['environment_keep_s']}); {lim.memory_mb} MB.",
            f"- Prices: bench/prices.json, {prices['region']} list prices as of {prices['as_of']} "
            f"({'; '.join(prices['sources'][k] for k in ('ec2', 'alb', 'lambda', 'api_gateway'))}). "
            f"Months of {prices['hours_per_month']} h: idle = no requests; ordinary = the profile's "
            "baseline every day; burst = one burst day, the rest ordinary. EB: instance-hours as "
            "simulated (launch to termination), 8 GB gp3 each, ALB hours + LCU-hours. Lambda: "
            "invocations + GB-s (x86, per ms) + API Gateway requests (HTTP API in 512 KB increments), "
            "free tiers left out; throttled requests still count at API Gateway.", ""]
    out += ["### The burst, in total", "",
            "| burst | design | requests | served | refused (worst minute) | reports refused "
            "| minutes refusing | max queued | worst p99 (minutes over 1 s) "
            "| peak instances / concurrency | cold starts |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s, pair in ctx["runs"].items():
        for r in pair + (ctx["slow_runs"][s],):
            t = totals(r)
            cold = "–" if t["cold_starts"] is None else fmt_n(t["cold_starts"])
            out.append(f"| ×{s:g} | {r.design} | {bm.fmt_n(t['offered'])} | {bm.fmt_n(t['served'])} | "
                       f"{bm.fmt_n(t['refused'])} = {bm.fmt_pct(t['refused'], t['offered'])} "
                       f"({bm.fmt_n(t['worst_minute_refused'])}) | "
                       f"{bm.fmt_pct(t['reports_refused'], t['reports'])} of {bm.fmt_n(t['reports'])} | {t['minutes_refusing']} | "
                       f"{bm.fmt_n(t['max_queued'])} | {fmt_ms(t['worst_p99_ms'])} ({t['minutes_p99_over_1s']}) | "
                       f"{t['peak_units']:.0f} | {cold} |")
    out += ["", "×N: N times the profile's visitors above its baseline. The third row of each burst is the "
            "same environment with a 5-minute alarm period (CloudWatch basic monitoring), for comparison.", "",
            "### A month's cost", "", "| design | " + " | ".join(ctx["costs"]) + " |",
            "|---|" + "---:|" * len(ctx["costs"])]
    rows = [(f"Elastic Beanstalk ({pol.instance_type} + ALB)", lambda v: v[0]),
            ("Lambda + HTTP API", lambda v: v[1]["http"]), ("Lambda + REST API", lambda v: v[1]["rest"])]
    for name, get in rows:
        out.append(f"| {name} | " + " | ".join(cost_model.fmt_dollars(get(v)) for v in ctx["costs"].values()) + " |")
    start = burst_start(p) - 5
    shown = ctx["runs"] if step_min == 1 else {max(ctx["runs"]): ctx["runs"][max(ctx["runs"])]}
    for s, (eb, lam) in shown.items():
        every = "" if step_min == 1 else f", every {step_min} minutes"
        out += ["", f"### Per minute, burst ×{s:g}, {bm.clock(start)}–{bm.clock(start + WINDOW_MIN)}{every} "
                "(requests per minute; the whole day is in minutes.csv)", "",
                "| time | offered (reports) | EB in service (+booting) | EB CPU | EB served | EB refused | EB queued | EB p99 "
                "| λ concurrency | λ served | λ throttled | λ cold | λ p99 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for a, b in zip(eb.minutes[start:start + WINDOW_MIN:step_min],
                        lam.minutes[start:start + WINDOW_MIN:step_min]):
            boot = f" (+{a.pending:.0f})" if a.pending else ""
            out.append(f"| {bm.clock(a.minute)} | {a.offered:,.0f} ({a.reports_offered:,.0f}) | {a.units:.0f}{boot} | {a.cpu_pct:.0f}% | "
                       f"{a.served:,.0f} | {a.refused:,.0f} | {a.queued:,.0f} | {fmt_ms(a.p99_ms)} | "
                       f"{b.units:.1f} | {b.served:,.0f} | {b.refused:,.0f} | {b.pending:.1f} | {fmt_ms(b.p99_ms)} |")
    return "\n".join(out)


def fmt_n(x):
    return bm.fmt_n(x)


def plot(res, out_dir):
    """Offered load, capacity and refused requests over the burst, both designs, every scale:
    writes burst.png and burst.svg; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ctx = res["ctx"]
    runs = ctx["runs"]
    start = burst_start(ctx["profile"]) - 15
    end = start + 6 * 60
    fig, axes = plt.subplots(2, len(runs), figsize=(4.2 * len(runs), 6.4), sharex=True, squeeze=False)
    for col, (s, pair) in enumerate(runs.items()):
        for row, r in enumerate(pair):
            ax = axes[row][col]
            ms = r.minutes[start:end]
            x = [m.minute / 60 for m in ms]
            ax.plot(x, [m.offered / 60 for m in ms], color="black", lw=1.2, label="offered")
            ax.step(x, [m.capacity_rps for m in ms], where="post", color="tab:blue", lw=1.2,
                    label="capacity (EB: p99 ≤ 1 s)" if row == 0 else "capacity (concurrency ÷ duration)")
            if row == 0:
                per_instance = ctx["inputs"].cores * 1000 / bm.mix_cpu_ms(ctx["profile"], ctx["inputs"])
                ax.step(x, [m.units * per_instance for m in ms], where="post", color="tab:blue", lw=0.8,
                        ls="--", label="CPU-bound rate (slower above p99 ≤ 1 s)")
            ax.fill_between(x, 0, [m.refused / 60 for m in ms], color="tab:red", alpha=0.6,
                            label="refused (EB: 503, Lambda: throttled)")
            ax.set_yscale("symlog", linthresh=1)
            ax.set_title(f"{r.design}, burst ×{s:g}", fontsize=9)
            ax.grid(alpha=0.3)
            if col == 0:
                ax.set_ylabel("requests/s")
            if row == 1:
                ax.set_xlabel("hour of the day")
            ax.legend(fontsize=6.5, loc="center right")
    fig.suptitle(f"Profile {ctx['profile']['name']}: offered load, capacity and refused requests", fontsize=10)
    fig.tight_layout()
    paths = [os.path.join(out_dir, "burst.png"), os.path.join(out_dir, "burst.svg")]
    fig.savefig(paths[0], dpi=110)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths
