#!/usr/bin/env python3
"""Renders bench/run's results.json as the Markdown tables of the load-test baseline (stdlib only).

Usage: bench/table.py RESULTS.json
"""
import json
import os
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
    """Adds each TinySite measurement's summary over tiny["rounds"] (every key of a round): the
    median of the rounds' req/s, p50 and p99; requests, errors and server CPU time summed (so CPU
    per request is the whole run's); the median of server_elapsed_ms."""
    for key in tiny["rounds"][0]:
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


def parse_strace_table(text):
    """strace -c's table → {syscall: calls}, the total row left out."""
    calls = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[0][0].isdigit() or fields[-1] == "total":
            continue
        calls[fields[-1]] = int(fields[3])
    return calls


def distinct_work_ms(report):
    """{distinct compression: CPU ms it costs the server} from a report's JSON: each entry's
    median compress_ms × runs plus median decompress_ms × decompress_runs (the server repeats both
    to its timing floor and decompresses to verify), once per distinct compression (gzip, zlib and
    deflate at one level share one)."""
    work = {}
    for r in report["results"]:
        label = f"deflate-family:{r['level']}" if r["codec"] in DEFLATE_FAMILY else f"{r['codec']}:{r['level']}"
        work[label] = (r["compress_ms"] * r.get("runs", 1)
                       + (r.get("decompress_ms") or 0) * r.get("decompress_runs", 1))
    return work


def codec_limit_ms(report, nproc):
    """The codec limit: the CPU time of the server's codec work on that input ÷ the cores."""
    return sum(distinct_work_ms(report).values()) / nproc


def summarize(res, out_dir):
    """Adds to bench/run's results.json what the table reads: the TinySite rounds' summaries,
    syscalls per request from the strace tables in out_dir, and every report's codec limit."""
    summarize_rounds(res["tiny"])
    for name, s in res.get("syscalls", {}).items():
        with open(os.path.join(out_dir, s["table"]), encoding="utf-8") as f:
            s["calls"] = parse_strace_table(f.read())
    nproc = res["host"]["nproc"]
    for r in res["reports"] + ([res["original_panel"]] if "original_panel" in res else []):
        r["codec_limit_ms"] = codec_limit_ms(r["single_thread_report"], nproc)


def per_round_line(rounds, a, b, text, key):
    """One line with A's and B's figure in every round and their ratio, so noise shows."""
    fmt = fmt_rps if key == "rps" else fmt_ms
    parts = [
        f"{fmt(r[a][key])} vs {fmt(r[b][key])} ({fmt_ratio(r[a][key], r[b][key])})" for r in rounds
    ]
    return f"Each round, {text}: " + "; ".join(parts) + "."


def per_round_ratio_line(rounds, a, b, text, value):
    """One line with value(run of A) ÷ value(run of B) in every round, so noise shows."""
    parts = [fmt_ratio(value(r[a]), value(r[b])) for r in rounds]
    return f"Each round, {text}: " + ", ".join(parts) + "."


def fmt_us(ms):
    return "–" if ms is None else f"{ms * 1000:.2f} µs"


def target_row(what, value, ok, detail=""):
    verdict = "–" if ok is None else ("yes" if ok else "**no**")
    return f"| {what} | {value}{detail} | {verdict} |"


def render(res):
    out = []
    host = res["host"]
    dur = res["wrk_duration_s"]
    nproc = host["nproc"]
    out.append(f"## compresstest load-test baseline — {res['date']}")
    out.append("")
    pin = (f"pinned runs: each server on CPU {host['server_cpu']}, wrk on CPU {host['client_cpu']}"
           if host.get("server_cpu", "none") != "none" else "one CPU: nothing pinned")
    out.append(
        f"{host['cpu']}, nproc = {nproc}; {pin}; load average {host['loadavg_start']} at the "
        f"start, {host['loadavg_end']} at the end (anything above 0 is other work on this machine "
        "competing for the cores)."
    )
    busiest = max(float(host[k].split()[0]) for k in ("loadavg_start", "loadavg_end"))
    if busiest > nproc / 2:
        out.append(
            f"**The machine was busy** (1-minute load average up to {busiest:g} on {nproc} "
            "cores): req/s and latencies are lower and noisier than on an idle machine; the CPU "
            "time per request is the steadier figure."
        )
    out.append("Errors columns: non-2xx responses / socket errors (connect, read, write, timeout).")
    out.append("")

    t = res["tiny"]
    rounds = t["rounds"]
    ct, ngx, go, floor = t["compresstest"], t["nginx"], t["go"], t["floor"]
    wall_ms = len(rounds) * t["duration_s"] * 1000
    out.append(
        f"### TinySite, keep-alive, pinned (`wrk -t1 -c64 -d{t['duration_s']}s --latency`, GET "
        f"/tiny; median of {len(rounds)} interleaved rounds; CPU per request = the server's user + "
        "system time, every thread and process, from /proc, ÷ requests)"
    )
    out.append("")
    out.append("| server | req/s | p50 | p99 | server CPU per request | wrk's CPU busy | response bytes | errors |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = [
        ("compresstest", ct, t["compresstest_response_nbytes"]),
        (f"nginx ({t['nginx_workers']} worker, same {t['body_nbytes']}-byte body from a file)", ngx,
         t["nginx_response_nbytes"]),
        ("Go peer (net/http, same bytes)", go, t["compresstest_response_nbytes"]),
        ("floor (epoll, recv + send, no parsing; same bytes)", floor, t["compresstest_response_nbytes"]),
    ]
    for name, run, nbytes in rows:
        out.append(
            f"| {name} | {fmt_rps(run['rps'])} | {fmt_ms(run['p50_ms'])} | {fmt_ms(run['p99_ms'])} "
            f"| {fmt_us(cpu_per_request_ms(run))} | {fmt_busy(run, wall_ms)} | {nbytes} "
            f"| {fmt_errors(run)} |"
        )
    ct_cpu = cpu_per_request_ms(ct)
    for name, run in (("floor", floor), ("nginx", ngx), ("Go peer", go)):
        out.append(
            f"| **compresstest ÷ {name}** | {fmt_ratio(ct['rps'], run['rps'])} "
            f"| {fmt_ratio(ct['p50_ms'], run['p50_ms'])} | {fmt_ratio(ct['p99_ms'], run['p99_ms'])} "
            f"| **{fmt_ratio(ct_cpu, cpu_per_request_ms(run))}** | | | |"
        )
    out.append("")
    out.append(per_round_ratio_line(rounds, "compresstest", "floor",
                                    "CPU per request of compresstest ÷ the floor", cpu_per_request_ms))
    out.append(per_round_ratio_line(rounds, "compresstest", "nginx",
                                    "CPU per request of compresstest ÷ nginx", cpu_per_request_ms))
    out.append(per_round_line(rounds, "compresstest", "nginx", "req/s of compresstest vs nginx", "rps"))
    out.append(per_round_line(rounds, "compresstest", "go", "req/s of compresstest vs the Go peer", "rps"))
    out.append("")
    out.append(
        "wrk drives the load from one thread (`-t1`): where its CPU is near 100 % of its core, the "
        "client caps req/s, and the server CPU per request is the figure that tells servers apart."
    )
    out.append("")

    if "compresstest_pipelined" in t:
        depth = t["pipeline_depth"]
        out.append(
            f"### TinySite, pipelined {depth} deep, pinned (as above, each wrk send {depth} GET "
            "/tiny requests, `bench/pipeline.lua`; wrk counts every response)"
        )
        out.append("")
        # wrk's latency figures are not kept for pipelined requests (it prints 0 for most
        # percentiles), so the table has none.
        out.append("| server | req/s | server CPU per request | errors |")
        out.append("|---|---:|---:|---:|")
        piped = {name: t[f"{name}_pipelined"] for name in ("compresstest", "nginx", "go", "floor")}
        for name, label in (("compresstest", "compresstest"), ("nginx", "nginx"),
                            ("go", "Go peer"), ("floor", "floor")):
            run = piped[name]
            out.append(f"| {label} | {fmt_rps(run['rps'])} "
                       f"| {fmt_us(cpu_per_request_ms(run))} | {fmt_errors(run)} |")
        ct_piped = cpu_per_request_ms(piped["compresstest"])
        for name, label in (("floor", "floor"), ("nginx", "nginx"), ("go", "Go peer")):
            run = piped[name]
            out.append(f"| **compresstest ÷ {label}** | {fmt_ratio(piped['compresstest']['rps'], run['rps'])} "
                       f"| **{fmt_ratio(ct_piped, cpu_per_request_ms(run))}** | |")
        out.append("")
        out.append(per_round_ratio_line(rounds, "compresstest_pipelined", "floor_pipelined",
                                        "CPU per pipelined request of compresstest ÷ the floor",
                                        cpu_per_request_ms))
        out.append("")

    fs = res.get("syscalls_full_speed")
    if fs:
        out.append("### Syscalls per /tiny request at full speed (perf's syscall tracepoints, "
                   f"pinned, {t['duration_s']} s each)")
        out.append("")
        out.append("| server | all | `epoll_wait` | reads that found nothing | others |")
        out.append("|---|---:|---:|---:|---:|")
        for peer, f in fs.items():
            n = f["requests"]
            out.append(f"| {peer} | {f['all'] / n:.2f} | {f['epoll_wait'] / n:.2f} "
                       f"| {f['failed_reads'] / n:.2f} "
                       f"| {(f['all'] - f['epoll_wait'] - f['failed_reads']) / n:.2f} |")
        out.append("")
        out.append("strace (below) stops the server at every call, so by the time it reads, the next "
                   "request has come: a read that finds nothing shows only at full speed.")
        out.append("")

    ui = res.get("user_instructions")
    if ui:
        out.append("### User-space instructions per /tiny request (callgrind; one connection, one "
                   "request at a time, so each takes the same path)")
        out.append("")
        out.append("| server | instructions per request | ÷ the floor |")
        out.append("|---|---:|---:|")
        per = {peer: u["instructions"] / u["requests"] for peer, u in ui.items()}
        for peer, v in per.items():
            ratio = f"{v / per['floor']:.2f}×" if per.get("floor") else "–"
            out.append(f"| {peer} | {v:,.0f} | {ratio} |")
        out.append("")
        out.append("Counted, not timed: the same build gives the same count on a busy machine. Most "
                   "of a request's CPU time is the kernel's, which this does not count.")
        out.append("")

    sc = res.get("syscalls")
    if sc:
        def per_request(s, name):
            return s["calls"].get(name, 0) / s["requests"]

        names = sorted({n for s in sc.values() for n in s["calls"]},
                       key=lambda n: -max(per_request(s, n) for s in sc.values()))
        shown = [n for n in names if max(per_request(s, n) for s in sc.values()) >= 0.05]
        out.append(f"### Syscalls per /tiny request (`strace -f -c`, pinned, over "
                   f"{min(s['requests'] for s in sc.values()):,}+ requests each; "
                   "the time strace attaches and detaches included)")
        out.append("")
        out.append("| server | all | " + " | ".join(f"`{n}`" for n in shown) + " | others |")
        out.append("|---|---:|" + "---:|" * (len(shown) + 1))
        for peer, s in sc.items():
            total = sum(s["calls"].values()) / s["requests"]
            listed = [per_request(s, c) for c in shown]
            out.append(f"| {peer} | {total:.2f} | " + " | ".join(f"{v:.2f}" for v in listed)
                       + f" | {total - sum(listed):.2f} |")
        out.append("")

    idle, loaded, bg = t["idle"], t["loaded"], t["loaded_background"]
    h_idle, h_loaded = t["healthz_idle"], t["healthz_loaded"]
    out.append(
        "### Quick routes while POST /compress saturates every core (unpinned; second wrk: "
        "`-t1 -c4`, 3 MiB text uploads)"
    )
    out.append("")
    out.append("| route | /compress | req/s | p50 | p99 | errors |")
    out.append("|---|---|---:|---:|---:|---:|")
    for route, a, b in (("/tiny", idle, loaded), ("/healthz", h_idle, h_loaded)):
        out.append(f"| {route} | idle | {fmt_rps(a['rps'])} | {fmt_ms(a['p50_ms'])} | {fmt_ms(a['p99_ms'])} | {fmt_errors(a)} |")
        out.append(f"| {route} | saturated | {fmt_rps(b['rps'])} | {fmt_ms(b['p50_ms'])} | {fmt_ms(b['p99_ms'])} | {fmt_errors(b)} |")
        out.append(f"| {route} | **saturated ÷ idle** | {fmt_ratio(b['rps'], a['rps'])} "
                   f"| {fmt_ratio(b['p50_ms'], a['p50_ms'])} | **{fmt_ratio(b['p99_ms'], a['p99_ms'])}** | |")
    out.append("")
    out.append(per_round_line(rounds, "loaded", "idle", "/tiny p99 saturated vs idle", "p99_ms"))
    out.append(per_round_line(rounds, "healthz_loaded", "healthz_idle", "/healthz p99 saturated vs idle", "p99_ms"))
    out.append(f"\nReports alongside: {fmt_rps(bg['rps'])}/s, p50 {fmt_ms(bg['p50_ms'])}, errors "
               f"{fmt_errors(bg)}; peak RSS of that server: {fmt_mib(t['loaded_peak_rss_kib'])}.")
    out.append("")

    c8_long = max(r["c8_duration_s"] for r in res["reports"])
    out.append(
        "### Reports, default panel (multipart `fileUpload` to POST /compress, `wrk -t1 --latency`, "
        f"{dur} s; {c8_long} s for 8 connections on inputs over 1 MB; one server per input, "
        "peak RSS over both runs; compute threads at normal priority, no per-client cap)"
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

    op = res.get("original_panel")
    out.append(
        "### The report at the codec limit (1 connection; codec limit = the CPU time of the "
        "server's codec work on that input — every distinct compression's median `compress_ms` × "
        "`runs` plus its median `decompress_ms` × `decompress_runs`, from `compresstest report "
        f"--json --threads 1 --timing-floor-ms {res['timing_floor_ms']}` (the server's default "
        f"timing floor), median of {res['reports'][0]['cli_runs']} runs — ÷ {nproc} cores)"
    )
    out.append("")
    out.append(
        f"| input, panel | codec CPU (CLI process CPU) | **limit** | longest single task "
        f"| CLI on {nproc} threads | server `elapsed_ms` | 1-conn p50 | **p50 ÷ limit** "
        f"| p50 ÷ CLI on {nproc} threads |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    panels = [(r, f"{r['name']}, default") for r in res["reports"]]
    if op:
        op_row = dict(op, name=op["input"], c1=op["compresstest"])
        panels.append((op_row, f"{op['input']}, `{op['codecs']}`"))
    for r, label in panels:
        work = distinct_work_ms(r["single_thread_report"])
        # bzip2's blocks run in parallel, so it is not one indivisible task.
        longest = max((ms, name) for name, ms in work.items() if not name.startswith("bzip2"))
        out.append(
            f"| {label} | {fmt_ms(sum(work.values()))} ({fmt_ms(r['single_thread_cpu_ms'])}) "
            f"| {fmt_ms(r['codec_limit_ms'])} | {fmt_ms(longest[0])} ({longest[1]}) "
            f"| {fmt_ms(r['cli_all_cores_ms'])} | {fmt_ms(r['c1']['server_elapsed_ms'])} "
            f"| {fmt_ms(r['c1']['p50_ms'])} | **{fmt_ratio(r['c1']['p50_ms'], r['codec_limit_ms'])}** "
            f"| {fmt_ratio(r['c1']['p50_ms'], r['cli_all_cores_ms'])} |"
        )
    out.append("")
    out.append(
        f"The limit assumes {nproc} whole cores. The CLI running the same panel on {nproc} threads "
        "shows what this machine's cores give in parallel (virtual CPUs that share a physical "
        "core, or are shared with other work, give less); p50 ÷ CLI is the server's own overhead: "
        "receiving the upload, parsing the form, answering."
    )
    out.append("")
    out.append("Where the codec CPU goes (ms per distinct compression, compression and "
               "decompression with their repeats; gzip/zlib/deflate at one level are one compression):")
    out.append("")
    for r, label in panels:
        work = distinct_work_ms(r["single_thread_report"])
        total = sum(work.values())
        parts = ", ".join(f"{name} {ms:.1f} ({100 * ms / total:.0f}%)"
                          for name, ms in sorted(work.items(), key=lambda kv: -kv[1]))
        out.append(f"- {label}: {parts}")
    out.append("")

    if op:
        ours, peer = op["compresstest"], op["go"]
        out.append(
            f"### The original panel against the Go peer ({op['input']}, 3 MiB, "
            f"`codecs={op['codecs']}`, 1 connection, {dur} s each, unpinned)"
        )
        out.append("")
        out.append("| server | req/s | p50 | p99 | server CPU per request | peak RSS | errors |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        rows = [("compresstest (compute threads at normal priority)", ours,
                 fmt_mib(op["compresstest_peak_rss_kib"])),
                ("Go peer (gzip, flate, cgo libbz2; one goroutine per codec)", peer,
                 fmt_mib(op["go_peak_rss_kib"]))]
        if "compresstest_idle_priority" in op:
            rows.append(("compresstest, defaults (compute threads at idle priority)",
                         op["compresstest_idle_priority"], "–"))
        for name, run, rss in rows:
            out.append(f"| {name} | {fmt_rps(run['rps'])} | {fmt_ms(run['p50_ms'])} | {fmt_ms(run['p99_ms'])} "
                       f"| {fmt_ms(cpu_per_request_ms(run))} | {rss} | {fmt_errors(run)} |")
        out.append(f"| **Go ÷ compresstest** | {fmt_ratio(peer['rps'], ours['rps'])} "
                   f"| **{fmt_ratio(peer['p50_ms'], ours['p50_ms'])}** | {fmt_ratio(peer['p99_ms'], ours['p99_ms'])} "
                   f"| {fmt_ratio(cpu_per_request_ms(peer), cpu_per_request_ms(ours))} | | |")
        out.append("")
        out.append("compresstest also decompresses and verifies each entry and times both to the "
                   "timing floor; the Go peer only compresses. At idle priority, other work on the "
                   "machine comes first: the gap between the two compresstest rows is that work.")
        out.append("")

    ls = res.get("lambda_startup")
    if ls:
        out.append(f"### Lambda start-up (`compresstest lambda` against the tests' Runtime API "
                   f"stand-in on loopback, {ls['runs']} cold starts, an event for GET /tiny queued)")
        out.append("")
        out.append("| from exec to | median | max |")
        out.append("|---|---:|---:|")
        out.append(f"| the first `/runtime/invocation/next` request | {fmt_ms(ls['to_first_next_median_ms'])} "
                   f"| {fmt_ms(ls['to_first_next_max_ms'])} |")
        out.append(f"| the first response posted | {fmt_ms(ls['to_first_response_median_ms'])} "
                   f"| {fmt_ms(ls['to_first_response_max_ms'])} |")
        out.append("")

    out.append("### The targets, in this run")
    out.append("")
    out.append("| target | this run | met? |")
    out.append("|---|---:|---|")

    def rounds_of(a, b, value):
        vals = [value(r[a]) / value(r[b]) for r in rounds if value(r[a]) and value(r[b])]
        return " (rounds " + ", ".join(f"{v:.2f}" for v in vals) + ")"

    def ratio(a, b):
        return a / b if a and b else None

    cpu_floor = ratio(ct_cpu, cpu_per_request_ms(floor))
    cpu_ngx = ratio(ct_cpu, cpu_per_request_ms(ngx))
    out.append(target_row("/tiny CPU per request ≤ 1.10 × the floor", fmt_ratio(ct_cpu, cpu_per_request_ms(floor)),
                          cpu_floor is not None and cpu_floor <= 1.10,
                          rounds_of("compresstest", "floor", cpu_per_request_ms)))
    out.append(target_row("/tiny CPU per request ≤ 0.75 × nginx", fmt_ratio(ct_cpu, cpu_per_request_ms(ngx)),
                          cpu_ngx is not None and cpu_ngx <= 0.75,
                          rounds_of("compresstest", "nginx", cpu_per_request_ms)))
    out.append(target_row("/tiny req/s, compresstest ÷ nginx", fmt_ratio(ct["rps"], ngx["rps"]), None,
                          rounds_of("compresstest", "nginx", lambda x: x["rps"])))
    out.append(target_row("/tiny req/s, compresstest ÷ Go peer", fmt_ratio(ct["rps"], go["rps"]), None,
                          rounds_of("compresstest", "go", lambda x: x["rps"])))
    if op:
        orig = ratio(op["compresstest"]["p50_ms"], op["codec_limit_ms"])
        out.append(target_row(f"3 MiB `{op['codecs']}` report ≤ 1.10 × its codec limit",
                              fmt_ratio(op["compresstest"]["p50_ms"], op["codec_limit_ms"]),
                              orig is not None and orig <= 1.10))
        vs_go = ratio(op["go"]["p50_ms"], op["compresstest"]["p50_ms"])
        out.append(target_row("the same report ≥ 1.6 × faster than the Go peer (Go p50 ÷ ours)",
                              fmt_ratio(op["go"]["p50_ms"], op["compresstest"]["p50_ms"]),
                              vs_go is not None and vs_go >= 1.6))
    big = max(res["reports"], key=lambda r: r["input_nbytes"])
    dflt = ratio(big["c1"]["p50_ms"], big["codec_limit_ms"])
    out.append(target_row(f"{big['name']} default-panel report ≤ 1.15 × its codec limit",
                          fmt_ratio(big["c1"]["p50_ms"], big["codec_limit_ms"]),
                          dflt is not None and dflt <= 1.15))
    for route, a, b in (("/tiny", "idle", "loaded"), ("/healthz", "healthz_idle", "healthz_loaded")):
        v = ratio(t[b]["p99_ms"], t[a]["p99_ms"])
        out.append(target_row(f"{route} p99 with reports saturating every core ≤ 2 × idle",
                              fmt_ratio(t[b]["p99_ms"], t[a]["p99_ms"]), v is not None and v <= 2,
                              rounds_of(b, a, lambda x: x["p99_ms"])))
    if ls:
        out.append(target_row("Lambda start-up, exec → first /next ≤ 20 ms (median; max)",
                              f"{fmt_ms(ls['to_first_next_median_ms'])}; {fmt_ms(ls['to_first_next_max_ms'])}",
                              ls["to_first_next_median_ms"] <= 20))
        out.append(target_row("Lambda start-up, exec → first response posted ≤ 20 ms (median; max)",
                              f"{fmt_ms(ls['to_first_response_median_ms'])}; {fmt_ms(ls['to_first_response_max_ms'])}",
                              ls["to_first_response_median_ms"] <= 20))
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
