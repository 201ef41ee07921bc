"""`python -m bench [TARGET ...]`: run the benchmarks, write bench/results/ and BENCHMARKS.md.

Targets: gateway throughput latency fanout punctuality scheduled resources
flower contacts listing fairness templates ratelimited inbound (default: all, in that order). BENCH_QUICK=1 or --quick runs a small version.
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from bench import (report, runner, t0_gateway, t1_throughput, t2_latency, t3_fanout,
                   t4_punctuality, t5_scheduled, t6_resources, t7_flower, t8_contacts, t9_listing,
                   t10_fairness, t11_templates, t12_ratelimited, t13_inbound)

TARGETS = {m.NAME: m for m in (t0_gateway, t1_throughput, t2_latency, t3_fanout,
                               t4_punctuality, t5_scheduled, t6_resources, t7_flower,
                               t8_contacts, t9_listing, t10_fairness, t11_templates, t12_ratelimited,
                               t13_inbound)}
RESULTS = Path(__file__).parent / "results"


def parse_args(argv):
    """The command line, with BENCH_QUICK as --quick."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", choices=[[]] + list(TARGETS), metavar="TARGET",
                        help=f"from: {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")),
                        help="a small, fast run (also BENCH_QUICK=1)")
    parser.add_argument("--runs", type=int, default=None,
                        help="trials per system and target (default 3; 1 when quick)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a project setting (Config field), e.g. --set worker_concurrency=8")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the project's processes, e.g. "
                             "--env PYTHONPATH=/tmp/hiredis-site to try a package outside the venv")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args(argv)
    args.targets = args.targets or list(TARGETS)
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    return args


def settings(pairs):
    """Project setting overrides from NAME=VALUE pairs, typed like the Config fields."""
    from core.config import Config
    types = {name: type(value) for name, value in vars(Config()).items()}
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in types:
            raise SystemExit(f"--set: unknown setting {name!r}")
        out[name] = types[name](value)
    return out


def main(argv=None):
    """Run the targets asked for; write the results."""
    args = parse_args(argv)
    # A SIGTERM (timeout, Ctrl-C of make) unwinds like an exception, so every
    # process the bench started is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    overrides = settings(args.set)
    started = time.time()
    env = dict(pair.partition("=")[::2] for pair in args.env)
    results = runner.run([TARGETS[name] for name in args.targets], args.quick, args.runs, overrides, env)
    results["meta"]["seconds"] = round(time.time() - started)
    results["meta"]["targets"] = args.targets
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{stamp}{'-quick' if args.quick else ''}.json"
    runner.save(results, path)
    text = report.render(results)
    print(text)
    if not args.no_write:
        report.write(text)
        runner.log(f"results section of BENCHMARKS.md rewritten; raw figures in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
