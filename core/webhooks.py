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
          "delivery.suppressed", "message.completed")
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

# KEYS: the user's webhooks, webhook users, the webhook's attempts. ARGV: user, id.
_DELETE = """
if redis.call('HDEL', KEYS[1], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('DEL', KEYS[3])
return 1
"""


def webhook_view(webhook_id, record: dict, with_secret=False) -> dict:
    """A webhook as /api/v1 shows it; the secret only when just made."""
    view = {"id": webhook_id, "url": record["url"], "events": record["events"],
            "created_at": epoch_to_iso(record["created_at"])}
    if with_secret:
        view["secret"] = record["secret"]
    return view


class WebhookStore:
    """Users' webhooks and the log of their posts' attempts."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._create = Script(redis, _CREATE)
        self._delete = Script(redis, _DELETE)

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
        return bool(self._delete(keys=[k.webhooks(user), k.webhook_users(), k.webhook_attempts(webhook_id)],
                                 args=[user, webhook_id]))

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
