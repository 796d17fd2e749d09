#!/usr/bin/env python3
"""Tests for bench/cost_model.py and bench/table.py on made-up measurements (stdlib unittest).

Run: python3 -m unittest discover -s bench -p 'test_*.py'
"""
import json
import math
import os
import unittest

import cost_model
import table

HERE = os.path.dirname(os.path.abspath(__file__))


def wrk_run(rps, p50_ms, server_ms=None, cpu_ms=None):
    return {"rps": rps, "p50_ms": p50_ms, "p99_ms": 2 * p50_ms, "requests": 100, "non2xx": 0,
            "socket_errors": 0, "server_elapsed_ms": server_ms, "server_cpu_ms": cpu_ms}


def single_thread_report():
    results = [("gzip", 6, 100.0), ("gzip", 9, 300.0), ("deflate", 9, 300.0), ("zlib", 9, 300.0),
               ("bzip2", 9, 600.0), ("zstd", 3, 20.0), ("brotli", 5, 130.0), ("lz4", 1, 10.0)]
    return {"results": [{"codec": c, "level": lv, "compress_ms": ms, "runs": 1,
                         "decompress_ms": 5.0, "decompress_runs": 4} for c, lv, ms in results],
            "elapsed_ms": 1170.0}


TINY_KEYS = ("compresstest", "nginx", "go", "floor", "compresstest_pipelined", "nginx_pipelined",
             "go_pipelined", "floor_pipelined", "idle", "loaded", "loaded_background",
             "healthz_idle", "healthz_loaded")


def strace_table(calls):
    rows = "".join(f" 10.00    0.001000           1 {n:9d}           {name}\n" for name, n in calls.items())
    return ("% time     seconds  usecs/call     calls    errors syscall\n"
            "------ ----------- ----------- --------- --------- ----------------\n" + rows +
            "------ ----------- ----------- --------- --------- ----------------\n"
            f"100.00    0.002000           1 {sum(calls.values()):9d}        12 total\n")


def results():
    return {
        "date": "2000-01-01T00:00:00Z",
        "host": {"nproc": 2, "cpu": "test", "loadavg_start": "0 0 0", "loadavg_end": "0 0 0",
                 "server_cpu": "1", "client_cpu": "0"},
        "wrk_duration_s": 10,
        "timing_floor_ms": 20,
        "cli_startup_cpu_ms": 70.0,
        "tiny": dict(
            {k: wrk_run(100000, 0.5, cpu_ms=700.0) for k in TINY_KEYS},
            body_nbytes=468, compresstest_response_nbytes=535, compresstest_peak_rss_kib=6000,
            go_peak_rss_kib=9000, nginx_response_nbytes=611, nginx_workers=1,
            loaded_peak_rss_kib=40000, duration_s=5, pipeline_depth=16,
            rounds=[{k: wrk_run(100000, 0.5, cpu_ms=700.0) for k in TINY_KEYS}]),
        "syscalls": {"compresstest": {"requests": 100, "calls": {"sendto": 100, "recvfrom": 100}}},
        "syscalls_full_speed": {"compresstest": {"requests": 100, "all": 310, "epoll_wait": 10,
                                                 "failed_reads": 100}},
        "user_instructions": {"compresstest": {"requests": 5000, "instructions": 8000000},
                              "floor": {"requests": 5000, "instructions": 2500000}},
        "reports": [{
            "name": "text-3m", "input_nbytes": 3145728, "c1": wrk_run(1.2, 800, 760),
            "c8": wrk_run(1.4, 5000, 4900), "c8_duration_s": 20, "peak_rss_kib": 60000,
            "cli_runs": 3, "single_thread_ms": 1170.0, "single_thread_cpu_ms": 1100.0, "cli_all_cores_ms": 600.0,
            "codec_limit_ms": 585.0, "single_thread_report": single_thread_report(),
        }],
        "original_panel": {
            "codecs": "gzip:9,deflate:9,bzip2:9", "input": "text-3m", "input_nbytes": 3145728,
            "compresstest": wrk_run(2.0, 480, 470), "go": wrk_run(1.0, 900, 890),
            "compresstest_idle_priority": wrk_run(1.5, 600, 590),
            "compresstest_peak_rss_kib": 50000, "go_peak_rss_kib": 30000, "cli_runs": 3,
            "single_thread_ms": 900.0, "single_thread_cpu_ms": 900.0, "cli_all_cores_ms": 460.0,
            "codec_limit_ms": 450.0, "single_thread_report": single_thread_report(),
        },
        "lambda_startup": {"runs": 3, "to_first_next_ms": [4.0, 5.0, 6.0],
                           "to_first_response_ms": [6.0, 7.0, 8.0], "to_first_next_median_ms": 5.0,
                           "to_first_next_max_ms": 6.0, "to_first_response_median_ms": 7.0,
                           "to_first_response_max_ms": 8.0},
    }


def prices():
    with open(os.path.join(HERE, "prices.json"), encoding="utf-8") as f:
        return json.load(f)


class CostModelTest(unittest.TestCase):
    def test_tiered_cost_charges_each_tier_at_its_own_price(self):
        tiers = [[300, 1.00], [None, 0.90]]
        self.assertAlmostEqual(cost_model.tiered_cost(100e6, tiers), 100.0)
        self.assertAlmostEqual(cost_model.tiered_cost(400e6, tiers), 300.0 + 90.0)

    def test_rounds_summarize_as_medians_with_counts_and_cpu_summed(self):
        rounds = [{k: wrk_run(rps, p50, cpu_ms=cpu) for k in
                   ("compresstest", "nginx", "loaded", "loaded_background")}
                  for rps, p50, cpu in ((100, 1.0, 10.0), (300, 0.2, 30.0), (200, 5.0, 20.0))]
        rounds[2]["nginx"]["non2xx"] = 4
        tiny = {"rounds": rounds}
        table.summarize_rounds(tiny)
        ct = tiny["compresstest"]
        self.assertEqual((ct["rps"], ct["p50_ms"], ct["p99_ms"]), (200, 1.0, 2.0))
        self.assertEqual((ct["requests"], ct["server_cpu_ms"]), (300, 60.0))
        self.assertEqual(tiny["nginx"]["non2xx"], 4)
        self.assertIsNone(ct["server_elapsed_ms"])
        line = table.per_round_line(rounds, "compresstest", "nginx", "req/s", "rps")
        self.assertEqual(line.count("(1.00×)"), 3)

    def test_shared_deflate_compression_is_counted_once(self):
        tasks = table.codec_tasks(single_thread_report())
        self.assertEqual(tasks["deflate-family:9"], 300.0)
        self.assertAlmostEqual(sum(tasks.values()), 1160.0)

    def test_lambda_duration_at_one_vcpu_is_single_thread_time_plus_overhead(self):
        self.assertAlmostEqual(cost_model.lambda_duration_ms(1460, 300, 40, 1769, 1769), 1500)
        # Two vCPUs halve the codec time, never below the longest indivisible task.
        self.assertAlmostEqual(cost_model.lambda_duration_ms(1460, 300, 40, 3538, 1769), 770)
        self.assertAlmostEqual(cost_model.lambda_duration_ms(1460, 1000, 0, 3538, 1769), 1000)

    def test_http_api_meters_a_3_mb_upload_as_seven_requests(self):
        p = prices()
        w = cost_model.workloads_from_results(results(), p, 1769)[1]
        lam = cost_model.lambda_monthly(1e6, w, p, "http")
        billed_s = math.ceil(w.lambda_duration_ms) / 1000
        expected = 0.20 + 1e6 * (1769 / 1024) * billed_s * p["lambda"]["gb_second_x86"] + 7 * 1.00
        self.assertAlmostEqual(lam, expected, places=6)

    def test_eb_keeps_min_instances_and_grows_with_volume(self):
        p = prices()
        a = cost_model.Assumptions()
        w = cost_model.workloads_from_results(results(), p, 1769)[1]
        _, n_small = cost_model.eb_monthly(1e3, w, "c7g.large", p, a)
        _, n_big = cost_model.eb_monthly(1e8, w, "c7g.large", p, a)
        self.assertEqual(n_small, a.min_instances)
        # 1e8/month = 38 req/s average, ×3 peak ÷ (1.4 req/s × 60%) → 137 instances.
        self.assertEqual(n_big, math.ceil(1e8 / (730 * 3600) * 3 / (1.4 * 0.6)))

    def test_break_even_is_where_the_costs_cross(self):
        p = prices()
        a = cost_model.Assumptions()
        w = cost_model.workloads_from_results(results(), p, 1769)[0]  # TinySite
        v = cost_model.break_even(w, "c7g.large", "http", p, a)
        self.assertIsNotNone(v)
        below, above = v * 0.99, v * 1.01
        self.assertLess(cost_model.lambda_monthly(below, w, p, "http"),
                        cost_model.eb_monthly(below, w, "c7g.large", p, a)[0])
        self.assertGreater(cost_model.lambda_monthly(above, w, p, "http"),
                           cost_model.eb_monthly(above, w, "c7g.large", p, a)[0])

    def test_cpu_basis_capacity_is_cores_over_cpu_per_request(self):
        res = results()
        res["reports"][0]["c8"]["server_cpu_ms"] = 100 * 1250.0  # 100 requests, 1.25 s CPU each
        w = cost_model.workloads_from_results(res, prices(), 1769, "cpu")[1]
        self.assertAlmostEqual(w.capacity_rps, 2 * 1000 / 1250.0)
        # The single-thread CPU time (1100 ms) stands for the elapsed time on a dedicated core.
        self.assertAlmostEqual(w.lambda_duration_ms, 1100.0 + 40.0)
        w_wall = cost_model.workloads_from_results(res, prices(), 1769, "wall")[1]
        self.assertAlmostEqual(w_wall.capacity_rps, 1.4)
        self.assertAlmostEqual(w_wall.lambda_duration_ms, 1170.0 + 40.0)

    def test_codec_limit_counts_shared_deflate_once_and_every_repeat(self):
        report = single_thread_report()
        work = table.distinct_work_ms(report)
        self.assertAlmostEqual(work["deflate-family:9"], 300.0 + 5.0 * 4)
        # Six distinct compressions (gzip/zlib/deflate at 9 are one), each decompressed 4 times.
        self.assertAlmostEqual(table.codec_limit_ms(report, 2), (1160.0 + 6 * 20.0) / 2)

    def test_strace_table_gives_calls_per_syscall_without_the_total(self):
        calls = table.parse_strace_table(strace_table({"sendto": 20000, "epoll_wait": 5123}))
        self.assertEqual(calls, {"sendto": 20000, "epoll_wait": 5123})

    def test_pipelined_runs_get_their_own_table_and_ratio(self):
        res = results()
        res["tiny"]["rounds"][0]["compresstest_pipelined"] = wrk_run(100000, 0.5, cpu_ms=150.0)
        res["tiny"]["rounds"][0]["floor_pipelined"] = wrk_run(100000, 0.5, cpu_ms=100.0)
        table.summarize_rounds(res["tiny"])
        out = table.render(res)
        self.assertIn("pipelined 16 deep", out)
        self.assertIn("CPU per pipelined request of compresstest ÷ the floor: 1.50", out)

    def test_full_speed_syscalls_per_request(self):
        out = table.render(results())
        self.assertIn("| compresstest | 3.10 | 0.10 | 1.00 | 2.00 |", out)

    def test_user_instructions_per_request_and_against_the_floor(self):
        out = table.render(results())
        self.assertIn("| compresstest | 1,600 | 3.20× |", out)
        self.assertIn("| floor | 500 | 1.00× |", out)

    def test_renders_without_error(self):
        out = cost_model.render(results(), prices(), cost_model.Assumptions(), [1e6, 1e9], 1769)
        self.assertIn("Break-even", out)
        self.assertIn("TinySite", table.render(results()))


if __name__ == "__main__":
    unittest.main()
