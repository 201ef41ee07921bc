"""A list of messages shows each one's deliveries counted by status, kept as they change.

The counts are kept in the message as each delivery moves on, so a page of
messages reads no delivery; messages recorded before counts were kept are
counted by reading their deliveries.
"""

import time
from collections import Counter

import redis

from apiclient import v1, wallclock
from core.keys import Keys
from helpers import wait_until


def listed(stack, token):
    return {m["id"]: m for m in v1(stack, token, "GET", "/messages", params={"page_size": 100}).json()}


def read_counts(stack, token, message_id):
    """Counts by status from the message's own deliveries."""
    return dict(Counter(d["status"] for d in v1(stack, token, "GET", f"/messages/{message_id}").json()["deliveries"]))


def test_counts_follow_every_change_and_match_the_deliveries(stack, user_token):
    token = user_token("alice")
    for name in ("A", "B"):
        v1(stack, token, "POST", "/contacts", {"name": name, "telegram": name, "viber": name})
    now = v1(stack, token, "POST", "/messages", {"to": ["A", "B"], "text": "now"}).json()["id"]
    later = v1(stack, token, "POST", "/messages",
               {"to": ["A", "B"], "text": "later", "not_before": wallclock(time.time() + 3600)}).json()["id"]
    assert listed(stack, token)[later]["counts"] == {"scheduled": 4}

    # Telegram sent; Viber fails for good on the fake gateway.
    wait_until(lambda: listed(stack, token)[now]["counts"] == {"sent": 2, "failed": 2}, timeout=30,
               message="the first message finished")
    assert listed(stack, token)[now]["status"] == "partial"
    v1(stack, token, "POST", f"/messages/{later}/cancel")
    assert listed(stack, token)[later]["counts"] == {"cancelled": 4}
    assert listed(stack, token)[later]["status"] == "cancelled"

    failed = v1(stack, token, "GET", "/failed").json()
    v1(stack, token, "POST", f"/failed/{failed[0]['delivery_id']}/retry")
    wait_until(lambda: listed(stack, token)[now]["counts"] == {"sent": 2, "failed": 2}
               and len(v1(stack, token, "GET", "/failed").json()) == 2, timeout=30,
               message="the retried delivery failed again")
    for message_id, message in listed(stack, token).items():
        assert message["counts"] == read_counts(stack, token, message_id)


def test_a_message_recorded_before_counts_were_kept_is_counted_by_reading(stack, user_token):
    token = user_token("alice")
    v1(stack, token, "POST", "/contacts", {"name": "A", "telegram": "A", "viber": "A"})
    message_id = v1(stack, token, "POST", "/messages", {"to": "A", "text": "old"}).json()["id"]
    wait_until(lambda: listed(stack, token)[message_id]["counts"] == {"sent": 1, "failed": 1},
               timeout=30, message="finished")
    client = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
    key = Keys(stack.config.redis_prefix).message(message_id)
    # As the code before counts were kept wrote it.
    client.hdel(key, "counted", *(f for f in client.hkeys(key) if f.startswith("n:")))
    assert listed(stack, token)[message_id]["counts"] == {"sent": 1, "failed": 1}
    assert listed(stack, token)[message_id]["status"] == "partial"
