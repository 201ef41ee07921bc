"""Users' outgoing webhooks in Redis: where to post which events, and what each post came to.

A user's webhooks are one hash (Keys.webhooks), and `webhook_users` counts
them per user, changed in the same script: the delivery scripts record
events (Keys.events) only for users it names.
"""

import json
import secrets

from core.keys import Keys
from core.lua import Script
from core.timeutil import epoch_to_iso

EVENTS = ("delivery.sent", "delivery.delivered", "delivery.read", "delivery.failed",
          "delivery.suppressed", "message.completed", "contact.joined", "message.received")
# The event POST /api/v1/webhooks/{id}/test sends, to that webhook alone.
TEST_EVENT = "webhook.test"
# Webhooks one user may have, and attempts kept per webhook.
WEBHOOKS_MAX = 20
ATTEMPTS_KEPT = 100

# KEYS: the user's webhooks, webhook users. ARGV: user, id, record, most.
_CREATE = """
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return 1
"""

# Its posts still pending keep their count (core/webhook_posts.py), each
# taken off as the post is dropped. KEYS: the user's webhooks, webhook
# users, the webhook's attempts, the user's webhook load. ARGV: user, id.
_DELETE = """
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[4], 'dropped:' .. ARGV[2])
return 1
"""


def webhook_view(webhook_id, record: dict, load=None, with_secret=False) -> dict:
    """A webhook as /api/v1 shows it, with its posts pending and events dropped; the secret only when just made."""
    pending, dropped = (load or {}).get(webhook_id, (0, 0))
    view = {"id": webhook_id, "url": record["url"], "events": record["events"],
            "created_at": epoch_to_iso(record["created_at"]), "pending_posts": pending, "dropped_events": dropped}
    if with_secret:
        view["secret"] = record["secret"]
    return view


# An event with its own data (what people send the bot), for a user with
# webhooks. KEYS: events, webhook users. ARGV: user, type, data, now.
_RECORD = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[1], '*', 'type', ARGV[2], 'user', ARGV[1], 'data', ARGV[3], 'at', ARGV[4])
return 1
"""


class WebhookStore:
    """Users' webhooks and the log of their posts' attempts."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._create = Script(redis, _CREATE)
        self._delete = Script(redis, _DELETE)
        self._record = Script(redis, _RECORD)

    def record(self, user, kind, data: dict, now) -> bool:
        """An event whose `data` is given (contact.joined, message.received) for the user's webhooks, if any."""
        return bool(self._record(keys=[self._keys.events(), self._keys.webhook_users()],
                                 args=[user, kind, json.dumps(data), now]))

    def create(self, user, url, events, now):
        """Record a new webhook of the user's with a fresh secret: (id, record), or None past WEBHOOKS_MAX."""
        webhook_id = f"wh_{secrets.token_hex(12)}"
        record = {"url": url, "events": list(events), "secret": f"whsec_{secrets.token_hex(24)}",
                  "created_at": now}
        made = self._create(keys=[self._keys.webhooks(user), self._keys.webhook_users()],
                            args=[user, webhook_id, json.dumps(record), WEBHOOKS_MAX])
        return (webhook_id, record) if made else None

    def get(self, user, webhook_id) -> dict | None:
        """One of the user's webhooks (url, events, secret, created_at), or None."""
        raw = self._redis.hget(self._keys.webhooks(user), webhook_id)
        return None if raw is None else json.loads(raw)

    def list_for(self, user) -> list:
        """The user's webhooks as (id, record), oldest first."""
        found = [(webhook_id, json.loads(raw))
                 for webhook_id, raw in self._redis.hgetall(self._keys.webhooks(user)).items()]
        return sorted(found, key=lambda item: (item[1]["created_at"], item[0]))

    def delete(self, user, webhook_id) -> bool:
        """Remove a webhook of the user's and its attempt log; whether there was one."""
        k = self._keys
        return bool(self._delete(keys=[k.webhooks(user), k.webhook_users(), k.webhook_attempts(webhook_id),
                                       k.webhook_load(user)],
                                 args=[user, webhook_id]))

    def load(self, user) -> dict:
        """The user's webhooks' posts pending and events dropped past the caps: {webhook id: (pending, dropped)}."""
        counts = {}
        for field, value in self._redis.hgetall(self._keys.webhook_load(user)).items():
            kind, _, webhook_id = field.partition(":")
            if webhook_id:
                pending, dropped = counts.get(webhook_id, (0, 0))
                counts[webhook_id] = (int(value), dropped) if kind == "pending" else (pending, int(value))
        return counts

    def attempts(self, webhook_id, limit=ATTEMPTS_KEPT) -> list:
        """A webhook's latest post attempts, newest first."""
        log = self._redis.lrange(self._keys.webhook_attempts(webhook_id), 0, limit - 1)
        return [json.loads(raw) for raw in log]


def test_event(webhook_id, now) -> tuple:
    """A webhook.test event for one webhook: (event id, body)."""
    event_id = f"evt_test_{secrets.token_hex(8)}"
    body = json.dumps({"id": event_id, "type": TEST_EVENT, "created_at": epoch_to_iso(now),
                       "data": {"webhook_id": webhook_id}})
    return event_id, body
