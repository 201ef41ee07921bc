"""Target 10: another user's single message while a 10,000-delivery fan-out drains (issue 18).

One user sends to 5,000 contacts (Telegram and WhatsApp: 10,000
deliveries) with the gateway answering in 50 ms. Once the fan-out is under
way, another user sends one message to one contact (2 deliveries), five
times a second apart, each due on receipt; how late each delivery arrives
at the gateway after its send was made (its due time: on receipt). One that
has not arrived WAIT_S after the last send counts as late by the time
waited: a lower bound, marked in the report. The project runs with the
bench's unlimited rates (the queue alone decides) and with the messengers'
rate limits as shipped (`make run`'s settings: Telegram 30/s, WhatsApp
80/s); the baseline reads one queue in order.
"""

import time

from bench import gateway
from bench.load import put, send_body
from bench.runner import PAST, UNLIMITED, log
from bench.stats import median, percentile, ratio
from bench.systems import contact_ids
from core.config import Config

NAME = "fairness"
TITLE = "another user's message while a 10,000-delivery fan-out drains: how late it arrives"
BIG_USER, SMALL_USER = "bench10k", "bench10"
# The fan-out's contacts: the bench10k book's second half, so the small
# send's contact (bench10's c00001) shares no recipient with it.
FAN_OUT = [f"c{i:05d}" for i in range(5_000, 10_000)]
SMALL_CONTACT, SMALL_INDEX = "c00001", 1
GATEWAY_MS = 50
UNDER_WAY = 200
TARGET_S = 2.0
# Seconds the small sends are waited for; one not there by then counts as this late at least.
WAIT_S = 120
SHIPPED_RATES = {name: getattr(Config(), name) for name in UNLIMITED}


def _arrivals(url, sent_at):
    """{text: [gateway times]} of the small sends' deliveries received so far."""
    ids = contact_ids(SMALL_INDEX)
    got = {}
    for messenger in ("telegram", "whatsapp"):
        for record in gateway.received_by(url, messenger, ids[messenger]):
            if record["text"] in sent_at:
                got.setdefault(record["text"], []).append(record["time"])
    return got


def trial(bench, system, sends):
    """The fan-out, then `sends` small sends a second apart; each small delivery's lateness."""
    gateway.clear(bench.gateway_url)
    gateway.set_faults(bench.gateway_url, latency_ms=GATEWAY_MS)
    status, answer_s, _ = put(system.api_url, send_body(BIG_USER, FAN_OUT, "t10 fan-out", PAST), timeout=300)
    assert status == 200, status
    gateway.wait_received(bench.gateway_url, UNDER_WAY, time.time() + 60, poll=0.1)
    sent_at = {}
    for n in range(sends):
        text = f"t10 small {n}"
        asked = time.time()
        status, _, _ = put(system.api_url, send_body(SMALL_USER, [SMALL_CONTACT], text, PAST), timeout=30)
        assert status == 200, status
        sent_at[text] = asked
        time.sleep(1.0)
    deadline = time.time() + WAIT_S
    while True:
        got = _arrivals(bench.gateway_url, sent_at)
        if sum(len(v) for v in got.values()) >= 2 * sends or time.time() > deadline:
            break
        time.sleep(0.5)
    waited = time.time()
    drained = gateway.stats(bench.gateway_url)["received"]
    system.purge()
    late = [t - sent_at[text] for text, times in got.items() for t in times]
    late += [waited - sent_at[text] for text in sent_at for _ in range(2 - len(got.get(text, [])))]
    missing = 2 * sends - sum(len(times) for times in got.values())
    return {"max_late_s": round(max(late), 3), "p50_late_s": round(percentile(late, 50), 3),
            "missing": missing, "fan_out_answer_s": round(answer_s, 3), "arrived_meanwhile": drained}


def run(bench):
    """Interleaved trials of the three; medians, ratios and the verdict."""
    sends = 3 if bench.quick else 5
    systems = [bench.project(), bench.project("project, shipped rate limits", **SHIPPED_RATES),
               bench.baseline()]
    runs = {s.label: [] for s in systems}
    for r in range(bench.runs):
        for system in (systems if r % 2 == 0 else list(reversed(systems))):
            log(f"  run {r + 1}/{bench.runs}: {system.label}")
            with system.start():
                result = trial(bench, system, sends)
            log(f"    {result}")
            runs[system.label].append(result)
    gateway.clear(bench.gateway_url)
    figures = {label: {key: median([r[key] for r in results])
                       for key in ("max_late_s", "p50_late_s", "arrived_meanwhile", "missing")}
               for label, results in runs.items()}
    project_labels = [s.label for s in systems[:2]]
    met = all(r["missing"] == 0 and r["max_late_s"] <= TARGET_S
              for label in project_labels for r in runs[label])
    baseline = figures["baseline"]["max_late_s"]
    return {"figures": figures, "met": met, "runs": runs,
            "baseline_over_project_max_late": {label: ratio(baseline, figures[label]["max_late_s"])
                                               for label in project_labels}}
