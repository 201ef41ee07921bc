"""`python -m bench.tune [--runs N] [--sends N] [VARIANT ...]`: which worker settings deliver fastest.

Runs target 1's trial (end-to-end deliveries/s) for each variant of the
project's worker, and the baseline, interleaved; prints medians and writes
bench/results/tune-*.json. Variants change only settings (Config fields) or
the worker's command line, never the product's code.
"""

import argparse
import json
import signal
import sys
import time
from functools import partial
from pathlib import Path

from bench import t1_throughput
from bench.runner import Bench, log
from bench.stats import median
from bench.systems import Infra

RESULTS = Path(__file__).parent / "results"


VARIANTS = {
    "default": {},
    "events-on": {"worker_events": True},
    "nice-0": {"worker_nice": 0},
    "nice-19": {"worker_nice": 19},
    "1-process": {"worker_processes": 1},
    "1-process-events-on": {"worker_processes": 1, "worker_events": True},
    "threads-4": {"worker_concurrency": 4},
    "threads-8": {"worker_concurrency": 8},
    "threads-32": {"worker_concurrency": 32},
    "prefetch-16": {"worker_argv": lambda argv: [*argv, "--prefetch-multiplier", "16"]},
    "warning-logs": {"log_level": "WARNING"},
    "prefork-4": {"worker_pool": "prefork", "worker_concurrency": 4, "worker_processes": 1},
    "solo-2": {"worker_pool": "solo", "worker_processes": 2},
    "solo-4": {"worker_pool": "solo", "worker_processes": 4},
}


def _workers(trial, figure):
    """A figure summed over every worker process (worker, worker2, ...)."""
    return round(sum(v[figure] for k, v in trial["usage"].items() if k.startswith("worker")), 3)


def main(argv=None):
    """Run target 1 for each variant and the baseline; print a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.tune", description=__doc__)
    parser.add_argument("variants", nargs="*", default=list(VARIANTS),
                        help=f"from: {', '.join(VARIANTS)}")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--sends", type=int, default=200, help="send requests per trial (x 20 deliveries)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    trial = partial(t1_throughput.trial, count=args.sends)
    results = {}
    with Infra() as infra:
        bench = Bench(infra, quick=True, runs=args.runs)
        systems = [bench.project(label=name, **VARIANTS[name]) for name in args.variants]
        systems.append(bench.baseline())
        runs = bench.interleaved(lambda b, s: trial(b, s), systems=systems)
    for label, trials in runs.items():
        results[label] = {
            "deliveries_per_s": median([t["deliveries_per_s"] for t in trials]),
            "runs": [t["deliveries_per_s"] for t in trials],
            "complete": all(t["unique"] == t["expected"] and t["duplicates"] == 0 for t in trials),
            "worker_cpu_s_per_1000": median([_workers(t, "cpu_s_per_1000") for t in trials]),
            "api_cpu_s_per_1000": median([t["usage"]["api"]["cpu_s_per_1000"] for t in trials]),
            "redis_cpu_s_per_1000": median([t["usage"]["redis"]["cpu_s_per_1000"] for t in trials]),
            "worker_rss_peak_mb": median([_workers(t, "rss_peak_mb") for t in trials]),
        }
    base = results.get("baseline", {}).get("deliveries_per_s")
    print(f"\n| variant | deliveries/s (median of {args.runs}) | × baseline | worker CPU s/1,000 | API CPU s/1,000 | Redis CPU s/1,000 | worker peak RSS MiB | all delivered once |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for label, r in results.items():
        ratio = round(r["deliveries_per_s"] / base, 2) if base else None
        print(f"| {label} | {r['deliveries_per_s']} | {ratio} | {r['worker_cpu_s_per_1000']} | "
              f"{r['api_cpu_s_per_1000']} | {r['redis_cpu_s_per_1000']} | {r['worker_rss_peak_mb']} | "
              f"{'yes' if r['complete'] else 'NO'} |")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"tune-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({"sends": args.sends, "runs": args.runs, "results": results,
                                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}, indent=1))
    log(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
