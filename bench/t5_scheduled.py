"""Target 5: 100,000 deliveries scheduled one hour ahead: worker RSS, Redis memory.

Five sends to the 10,000-contact user (20,000 deliveries each) with `time`
one hour ahead. The worker's process tree is sampled from /proc meanwhile;
Redis memory per delivery is the INFO used_memory growth / deliveries. The
baseline's worker fetches every ETA task into its own memory: its wait is
capped (the queue may not be empty by then; what is left is reported).
"""

import time

from bench.load import put, send_body, wallclock
from bench.procs import Usage
from bench.runner import compare, log

NAME = "scheduled"
TITLE = "100,000 deliveries one hour ahead: worker RSS, Redis memory per delivery"


def settle(system, cap):
    """Wait until the worker has taken all it will take from the queue (bounded)."""
    end = time.time() + cap
    last, since = None, time.time()
    while time.time() < end:
        state = system.published()
        if state != last:
            last, since = state, time.time()
        elif state["queued"] == 0 and time.time() - since >= 3:
            break
        time.sleep(0.5)
    return last


def trial(bench, system):
    """Sends one hour ahead; worker memory and Redis memory per delivery."""
    sends = 1 if bench.quick else 5
    cap = 60 if bench.quick else 120
    body = send_body("bench10k", bench.names("bench10k"), "t5", wallclock(time.time() + 3600))
    memory_before = system.used_memory()
    roots = {k: v for k, v in system.roots().items() if k in ("api", "worker", "redis")}
    with Usage(roots, interval=0.5) as usage:
        t0 = time.time()
        statuses = []
        for _ in range(sends):
            status, seconds, _ = put(system.api_url, body, timeout=600)
            statuses.append(status)
            log(f"      send answered {status} in {seconds:.1f} s")
        submitted_s = time.time() - t0
        state = settle(system, cap if system.name == "baseline" else 5)
    memory_after = system.used_memory()
    deliveries = sends * 20_000
    report = usage.report()
    return {
        "worker_rss_peak_mb": report["worker"]["rss_peak_mb"],
        "worker_rss_idle_mb": report["worker"]["rss_before_mb"],
        "worker_pss_peak_mb": report["worker"]["pss_peak_mb"],
        "redis_bytes_per_delivery": round((memory_after - memory_before) / deliveries),
        "redis_used_mb": round(memory_after / 2**20, 1),
        "submit_s": round(submitted_s, 1),
        "left_in_queue": state["queued"] if state else None,
        "held_by_worker": state["unacked"] if state else None,
        "in_schedule": system.unpublished(),
        "deliveries": deliveries,
        "sends_ok": statuses.count(200),
        "usage": report,
    }


def run(bench):
    # A baseline trial takes minutes (100,000 .apply_async calls, then the
    # worker fetching them): two trials per system unless --runs says fewer.
    """Interleaved trials; medians, ratios and the verdict."""
    runs = bench.interleaved(trial, runs=min(bench.runs, 2))
    figures = compare(runs, ["worker_rss_peak_mb", "worker_rss_idle_mb", "worker_pss_peak_mb",
                             "redis_bytes_per_delivery", "submit_s", "left_in_queue",
                             "held_by_worker", "in_schedule"])
    peak = figures["worker_rss_peak_mb"]["project"]
    return {"figures": figures, "met": peak is not None and peak < 150, "runs": runs}
