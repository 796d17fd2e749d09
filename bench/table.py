#!/usr/bin/env python3
"""Renders bench/run's results.json as the Markdown tables of the load-test baseline (stdlib only).

Usage: bench/table.py RESULTS.json
"""
import json
import statistics
import sys

# gzip, zlib and deflate at one level share one compression (sizes derived from deflate's).
DEFLATE_FAMILY = {"gzip", "zlib", "deflate"}


def fmt_ms(ms):
    """Milliseconds with three significant figures, in µs below 1 ms."""
    if ms is None:
        return "–"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 100:
        return f"{ms:.1f} ms"
    return f"{ms:.0f} ms"


def fmt_rps(rps):
    return f"{rps:,.0f}" if rps >= 100 else f"{rps:.2f}"


def fmt_ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "–"


def fmt_errors(run):
    """non-2xx / socket errors, bold when either is non-zero so it cannot be missed."""
    text = f"{run['non2xx']} / {run['socket_errors']}"
    return f"**{text}**" if run["non2xx"] or run["socket_errors"] else text


def cpu_per_request_ms(run):
    """Server CPU time (user + system, all threads) per completed request, or None."""
    if run.get("server_cpu_ms") is None or not run["requests"]:
        return None
    return run["server_cpu_ms"] / run["requests"]


def fmt_busy(run, wall_ms):
    """The load generator's CPU time as a share of one core over the measured time: near 100 %,
    wrk (one thread) is the bottleneck and req/s measures the client as much as the server."""
    if run.get("client_cpu_ms") is None:
        return "–"
    return f"{100 * run['client_cpu_ms'] / wall_ms:.0f}%"


def fmt_mib(kib):
    return f"{kib / 1024:.1f} MiB"


def fmt_size(nbytes):
    if nbytes >= 1 << 20:
        return f"{nbytes / (1 << 20):g} MiB"
    return f"{nbytes / 1024:g} KiB"


def codec_tasks(report):
    """Single-thread report entries → {task label: ms}, one entry per distinct compression."""
    tasks = {}
    for r in report["results"]:
        if r["codec"] in DEFLATE_FAMILY:
            label = f"deflate-family:{r['level']}"
        else:
            label = f"{r['codec']}:{r['level']}"
        tasks[label] = r["compress_ms"]
    return tasks


def summarize_rounds(tiny):
    """Adds each TinySite measurement's summary over tiny["rounds"]: the median of the rounds'
    req/s, p50 and p99; requests, errors and server CPU time summed (so CPU per request is the
    whole run's); the median of server_elapsed_ms."""
    for key in ("compresstest", "nginx", "loaded", "loaded_background"):
        runs = [r[key] for r in tiny["rounds"]]
        summary = {k: statistics.median(run[k] for run in runs) for k in ("rps", "p50_ms", "p99_ms")}
        for k in ("requests", "non2xx", "socket_errors"):
            summary[k] = sum(run[k] for run in runs)
        for k in ("server_cpu_ms", "client_cpu_ms"):
            cpu = [run[k] for run in runs if run.get(k) is not None]
            summary[k] = sum(cpu) if len(cpu) == len(runs) else None
        elapsed = [run["server_elapsed_ms"] for run in runs if run["server_elapsed_ms"] is not None]
        summary["server_elapsed_ms"] = statistics.median(elapsed) if elapsed else None
        tiny[key] = summary


def per_round_line(rounds, a, b, text, key):
    """One line with A's and B's figure in every round and their ratio, so noise shows."""
    fmt = fmt_rps if key == "rps" else fmt_ms
    parts = [
        f"{fmt(r[a][key])} vs {fmt(r[b][key])} ({fmt_ratio(r[a][key], r[b][key])})" for r in rounds
    ]
    return f"Each round, {text}: " + "; ".join(parts) + "."


def render(res):
    out = []
    host = res["host"]
    dur = res["wrk_duration_s"]
    out.append(f"## compresstest load-test baseline — {res['date']}")
    out.append("")
    out.append(
        f"{host['cpu']}, nproc = {host['nproc']}; wrk runs on the same cores as the servers; "
        f"load average {host['loadavg_start']} at the start, {host['loadavg_end']} at the end "
        "(anything above 0 is other work on this machine competing for the cores)."
    )
    busiest = max(float(host[k].split()[0]) for k in ("loadavg_start", "loadavg_end"))
    if busiest > host["nproc"] / 2:
        out.append(
            f"**The machine was busy** (1-minute load average up to {busiest:g} on {host['nproc']} "
            "cores): req/s and latencies are lower and noisier than on an idle machine; the CPU "
            "time per request is the steadier figure."
        )
    out.append("Errors columns: non-2xx responses / socket errors (connect, read, write, timeout).")
    out.append("")

    t = res["tiny"]
    ct, ngx = t["compresstest"], t["nginx"]
    rounds = t["rounds"]
    out.append(
        f"### TinySite, keep-alive (`wrk -t1 -c64 -d{t['duration_s']}s --latency`, GET /tiny; "
        f"median of {len(rounds)} interleaved rounds)"
    )
    out.append("")
    out.append(
        "| server | req/s | p50 | p99 | server CPU per request | wrk's CPU busy | response bytes "
        "| peak RSS | errors |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    wall_ms = len(rounds) * t["duration_s"] * 1000
    out.append(
        f"| compresstest | {fmt_rps(ct['rps'])} | {fmt_ms(ct['p50_ms'])} | {fmt_ms(ct['p99_ms'])} "
        f"| {fmt_ms(cpu_per_request_ms(ct))} | {fmt_busy(ct, wall_ms)} "
        f"| {t['compresstest_response_nbytes']} | {fmt_mib(t['compresstest_peak_rss_kib'])} "
        f"| {fmt_errors(ct)} |"
    )
    out.append(
        f"| nginx 1.22 (2 workers, same {t['body_nbytes']}-byte body from a file) "
        f"| {fmt_rps(ngx['rps'])} | {fmt_ms(ngx['p50_ms'])} | {fmt_ms(ngx['p99_ms'])} "
        f"| {fmt_ms(cpu_per_request_ms(ngx))} | {fmt_busy(ngx, wall_ms)} "
        f"| {t['nginx_response_nbytes']} | – | {fmt_errors(ngx)} |"
    )
    ct_cpu, ngx_cpu = cpu_per_request_ms(ct), cpu_per_request_ms(ngx)
    out.append(
        f"| **compresstest ÷ nginx** | {fmt_ratio(ct['rps'], ngx['rps'])} "
        f"| {fmt_ratio(ct['p50_ms'], ngx['p50_ms'])} | {fmt_ratio(ct['p99_ms'], ngx['p99_ms'])} "
        f"| {fmt_ratio(ct_cpu, ngx_cpu)} | | | | |"
    )
    out.append("")
    out.append(per_round_line(rounds, "compresstest", "nginx", "req/s of compresstest vs nginx", "rps"))
    out.append("")
    out.append(
        "wrk drives the load from one thread (`-t1`) on the same cores: where its CPU is near 100 % "
        "of a core, the client caps req/s for either server, and the server CPU per request is the "
        "fairer comparison of the two."
    )
    out.append("")

    loaded, bg = t["loaded"], t["loaded_background"]
    out.append(
        "### TinySite while POST /compress is saturated "
        f"(second wrk: `-t1 -c4`, 3 MiB text uploads)"
    )
    out.append("")
    out.append("| /compress | TinySite req/s | p50 | p99 | errors | reports/s alongside | report p50 | report errors |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    out.append(
        f"| idle | {fmt_rps(ct['rps'])} | {fmt_ms(ct['p50_ms'])} | {fmt_ms(ct['p99_ms'])} "
        f"| {fmt_errors(ct)} | – | – | – |"
    )
    out.append(
        f"| saturated | {fmt_rps(loaded['rps'])} | {fmt_ms(loaded['p50_ms'])} "
        f"| {fmt_ms(loaded['p99_ms'])} | {fmt_errors(loaded)} | {fmt_rps(bg['rps'])} "
        f"| {fmt_ms(bg['p50_ms'])} | {fmt_errors(bg)} |"
    )
    out.append(
        f"| **saturated ÷ idle** | {fmt_ratio(loaded['rps'], ct['rps'])} "
        f"| {fmt_ratio(loaded['p50_ms'], ct['p50_ms'])} | {fmt_ratio(loaded['p99_ms'], ct['p99_ms'])} "
        "| | | | |"
    )
    out.append("")
    out.append(per_round_line(rounds, "loaded", "compresstest", "TinySite p99 saturated vs idle", "p99_ms"))
    out.append(f"\nPeak RSS of that server: {fmt_mib(t['loaded_peak_rss_kib'])}.")
    out.append("")

    c8_long = max(r["c8_duration_s"] for r in res["reports"])
    out.append(
        "### Reports, default panel (multipart `fileUpload` to POST /compress, `wrk -t1 --latency`, "
        f"{dur} s; {c8_long} s for 8 connections on inputs over 1 MB; one server per input, "
        "peak RSS over both runs)"
    )
    out.append("")
    out.append(
        "| input | connections | req/s | input MB/s | p50 | p99 | server `elapsed_ms` (mean) "
        "| server CPU per request | errors | peak RSS |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res["reports"]:
        for conns in ("c1", "c8"):
            run = r[conns]
            mbps = run["rps"] * r["input_nbytes"] / 1e6
            out.append(
                f"| {r['name']} ({fmt_size(r['input_nbytes'])}) | {conns[1:]} | {fmt_rps(run['rps'])} "
                f"| {mbps:.1f} | {fmt_ms(run['p50_ms'])} | {fmt_ms(run['p99_ms'])} "
                f"| {fmt_ms(run['server_elapsed_ms'])} | {fmt_ms(cpu_per_request_ms(run))} "
                f"| {fmt_errors(run)} "
                f"| {fmt_mib(r['peak_rss_kib']) if conns == 'c8' else ''} |"
            )
    out.append("")

    nproc = host["nproc"]
    out.append(
        "### Codec limit (same inputs and panel; `compresstest report --json`, median `elapsed_ms` "
        "of 5 runs, like the 1-connection p50 it is compared with; CPU time = median user + system, "
        "less "
        f"the CLI's start-up of {fmt_ms(res['cli_startup_cpu_ms'])})"
    )
    out.append("")
    out.append(
        f"| input | single-thread codec time (its CPU time) | limit = ÷ {nproc} cores "
        "| longest single task "
        f"| CLI on {nproc} threads | server `elapsed_ms`, 1 conn | 1-conn p50 | **p50 ÷ limit** "
        f"| p50 ÷ CLI on {nproc} threads | throughput limit | 8-conn req/s ÷ limit |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res["reports"]:
        tasks = codec_tasks(r["single_thread_report"])
        # bzip2's blocks run in parallel, so it is not one indivisible task.
        longest = max((ms, name) for name, ms in tasks.items() if not name.startswith("bzip2"))
        limit_rps = nproc * 1000 / r["single_thread_ms"]
        out.append(
            f"| {r['name']} | {fmt_ms(r['single_thread_ms'])} ({fmt_ms(r['single_thread_cpu_ms'])}) "
            f"| {fmt_ms(r['codec_limit_ms'])} "
            f"| {fmt_ms(longest[0])} ({longest[1]}) | {fmt_ms(r['cli_all_cores_ms'])} "
            f"| {fmt_ms(r['c1']['server_elapsed_ms'])} | {fmt_ms(r['c1']['p50_ms'])} "
            f"| **{fmt_ratio(r['c1']['p50_ms'], r['codec_limit_ms'])}** "
            f"| {fmt_ratio(r['c1']['p50_ms'], r['cli_all_cores_ms'])} "
            f"| {fmt_rps(limit_rps)} req/s | {fmt_ratio(r['c8']['rps'], limit_rps)} |"
        )
    out.append("")
    out.append(
        f"The limit assumes {nproc} whole cores. The CLI running the same panel on {nproc} threads "
        "shows what this machine's cores give in parallel (virtual CPUs that share a physical "
        "core, or are shared with other work, give less); p50 ÷ CLI is the server's own overhead: "
        "receiving the upload, parsing the form, answering."
    )
    out.append("")
    out.append("Where the single-thread time goes (ms per distinct compression; "
               "gzip/zlib/deflate at one level are one compression):")
    out.append("")
    for r in res["reports"]:
        tasks = codec_tasks(r["single_thread_report"])
        total = sum(tasks.values())
        parts = ", ".join(
            f"{name} {ms:g} ({100 * ms / total:.0f}%)"
            for name, ms in sorted(tasks.items(), key=lambda kv: -kv[1])
        )
        out.append(f"- {r['name']}: {parts}")
    return "\n".join(out)


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        print(render(json.load(f)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
