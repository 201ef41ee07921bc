"""Target 4: 200 deliveries due every second for 60 s; lateness at the gateway.

60 sends (100 contacts x 2 messengers each) with `time` set to consecutive
whole seconds starting a little ahead, all submitted before the first is
due. Lateness = gateway receive time (the start of the gateway request) -
due time, for each delivery; the due time travels in the message text.
"""

import collections
import time

from bench import gateway
from bench.load import put, send_body, wallclock
from bench.runner import compare
from bench.stats import percentile
from bench.t1_throughput import warm_up

NAME = "punctuality"
TITLE = "200 deliveries due each second for 60 s: lateness"
PER_SECOND = 200


def trial(bench, system):
    """Sends due second after second; lateness at the gateway."""
    seconds, lead = (15, 12) if bench.quick else (60, 20)
    warm_up(bench, system)
    names = bench.names("bench100")
    first = int(time.time()) + lead
    submitted = []
    for i in range(seconds):
        due = first + i
        status, _, _ = put(system.api_url, send_body("bench100", names, f"due={due}", wallclock(due)))
        submitted.append(status)
    submitted_by = time.time() - first
    total = PER_SECOND * seconds
    gateway.wait_received(bench.gateway_url, total, first + seconds + 30)
    records = gateway.received(bench.gateway_url)
    by_second = collections.defaultdict(list)
    for r in records:
        if r["text"].startswith("due="):
            due = int(r["text"].split("=", 1)[1])
            by_second[due].append(r["time"] - due)
    lateness = [x for values in by_second.values() for x in values]
    seconds_p99 = [percentile(v, 99) for _, v in sorted(by_second.items())]
    # How long each second's 200 took from the first to the last arrival: the
    # worker's pace on a burst, whatever its start delay.
    spreads = [max(v) - min(v) for _, v in sorted(by_second.items())]
    return {
        "p50_s": round(percentile(lateness, 50), 3),
        "p99_s": round(percentile(lateness, 99), 3),
        "max_s": round(max(lateness), 3),
        "min_s": round(min(lateness), 3),
        "first_p50_s": round(percentile([min(v) for v in by_second.values()], 50), 3),
        "burst_spread_p50_s": round(percentile(spreads, 50), 3),
        "worst_second_p99_s": round(max(seconds_p99), 3),
        "last_second_p99_s": round(seconds_p99[-1], 3),
        "received": len(lateness), "expected": total,
        "sends_ok": submitted.count(200),
        "submitted_before_due_s": round(-submitted_by, 2),
    }


def run(bench):
    """Interleaved trials; medians, ratios and the verdict."""
    runs = bench.interleaved(trial)
    figures = compare(runs, ["p50_s", "p99_s", "max_s", "min_s", "first_p50_s", "burst_spread_p50_s",
                             "worst_second_p99_s", "last_second_p99_s", "received"])
    complete = all(r["received"] == r["expected"] for r in runs.get("project", []))
    p99 = figures["p99_s"]["project"]
    return {"figures": figures, "complete": complete,
            "met": bool(complete and p99 is not None and p99 <= 1.0), "runs": runs}
