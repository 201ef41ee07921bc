"""`python -m bench.profile [throughput|fanout] ...`: where the project's time goes.

Runs target 1's or target 3's trial against the project with py-spy sampling
the API (gunicorn and its workers) and the worker, then prints the top
functions by own time and by inclusive time per process, and keeps the
collapsed stacks (flame-graph input) and SVG flame graphs in bench/results/.
py-spy is a tool for this script only: `.venv/bin/pip install py-spy`.
"""

import argparse
import collections
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import t1_throughput, t3_fanout
from bench.runner import Bench, log
from bench.systems import Infra

RESULTS = Path(__file__).parent / "results"
TRIALS = {"throughput": t1_throughput.trial, "fanout": t3_fanout.trial}
_LINE = re.compile(r":\d+\)$")


def py_spy():
    """The py-spy executable (beside the venv's python, or on PATH)."""
    path = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(path).exists():
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
    return path


def record(pid, out, gil=False, rate=100):
    """py-spy sampling a process tree: every active thread, or (gil) only the one holding the GIL."""
    return subprocess.Popen(
        [py_spy(), "record", "--pid", str(pid), "--subprocesses", "--rate", str(rate),
         "--nonblocking", "--format", "raw", "--output", str(out), *(["--gil"] if gil else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def frame_name(frame):
    """'function (file)' without the line number, the path shortened."""
    frame = _LINE.sub(")", frame.strip())
    frame = re.sub(r"\(/.*?/site-packages/", "(", frame)
    frame = re.sub(r"\(/.*?/lib/python3\.\d+/", "(stdlib/", frame)
    return re.sub(r"\(/work/main/", "(", frame)


# Functions whose time is broken down by the function they call.
FOCUS = ("attempt_delivery (workers/delivery.py)", "send_message (core/sending/record.py)",
         "send (api/legacy/routes.py)", "Dispatcher.submit (core/dispatch.py)",
         "Dispatcher.publish (core/dispatch.py)", "trace_task (celery/app/trace.py)",
         "build_tracer.<locals>.trace_task (celery/app/trace.py)")


def summarize(path, top=25):
    """Own and inclusive sample shares of the functions in a raw py-spy file."""
    own, inclusive = collections.Counter(), collections.Counter()
    below = collections.defaultdict(collections.Counter)
    total = 0
    # Split on newlines only: a frame's text may hold other line-break characters.
    for line in Path(path).read_text().split("\n"):
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        count = int(count)
        frames = [frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for f in set(frames):
            inclusive[f] += count
        for i, f in enumerate(frames):
            if f in FOCUS:
                below[f][frames[i + 1] if i + 1 < len(frames) else "(own)"] += count
    lines = [f"{path.name}: {total} samples"]
    lines.append("  own time:")
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("  inclusive time:")
    lines += [f"    {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    for f, calls in below.items():
        lines.append(f"  inside {f} ({100 * inclusive[f] / total:.1f}%):")
        lines += [f"    {100 * n / total:5.1f}%  {g}" for g, n in calls.most_common(12)]
    return "\n".join(lines)


def main(argv=None):
    """Profile the targets asked for; print and keep the summaries."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("targets", nargs="*", default=["throughput", "fanout"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--wall", action="store_true",
                        help="sample every active thread (waits included), not only the GIL holder")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from bench.__main__ import settings
    RESULTS.mkdir(exist_ok=True)
    with Infra() as infra:
        bench = Bench(infra, quick=args.quick, runs=1, project_settings=settings(args.set))
        for target in args.targets:
            system = bench.project()
            with system.start():
                spies, files = [], []
                mode = "wall" if args.wall else "gil"
                for part in ("api", "worker"):
                    raw = RESULTS / f"profile-{target}-{part}-{mode}.txt"
                    spies.append(record(system.pid(part), raw, gil=not args.wall))
                    files.append(raw)
                time.sleep(1)
                log(f"profiling {target}")
                result = TRIALS[target](bench, system)
                for spy in spies:
                    spy.send_signal(signal.SIGINT)
                for spy in spies:
                    spy.wait(timeout=60)
                log(f"{target}: { {k: v for k, v in result.items() if not isinstance(v, dict)} }")
                for raw in files:
                    text = summarize(raw)
                    print(text)
                    raw.with_suffix(".summary").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
