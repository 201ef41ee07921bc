"""Target 6: CPU seconds and memory per 1,000 deliveries for API, worker, Redis.

Taken from target 1's trials (process trees sampled from /proc during the
run); runs target 1's trial itself when target 1 was not run.
"""

from bench import t1_throughput
from bench.stats import median, ratio

NAME = "resources"
TITLE = "CPU and memory per 1,000 deliveries (from the throughput trials)"
PARTS = ("api", "worker", "scheduler", "redis", "mongo", "gateway")
FIGURES = ("cpu_s_per_1000", "rss_delta_mb_per_1000", "rss_peak_mb", "pss_peak_mb")


def run(bench):
    """Per-part CPU and memory per 1,000 deliveries, medians over target 1's trials."""
    source = bench.results.get(t1_throughput.NAME)
    runs = source["runs"] if source else bench.interleaved(t1_throughput.trial)
    out = {}
    for part in PARTS:
        row = {}
        for figure in FIGURES:
            values = {}
            for label, trials in runs.items():
                values[label] = median([t["usage"].get(part, {}).get(figure) for t in trials])
            values["ratio"] = ratio(values.get("project"), values.get("baseline"))
            row[figure] = values
        out[part] = row
    total = {}
    for label, trials in runs.items():
        total[label] = median([sum(t["usage"][p]["cpu_s_per_1000"] for p in ("api", "worker", "redis")
                                   if p in t["usage"]) for t in trials])
    total["ratio"] = ratio(total.get("project"), total.get("baseline"))
    return {"parts": out, "cpu_api_worker_redis_per_1000": total, "from_target_1": bool(source)}
