"""Target 12: the default rate limits on, against a gateway that enforces the published ones (issue 15).

The project as `make run` ships it, send rates and headroom included; the
fake gateway refuses what goes past Telegram's 30 sends/s (and 1/s per chat)
and WhatsApp's 80/s (`GATEWAY_ENFORCE_LIMITS`, fake_gateway/limits.py), as
the real APIs do. Enough sends to the 100-contact book are queued at once
that both messengers have deliveries waiting for the whole window; the
rate each reaches, measured from the gateway's receive times over a window
after a warm-up, is compared with the limit it enforces. The dispatcher must
reach at least 95 % of each without a single refusal. The baseline paces
nothing, so it is not run: every send past the limit would be refused.
"""

import math
import time

from bench import gateway
from bench.load import put, send_body
from bench.runner import UNLIMITED
from bench.stats import median
from core.config import Config
from fake_gateway.limits import PER_WINDOW

NAME = "ratelimited"
TITLE = "the default rate limits against a gateway enforcing the published ones"
SHIPPED = {name: getattr(Config(), name) for name in UNLIMITED}
# Seconds after a messenger's first arrival before its rate is counted.
WARM_S = 5.0
# Deliveries queued beyond what the window takes, in seconds of the limit.
SPARE_S = 10.0
SHARE_NEEDED = 0.95


def trial(bench, system):
    """Queue more than the window takes; each messenger's rate over the window, and the refusals."""
    window = 15.0 if bench.quick else 40.0
    gateway.set_faults(bench.gateway_url, enforce_limits=True)
    names = bench.names("bench100")
    sends = math.ceil(max(PER_WINDOW.values()) * (WARM_S + window + SPARE_S) / len(names))
    statuses = [put(system.api_url, send_body("bench100", names, f"rl {i}"))[0] for i in range(sends)]
    start = time.time()
    time.sleep(WARM_S + window + 2.0)
    records = gateway.received(bench.gateway_url)
    refused = gateway.stats(bench.gateway_url)["rate_limited"]
    result = {"sends": sends, "sends_ok": statuses.count(200), "seconds": round(time.time() - start, 1),
              "duplicates": len(records) - len({r["key"] for r in records}),
              "refused": sum(refused.values())}
    for messenger, limit in PER_WINDOW.items():
        times = sorted(r["time"] for r in records if r["messenger"] == messenger)
        begin = times[0] + WARM_S if times else 0.0
        counted = sum(1 for t in times if begin <= t < begin + window)
        result[f"{messenger}_per_s"] = round(counted / window, 2)
        result[f"{messenger}_share"] = round(counted / window / limit, 3)
        # Deliveries still came after the window: the rate was the pacer's, not a short supply's.
        result[f"{messenger}_backlogged"] = bool(times) and times[-1] >= begin + window
        result[f"{messenger}_refused"] = refused.get(messenger, 0)
    return result


def run(bench):
    """Trials of the project at its shipped limits; medians and the verdict."""
    project = bench.project(**SHIPPED)
    runs = bench.interleaved(trial, systems=[project])["project"]
    headroom = project.config.rate_limit_headroom
    figures = {}
    for messenger, limit in PER_WINDOW.items():
        figures[messenger] = {
            "limit_per_s": limit,
            "paced_at_per_s": round(getattr(project.config, f"{messenger}_rate") * (1 - headroom), 2),
            "per_s": median([r[f"{messenger}_per_s"] for r in runs]),
            "share": median([r[f"{messenger}_share"] for r in runs]),
            "refused": sum(r[f"{messenger}_refused"] for r in runs),
            "backlogged": all(r[f"{messenger}_backlogged"] for r in runs),
        }
    clean = all(r["refused"] == 0 and r["duplicates"] == 0 and r["sends_ok"] == r["sends"] for r in runs)
    met = clean and all(f["share"] >= SHARE_NEEDED and f["backlogged"] for f in figures.values())
    return {"figures": figures, "met": met, "runs": runs}
