"""Target 1: end-to-end deliveries per second (send accepted -> gateway received).

1,000 original send requests (10 contacts x Telegram + WhatsApp = 20
deliveries each), 8 in flight, to a freshly started system; the rate is
deliveries / (last gateway receive - first request). Every delivery must
arrive exactly once (checked on the gateway's idempotency keys). CPU and
memory of each process tree are sampled for target 6.
"""

import collections
import time

from bench import gateway
from bench.load import closed_loop, send_body
from bench.procs import Usage
from bench.runner import PAST, compare
from bench.stats import percentile

NAME = "throughput"
TITLE = "end-to-end deliveries per second, 20,000 deliveries"
CONCURRENCY = 8


def sends(bench):
    """Send requests per trial."""
    return 200 if bench.quick else 1000


def warm_up(bench, system, user="bench10"):
    """Two sends through every part, so first-use costs stay out of the figures."""
    names = bench.names(user)
    closed_loop(system.api_url, [send_body(user, names, "warm-up", PAST)] * 2, 2)
    gateway.wait_received(bench.gateway_url, 2 * 2 * len(names), time.time() + 30)
    gateway.wait_quiet(bench.gateway_url, quiet=0.5, limit=5)
    gateway.clear(bench.gateway_url)


def trial(bench, system, count=None):
    """One throughput trial against a started system."""
    count = count or sends(bench)
    total = count * 20
    warm_up(bench, system)
    names = bench.names("bench10")
    bodies = [send_body("bench10", names, f"t1 {i}", PAST) for i in range(count)]
    calls_before = system.command_calls()
    with Usage(system.roots()) as usage:
        t0 = time.time()
        replies = closed_loop(system.api_url, bodies, CONCURRENCY)
        accepted_at = time.time()
        got = gateway.wait_received(bench.gateway_url, total, t0 + 60 + total / 40)
    calls = system.command_calls()
    records = gateway.received(bench.gateway_url)
    keys = collections.Counter(r["key"] for r in records)
    last = max((r["time"] for r in records), default=t0)
    ok = sum(1 for status, _ in replies if status == 200)
    latencies = [seconds for _, seconds in replies]
    return {
        "deliveries_per_s": round(len(keys) / (last - t0), 1),
        "seconds": round(last - t0, 2),
        "received": got,
        "unique": len(keys),
        "duplicates": sum(n - 1 for n in keys.values()),
        "expected": total,
        "sends_ok": ok,
        "api_sends_per_s": round(count / (accepted_at - t0), 1),
        "api_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "api_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "redis_calls_per_delivery": round(
            (sum(calls.values()) - sum(calls_before.values())) / max(len(keys), 1), 2),
        "redis_calls_by_command": {
            name: round((n - calls_before.get(name, 0)) / max(len(keys), 1), 2)
            for name, n in sorted(calls.items(), key=lambda kv: -kv[1])
            if n - calls_before.get(name, 0) >= len(keys) / 100},
        "usage": usage.report(per=len(keys)),
    }


def run(bench):
    """Interleaved trials; medians, ratios and the verdict."""
    runs = bench.interleaved(trial)
    keys = ["deliveries_per_s", "seconds", "unique", "duplicates", "api_sends_per_s",
            "api_p50_ms", "api_p99_ms", "redis_calls_per_delivery"]
    figures = compare(runs, keys)
    ratio = figures["deliveries_per_s"]["ratio"]
    complete = all(r["unique"] == r["expected"] and r["duplicates"] == 0
                   for rs in runs.values() for r in rs)
    return {
        "deliveries": sends(bench) * 20,
        "figures": figures,
        "met": bool(ratio and ratio >= 2.0 and complete),
        "complete": complete,
        "runs": runs,
    }
