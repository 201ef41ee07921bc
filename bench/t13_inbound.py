"""Target 13: Telegram's webhook while a 10,000-delivery fan-out drains (issue 29).

Telegram Updates, each a text from its own chat with its own update_id,
are posted to POST /webhooks/telegram with the webhook's secret through
the proxy (nginx before gunicorn, as `make run` serves it), at a steady
200 a second over at most 40 connections, as Telegram posts them: open
loop, so a request's latency counts from when it was due to start. The
baseline is the same updates on the same started project with nothing
draining; the trial proper posts them once one user's send to 5,000
contacts (10,000 deliveries, gateway answering in 50 ms) is under way.
Every update must be handed over once: its seen key set in Redis, and its
text kept exactly once in its sender's inbox.
"""

import time

from bench import gateway
from bench.load import paced_posts, put, send_body
from bench.runner import PAST, USERS, log
from bench.stats import median, percentile, ratio
from bench.systems import Project
from core.keys import Keys
from stack.ports import free_ports
from stack.specs import spec_for

NAME = "inbound"
TITLE = "Telegram's webhook at 200 updates/s while a 10,000-delivery fan-out drains, against none"
BIG_USER = "bench10k"
FAN_OUT = [f"c{i:05d}" for i in range(5_000, 10_000)]
GATEWAY_MS = 50
UNDER_WAY = 200
RATE = 200
# Telegram's own client: setWebhook's max_connections defaults to 40
# (https://core.telegram.org/bots/api#setwebhook).
CONNECTIONS = 40
TARGET_P99_MS = 50.0
# Seconds the worker is given to act on every update handed over.
HANDLED_WITHIN = 120
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class ProxiedProject(Project):
    """The project with nginx before gunicorn, as `make run` starts it."""

    def specs(self):
        """The project's parts, gunicorn on a port of its own behind the proxy on API_PORT."""
        backend = free_ports(1)[0]
        specs = [spec_for(self.config, "api", api_backend_port=backend) if s.name == "api" else s
                 for s in super().specs()]
        return [specs[0], spec_for(self.config, "proxy", api_backend_port=backend), *specs[1:]]


def _update(n):
    """A Telegram Update: text n from private chat n (both unique in the run)."""
    chat = 900_000_000 + n
    return {"update_id": n, "message": {
        "message_id": 1, "date": int(time.time()), "text": f"t13 text {n}",
        "chat": {"id": chat, "type": "private", "first_name": "Bench"},
        "from": {"id": chat, "is_bot": False, "first_name": "Bench"}}}


def _handed_over(system, numbers, answered):
    """(seen keys set, senders with their text kept once, kept more often), once every update handed over is kept."""
    keys = Keys(system.config.redis_prefix)
    deadline = time.time() + HANDLED_WITHIN
    while True:
        with system.redis.pipeline(transaction=False) as pipe:
            for n in numbers:
                pipe.exists(keys.inbound_seen("telegram", n))
                pipe.zcard(keys.inbox("telegram", str(900_000_000 + n)))
            counts = pipe.execute()
        seen, kept = sum(counts[0::2]), counts[1::2]
        # An update the client gave up on may still have been handed over.
        if sum(kept) == seen >= answered or time.time() > deadline:
            return seen, sum(1 for k in kept if k == 1), sum(k for k in kept if k > 1)
        time.sleep(0.5)


def _phase(bench, system, numbers, secret):
    """Post these updates at RATE; latencies (ms), statuses not 200, and how they were handed over."""
    url = f"{system.api_url}/webhooks/telegram"
    results = paced_posts(url, [_update(n) for n in numbers], RATE, {SECRET_HEADER: secret}, connections=CONNECTIONS)
    ms = [1000 * seconds for _, seconds in results]
    refused = sum(1 for status, _ in results if status != 200)
    arrived = gateway.stats(bench.gateway_url)["received"]
    seen, once, twice = _handed_over(system, numbers, len(numbers) - refused)
    return {"p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1), "not_200": refused, "posted": len(numbers),
            "seen": seen, "kept_once": once, "kept_twice": twice, "fan_out_arrived": arrived}


def trial(bench, system, count, loaded_first):
    """Both phases on one started project, in the order given: {'quiet': ..., 'draining': ...}."""
    secret = system.config.telegram_webhook_secret
    out = {}
    for phase in (("draining", "quiet") if loaded_first else ("quiet", "draining")):
        gateway.clear(bench.gateway_url)
        # Unique within the trial; each trial starts with an empty Redis.
        base = (len(out) + 1) * 1_000_000
        numbers = list(range(base, base + count))
        if phase == "draining":
            gateway.set_faults(bench.gateway_url, latency_ms=GATEWAY_MS)
            status, _, _ = put(system.api_url, send_body(BIG_USER, FAN_OUT, "t13 fan-out", PAST), timeout=300)
            assert status == 200, status
            gateway.wait_received(bench.gateway_url, UNDER_WAY, time.time() + 60, poll=0.1)
        out[phase] = _phase(bench, system, numbers, secret)
        system.purge()
        gateway.wait_quiet(bench.gateway_url, quiet=2.0, limit=60.0)
    return out


def run(bench):
    """Trials of both phases, order alternating; medians, the ratio and the verdict."""
    seconds = 5 if bench.quick else 15
    count = RATE * seconds
    system = ProxiedProject(bench.infra, "project, through the proxy", **bench.project_settings)
    system.seed(BIG_USER, USERS[BIG_USER])
    runs = {"quiet": [], "draining": []}
    for r in range(bench.runs):
        log(f"  run {r + 1}/{bench.runs}")
        with system.start():
            result = trial(bench, system, count, loaded_first=r % 2 == 1)
        for phase, figures in result.items():
            log(f"    {phase}: {figures}")
            runs[phase].append(figures)
    gateway.clear(bench.gateway_url)
    keys = ("p50_ms", "p99_ms", "max_ms", "not_200", "seen", "kept_once", "kept_twice", "fan_out_arrived")
    figures = {phase: {k: median([r[k] for r in results]) for k in keys} for phase, results in runs.items()}
    every_once = all(r["not_200"] == 0 and r["seen"] == r["posted"] == r["kept_once"] and r["kept_twice"] == 0
                     for results in runs.values() for r in results)
    still_draining = all(r["fan_out_arrived"] < 2 * len(FAN_OUT) for r in runs["draining"])
    met = every_once and still_draining and all(r["p99_ms"] <= TARGET_P99_MS for r in runs["draining"])
    return {"figures": figures, "runs": runs, "rate": RATE, "updates": count, "met": met,
            "every_update_once": every_once, "fan_out_still_draining": still_draining,
            "draining_over_quiet_p99": ratio(figures["draining"]["p99_ms"], figures["quiet"]["p99_ms"])}
