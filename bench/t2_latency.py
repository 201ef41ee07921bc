"""Target 2: latency of the original send request (10 contacts x 2 messengers).

Open loop: requests start on a fixed schedule (50 per second for 20 s)
whatever the server does, and latency counts from the scheduled start. The
worker runs and delivers meanwhile, competing for the same two cores. Then
the rate steps up (8 s per step) until p99 passes 100 ms; the highest rate
that kept p99 <= 100 ms with no errors is reported. The queue is purged
between steps, so each step starts from the same state. Last, the worker is
stopped and 50/s is measured again: the API on its own.
"""


from bench import gateway
from bench.load import open_loop, send_body
from bench.runner import PAST, compare, log
from bench.stats import percentile
from bench.t1_throughput import warm_up

NAME = "latency"
TITLE = "send request latency at 50 requests/s; highest rate with p99 <= 100 ms"
STEPS_UP = (75, 100, 150, 200, 300, 400, 600)
STEPS_DOWN = (35, 25, 15, 10, 5)
LIMIT = 0.100


def measure(system, body, rate, seconds):
    """Latency figures of `seconds` of requests at `rate` per second."""
    results = open_loop(system.api_url, body, rate, seconds)
    latencies = [s for _, s in results]
    errors = sum(1 for status, _ in results if status != 200)
    return {"rate": rate, "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(latencies, 99) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1), "errors": errors, "requests": len(results)}


def settle(bench, system):
    """Drop the queued tasks and wait for the worker to go quiet."""
    system.purge()
    gateway.wait_quiet(bench.gateway_url, quiet=0.5, limit=15)
    gateway.clear(bench.gateway_url)


def passes(step):
    """Whether a step kept p99 within the limit, without errors."""
    return step["errors"] == 0 and step["p99_ms"] <= LIMIT * 1000


def trial(bench, system):
    """50/s, then the ladder of rates, then 50/s with the worker stopped."""
    seconds, step_seconds = (10, 4) if bench.quick else (20, 8)
    warm_up(bench, system)
    body = send_body("bench10", bench.names("bench10"), "t2", PAST)
    open_loop(system.api_url, body, 10, 2)  # warm every gunicorn thread
    settle(bench, system)
    at50 = measure(system, body, 50, seconds)
    settle(bench, system)
    steps = []
    best = None
    if passes(at50):
        best = 50
        ladder = STEPS_UP
    else:
        ladder = STEPS_DOWN
    for rate in ladder:
        step = measure(system, body, rate, step_seconds)
        settle(bench, system)
        steps.append(step)
        log(f"      {rate}/s: p50 {step['p50_ms']} ms, p99 {step['p99_ms']} ms, errors {step['errors']}")
        if passes(step):
            if ladder is STEPS_DOWN:
                best = rate
                break
            best = rate
        elif ladder is STEPS_UP:
            break
    # The same 50/s with the worker stopped: how much of the tail is the
    # worker competing for the two cores, not the API itself.
    for process in system.processes:
        if "worker" in process.name:
            process.stop()
    alone = measure(system, body, 50, step_seconds)
    log(f"      50/s without a worker: p50 {alone['p50_ms']} ms, p99 {alone['p99_ms']} ms")
    return {"p50_ms": at50["p50_ms"], "p99_ms": at50["p99_ms"], "max_ms": at50["max_ms"],
            "p50_ms_no_worker": alone["p50_ms"], "p99_ms_no_worker": alone["p99_ms"],
            "errors": at50["errors"], "requests": at50["requests"],
            "max_rate_p99_100ms": best, "steps": steps}


def run(bench):
    """Interleaved trials; medians, ratios and the verdict."""
    runs = bench.interleaved(trial)
    figures = compare(runs, ["p50_ms", "p99_ms", "max_ms", "errors", "max_rate_p99_100ms",
                             "p50_ms_no_worker", "p99_ms_no_worker"])
    p99 = figures["p99_ms"]["project"]
    return {"figures": figures, "met": p99 is not None and p99 <= 50, "runs": runs}
