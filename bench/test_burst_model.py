#!/usr/bin/env python3
"""Tests for bench/burst_model.py on made-up profiles and measurements (stdlib unittest).

Run: python3 -m unittest discover -s bench -p 'test_*.py'
"""
import dataclasses
import math
import os
import unittest

import burst_model as bm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PRICES = {  # made-up round prices, so the hand-computed sums below are easy to check
    "hours_per_month": 720,
    "ec2": {"x.large": {"hourly": 0.1, "vcpus": 2}},
    "ebs_gp3_gb_month": 0.1,
    "alb": {"hourly": 0.02, "lcu_hourly": 0.01,
            "lcu": {"new_connections_per_s": 25, "active_connections_per_min": 3000,
                    "processed_gb_per_h": 1.0, "rule_evaluations_per_s": 1000}},
    "lambda": {"request_per_million": 0.2, "gb_second_x86": 0.00001, "billing_granularity_ms": 1},
    "api_gateway_http": {"tiers_per_million": [[300, 1.0], [None, 0.9]],
                         "metering_increment_nbytes": 524288},
    "api_gateway_rest": {"tiers_per_million": [[None, 3.5]]},
}

PARAMS = {
    "eb": {"instance_launch_s": {"value": 60}, "image_build_s": {"value": 240},
           "ebs_gb": {"value": 10}, "new_connections_per_request": {"value": 1.0}},
    "lambda": {"memory_mb": {"value": 1024}, "account_concurrency": {"value": 1000},
               "scaling_per_10_s": {"value": 1000}, "platform_cold_start_ms": {"value": 100},
               "environment_keep_s": {"value": 300}},
}

EBEXTENSIONS = """# comment line
option_settings:
  aws:ec2:instances:
    InstanceTypes: x.large,y.large   # first is used
  aws:autoscaling:asg:
    MinSize: 2
    MaxSize: 6
    Cooldown: 300
  aws:autoscaling:trigger:
    MeasureName: CPUUtilization
    Unit: Percent
    Period: 1
    BreachDuration: 1
    EvaluationPeriods: 1
    UpperThreshold: 60
    UpperBreachScaleIncrement: 1
    LowerThreshold: 20
    LowerBreachScaleIncrement: -1
  aws:elasticbeanstalk:environment:process:default:
    HealthCheckPath: /healthz
    HealthCheckInterval: 15
    HealthyThresholdCount: 3
"""


def profile(points, minutes=240, reports_per_visitor=1.0, light_per_visitor=0.0):
    return {"name": "test", "minutes": minutes, "visitors_per_min": points,
            "requests_per_visitor": {"light": light_per_visitor, "text": reports_per_visitor},
            "input_nbytes": {"text": 2048}}


def burst(peak, minutes=240):
    """A quiet start, a rise to `peak` visitors/min in 10 minutes at minute 30, a decay over 2 h."""
    return profile([[0, 1], [30, 1], [40, peak], [60, peak], [180, 1], [minutes, 1]], minutes)


def inputs(cpu_ms=200.0, lambda_ms=200.0):
    return bm.Inputs(cores=2, cpu_ms={"light": 0.05, "text": cpu_ms},
                     longest_task_ms={"text": cpu_ms / 4}, queue_bound=18,
                     lambda_ms={"light": 1.0, "text": lambda_ms}, lambda_init_ms=5.0,
                     light_response_nbytes=600)


def policy(**changes):
    p = bm.eb_policy(bm.parse_option_settings(EBEXTENSIONS), PARAMS)
    return dataclasses.replace(p, **changes)


def eb(prof, inp=None, pol=None, scale=1.0):
    return bm.simulate_eb(prof, inp or inputs(), pol or policy(), PARAMS, PRICES, scale)


def lam(prof, inp=None, limits=None, scale=1.0):
    return bm.simulate_lambda(prof, inp or inputs(), limits or bm.lambda_limits(PARAMS), PRICES, scale)


class PolicyTest(unittest.TestCase):
    def test_option_settings_are_read_with_namespaces_that_hold_colons(self):
        s = bm.parse_option_settings(EBEXTENSIONS)
        self.assertEqual(s["aws:autoscaling:asg"], {"MinSize": "2", "MaxSize": "6", "Cooldown": "300"})
        self.assertEqual(s["aws:ec2:instances"]["InstanceTypes"], "x.large,y.large")
        p = policy()
        self.assertEqual((p.min_size, p.max_size, p.cooldown_s, p.period_s, p.breach_periods),
                         (2, 6, 300.0, 60.0, 1))
        self.assertEqual((p.instance_type, p.health_check_s, p.ready_s), ("x.large", 45.0, 345.0))

    def test_breach_duration_over_period_counts_consecutive_datapoints(self):
        text = EBEXTENSIONS.replace("Period: 1", "Period: 5").replace("BreachDuration: 1", "BreachDuration: 10")
        p = bm.eb_policy(bm.parse_option_settings(text), PARAMS)
        self.assertEqual((p.period_s, p.breach_periods), (300.0, 2))

    def test_the_repositorys_ebextensions_give_a_cpu_policy(self):
        settings = bm.read_ebextensions(os.path.join(ROOT, "deploy", "elasticbeanstalk", ".ebextensions"))
        p = bm.eb_policy(settings, PARAMS)
        asg = settings["aws:autoscaling:asg"]
        self.assertEqual((p.min_size, p.max_size), (int(asg["MinSize"]), int(asg["MaxSize"])))
        self.assertLess(p.lower_pct, p.upper_pct)

    def test_a_non_cpu_trigger_is_refused(self):
        text = EBEXTENSIONS.replace("MeasureName: CPUUtilization", "MeasureName: NetworkOut")
        with self.assertRaises(ValueError):
            bm.eb_policy(bm.parse_option_settings(text), PARAMS)


class LatencyTest(unittest.TestCase):
    def test_an_idle_instance_answers_in_the_fanned_out_service_time(self):
        p50, p99 = bm.report_latency_ms(burst(1), inputs(200.0), 0.0)
        self.assertEqual((p50, p99), (100.0, 100.0))  # 200 ms CPU over 2 cores, longest 50 ms

    def test_latency_grows_with_utilisation_and_stops_at_the_admitted_queue(self):
        prev = 0.0
        for rho in (0.0, 0.2, 0.5, 0.8, 0.95, 0.999):
            p99 = bm.report_latency_ms(burst(1), inputs(), rho)[1]
            self.assertGreaterEqual(p99, prev)
            prev = p99
        self.assertLessEqual(prev, 100.0 + 18 * 100.0)

    def test_mg1_wait_matches_pollaczek_khinchine_for_exponential_service(self):
        # M/M/1: E[S] = 1, E[S^2] = 2, rho = 0.5: mean wait 1, P(W > t) = 0.5 exp(-t / 2).
        self.assertAlmostEqual(bm.wait_quantile_ms(0.5, 1.0, 2.0, 0.99), 2 * math.log(50))
        self.assertEqual(bm.wait_quantile_ms(0.5, 1.0, 2.0, 0.4), 0.0)

    def test_slower_reports_leave_less_utilisation_within_one_second(self):
        fast = bm.utilisation_at_p99(burst(1), inputs(200.0))
        slow = bm.utilisation_at_p99(burst(1), inputs(600.0))
        self.assertGreater(fast, slow)
        self.assertEqual(bm.utilisation_at_p99(burst(1), inputs(2500.0)), 0.0)  # 1.25 s alone


class EbSimulationTest(unittest.TestCase):
    def test_a_quiet_day_keeps_min_size_and_serves_everything(self):
        run = eb(profile([[0, 1], [240, 1]]))
        self.assertEqual(run.scaling_events, [])
        self.assertAlmostEqual(run.total("served"), run.total("offered"))
        self.assertAlmostEqual(run.instance_hours, 2 * 4)

    def test_scale_out_waits_for_a_datapoint_then_the_instance_boots(self):
        run = eb(burst(1000))
        t, n = run.scaling_events[0]
        self.assertEqual(n, 1)
        self.assertEqual(t % 60, 0)
        minute = int((t + policy().ready_s) // 60)
        self.assertEqual(run.minutes[minute - 1].units, 2)
        self.assertEqual(run.minutes[minute + 1].units, 3)
        # The cooldown (after the launch) holds the next scale-out back.
        for (a, _), (b, _) in zip(run.scaling_events, run.scaling_events[1:]):
            self.assertGreaterEqual(b - a, policy().instance_launch_s + policy().cooldown_s)

    def test_a_saturated_fleet_serves_its_cores_worth_and_refuses_the_rest(self):
        # 2 instances × 2 cores ÷ 0.2 s = 20 reports/s = 1,200/min; 2,400/min offered.
        run = eb(profile([[0, 2400], [30, 2400]], minutes=30), pol=policy(max_size=2))
        m = run.minutes[20]
        self.assertAlmostEqual(m.served, 1200)
        self.assertAlmostEqual(m.refused, 1200)
        self.assertAlmostEqual(m.queued, 2 * 18)
        self.assertEqual(m.cpu_pct, 100)

    def test_requests_are_conserved(self):
        run = eb(burst(4000))
        self.assertGreater(run.total("refused"), 0)
        backlog = run.minutes[-1].queued
        self.assertAlmostEqual(run.total("served") + run.total("refused") + backlog, run.total("offered"),
                               places=6)

    def test_more_capacity_never_refuses_more_with_a_fixed_fleet(self):
        for peak in (500, 1500, 5000):
            refused = {(n, cpu): eb(burst(peak), inputs(cpu), policy(min_size=n, max_size=n)).total("refused")
                       for n in (1, 2, 3, 5) for cpu in (400.0, 300.0, 200.0, 100.0)}
            for (n, cpu), r in refused.items():
                for (n2, cpu2), r2 in refused.items():
                    if n2 >= n and cpu2 <= cpu:  # as many instances or more, each as fast or faster
                        self.assertLessEqual(r2, r + 1e-9, (peak, n, cpu, n2, cpu2))
            self.assertGreater(refused[(1, 400.0)], 0, "the burst must be one that refuses some")

    def test_more_capacity_never_refuses_more_with_autoscaling(self):
        for peak in (800, 1500, 3000, 8000):
            prev = math.inf
            for cpu in (400.0, 300.0, 200.0, 150.0, 100.0):  # faster reports = more capacity
                refused = eb(burst(peak), inputs(cpu)).total("refused")
                self.assertLessEqual(refused, prev + 1e-9, (peak, cpu))
                prev = refused
            prev = math.inf
            for max_size in (2, 4, 6, 10):
                refused = eb(burst(peak), pol=policy(max_size=max_size)).total("refused")
                self.assertLessEqual(refused, prev + 1e-9, (peak, max_size))
                prev = refused

    def test_a_longer_alarm_period_never_refuses_fewer(self):
        # Periods that divide each other (CloudWatch's boundaries then nest).
        for peak in (1500, 3000, 8000):
            for chain in ((60, 300, 600), (60, 120, 240)):
                prev = -1.0
                for period_s in chain:
                    refused = eb(burst(peak), pol=policy(period_s=period_s)).total("refused")
                    self.assertGreaterEqual(refused, prev - 1e-9, (peak, period_s))
                    prev = refused
            prev = -1.0
            for breach in (1, 2, 3, 5):
                refused = eb(burst(peak), pol=policy(breach_periods=breach)).total("refused")
                self.assertGreaterEqual(refused, prev - 1e-9, (peak, breach))
                prev = refused
            self.assertGreater(prev, 0, "the burst must be one that refuses some")

    def test_a_longer_boot_never_refuses_fewer(self):
        prev = -1.0
        for build_s in (0, 120, 240, 600):
            refused = eb(burst(3000), pol=policy(image_build_s=build_s)).total("refused")
            self.assertGreaterEqual(refused, prev - 1e-9)
            prev = refused


class LambdaSimulationTest(unittest.TestCase):
    def test_concurrency_is_rate_times_duration(self):
        # 600 reports/min = 10/s × 0.2 s = 2 environments busy.
        run = lam(profile([[0, 600], [60, 600]], minutes=60))
        self.assertAlmostEqual(run.minutes[30].units, 2.0)
        self.assertAlmostEqual(run.total("refused"), 0.0)

    def test_demand_above_the_account_concurrency_is_throttled(self):
        # 1,000 environments at 0.2 s serve 5,000 reports/s; 600,000/min = 10,000/s are offered.
        run = lam(profile([[0, 600000], [10, 600000]], minutes=10))
        m = run.minutes[5]
        self.assertAlmostEqual(m.served, 5000 * 60, delta=1)
        self.assertAlmostEqual(m.refused, 5000 * 60, delta=1)

    def test_the_scaling_rate_limits_a_sudden_start(self):
        # 10,000 environments wanted at once: +1,000 per 10 s up to the raised limit.
        limits = dataclasses.replace(bm.lambda_limits(PARAMS), account_concurrency=20000)
        run = lam(profile([[0, 3000000], [5, 3000000]], minutes=5), limits=limits)
        self.assertAlmostEqual(run.minutes[0].units, 6000)  # the 6th step of the first minute
        self.assertGreater(run.minutes[0].refused, 0)
        self.assertAlmostEqual(run.minutes[2].refused, 0)

    def test_more_concurrency_or_faster_scaling_never_throttles_more(self):
        base = bm.lambda_limits(PARAMS)
        prof = profile([[0, 10], [5, 10], [6, 2000000], [20, 2000000], [60, 10]], minutes=60)
        prev = math.inf
        for limit, rate in ((500, 50), (1000, 50), (1000, 100), (3000, 100), (3000, 1000)):
            refused = lam(prof, limits=dataclasses.replace(
                base, account_concurrency=limit, scaling_per_s=rate)).total("refused")
            self.assertLessEqual(refused, prev + 1e-9)
            prev = refused

    def test_warm_environments_are_reused_and_kept_a_while(self):
        # One report every 10 s: one environment, started cold once, then kept warm.
        run = lam(profile([[0, 6], [60, 6]], minutes=60))
        self.assertAlmostEqual(run.total("pending"), 1)
        # A minute of them every ten minutes: each minute comes after the keep time, cold.
        sparse = [[0, 0]]
        for m in range(10, 60, 10):
            sparse += [[m, 0], [m + 0.001, 6], [m + 1, 6], [m + 1.001, 0]]
        run = lam(profile(sparse + [[60, 0]], minutes=60))
        self.assertAlmostEqual(run.total("pending"), 5)


class CostTest(unittest.TestCase):
    def test_an_idle_month_is_min_size_instances_volumes_and_the_balancer(self):
        cost = bm.eb_month_cost(policy(), PARAMS, PRICES, [])
        self.assertAlmostEqual(cost, 2 * 720 * 0.1 + 2 * 10 * 0.1 + 720 * 0.02)
        self.assertEqual(bm.lambda_month_cost(PRICES, []), 0.0)

    def test_lambda_bills_invocations_gb_seconds_and_gateway_requests(self):
        # 1 report/min for a day: 1,440 invocations of 200 ms at 1 GB; one HTTP API unit each.
        day = lam(profile([[0, 1], [1440, 1]], minutes=1440))
        self.assertAlmostEqual(day.invocations, 1440)
        cold = day.total("pending")  # each cold start also bills the 5 ms start-up
        self.assertAlmostEqual(day.gb_seconds, 1440 * 0.2 + cold * 0.005)
        self.assertAlmostEqual(bm.lambda_month_cost(PRICES, [day], "http"),
                               1440 * 0.2 / 1e6 + day.gb_seconds * 0.00001 + 1440 * 1.0 / 1e6)
        self.assertAlmostEqual(bm.lambda_month_cost(PRICES, [day], "rest"),
                               1440 * 0.2 / 1e6 + day.gb_seconds * 0.00001 + 1440 * 3.5 / 1e6)

    def test_eb_bills_the_simulated_instance_hours_and_load_balancer_capacity_units(self):
        # 60 reports/min = 1/s for 4 hours on 2 instances: LCUs from 1 new connection/s (0.04)
        # against (2048 + 512 + 1024) bytes × 3600/h = 0.0129 GB/h.
        day = eb(profile([[0, 60], [240, 60]], minutes=240))
        self.assertAlmostEqual(day.instance_hours, 8)
        self.assertAlmostEqual(day.lcu_hours, 4 * 1 / 25)
        cost = bm.eb_month_cost(policy(), PARAMS, PRICES, [day])
        self.assertAlmostEqual(cost, (8 + 2 * (720 - 4)) * 0.1 + 2 * 10 * 0.1 + 720 * 0.02 + 0.16 * 0.01)

    def test_a_month_is_whole_days_plus_the_leftover(self):
        day = lam(profile([[0, 1], [1440, 1]], minutes=1440))
        days = bm.month_days(dict(PRICES, hours_per_month=730), None, day)
        self.assertAlmostEqual(sum(d.invocations for d in days), 1440 * 730 / 24, delta=1)

    def test_a_burst_costs_lambda_more_and_eb_at_least_as_much(self):
        prof = burst(400, minutes=1440)
        quiet = bm.flat_profile(prof)
        for design, cost in ((eb, lambda days: bm.eb_month_cost(policy(), PARAMS, PRICES, days)),
                             (lam, lambda days: bm.lambda_month_cost(PRICES, days))):
            ordinary = design(quiet)
            plain = cost(bm.month_days(PRICES, None, ordinary))
            bursty = cost(bm.month_days(PRICES, design(prof), ordinary))
            self.assertGreaterEqual(bursty, plain)


if __name__ == "__main__":
    unittest.main()
