"""Target 9: a page of messages for a user with 100,000 deliveries (issue 18).

Through the project's API: GET /api/v1/messages?page_size=100 for a user
with 1,000 messages of 100 deliveries each, due a day ahead (p50, p99 of
the first page and of a middle page). Each message keeps its counts by
status as its deliveries change, so the page reads no delivery. The same
run then takes the counts away (as messages recorded before counts were
kept carry none) and times the same pages read the old way, every
delivery's status: the ratio is what keeping the counts saves.
"""

import time

import redis

from bench.runner import log
from bench.stats import percentile, ratio
from bench.t8_contacts import Client
from core.keys import Keys
from core.users import UserStore

NAME = "listing"
TITLE = "a page of 100 messages for a user with 100,000 deliveries: kept counts vs reading each"
PER_MESSAGE = 100
PAGE = 100
TARGET_MS = 50


def _pages(client, messages, samples):
    middle = max(1, messages // PAGE // 2)
    times = {"first page": [], "middle page": []}
    for _ in range(samples):
        for label, page in (("first page", 1), ("middle page", middle)):
            started = time.perf_counter()
            items = client.call("GET", "/api/v1/messages", params={"page": page, "page_size": PAGE})
            times[label].append(time.perf_counter() - started)
            assert len(items) == PAGE and sum(items[0]["counts"].values()) == PER_MESSAGE
    return {label: {"p50_ms": round(percentile(s, 50) * 1000, 2), "p99_ms": round(percentile(s, 99) * 1000, 2)}
            for label, s in times.items()}


def _strip_counts(system, user):
    client = redis.Redis.from_url(system.config.redis_url, decode_responses=True)
    keys = Keys(system.config.redis_prefix)
    for message_id in client.zrange(keys.user_messages(user), 0, -1):
        key = keys.message(message_id)
        client.hdel(key, "counted", *(f for f in client.hkeys(key) if f.startswith("n:")))


def trial(bench, system):
    """Fill one user's messages, time the pages with counts kept, then read the old way."""
    messages = 100 if bench.quick else 1_000
    user = "t9list"
    users = UserStore(bench.infra.mongo[system.config.mongo_db])
    if not users.exists(user):
        users.create_user(user)
    client = Client(system.api_url, user, users.issue_token(user)[1])
    names = [f"c{i:03d}" for i in range(PER_MESSAGE)]
    client.call("POST", "/api/v1/contacts/import", [{"name": n, "telegram": n} for n in names])
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    log(f"    {messages:,} messages of {PER_MESSAGE} deliveries")
    for n in range(messages):
        client.call("POST", "/api/v1/messages", {"to": names, "text": f"t9 {n}", "not_before": later}, ok=202)
    samples = 20 if bench.quick else 100
    kept = _pages(client, messages, samples)
    _strip_counts(system, user)
    read = _pages(client, messages, max(5, samples // 10))
    return {"deliveries": messages * PER_MESSAGE, "kept": kept, "read": read}


def run(bench):
    """One trial; the ratios and the verdict."""
    system = bench.project()
    with system.start():
        result = trial(bench, system)
    kept, read = result["kept"], result["read"]
    result["speedup_p50"] = {label: ratio(read[label]["p50_ms"], kept[label]["p50_ms"]) for label in kept}
    result["met"] = result["deliveries"] >= 100_000 and all(
        row["p99_ms"] <= TARGET_MS for row in kept.values())
    return result
