"""Texts people sent the bot, kept per sender and shown per contact and per user.

Kept by who sent them (Keys.inbox, the messenger and the sender's id), the
latest INBOX_KEEP of each, for RETENTION_DAYS: a contact's inbox is what
its ids sent, so a contact added or bound later shows what that id wrote
before. Each text is also put in the inbox of every user with a contact
holding that id when it came (Keys.user_inbox), for GET /api/v1/inbox
across contacts, by time, bounded by the same retention and USER_INBOX_MAX.
"""

import hashlib
import json

from core.config import MESSENGERS
from core.timeutil import epoch_to_iso

USER_INBOX_MAX = 10_000


def sender_id(messenger, messenger_id) -> str:
    """The form an id is kept under: a WhatsApp number's digits, as its webhooks name it (wa_id)."""
    if messenger == "whatsapp":
        return "".join(ch for ch in messenger_id if ch.isdigit())
    return messenger_id


def message_view(message, contact=None) -> dict:
    """A kept text as the API shows it."""
    view = {"id": message["id"], "messenger": message["messenger"], "from": message["from"],
            "text": message["text"], "received_at": epoch_to_iso(message["at"])}
    if contact is not None:
        view["contact"] = contact
    return view


def message_id(messenger, update) -> str:
    """A kept text's id: the same for the same update of the same messenger, and no other."""
    return "in_" + hashlib.sha256(f"{messenger}:{update}".encode()).hexdigest()[:24]


class InboxStore:
    """Inbound texts by sender, and each user's by time."""

    def __init__(self, redis, keys, config):
        self._redis = redis
        self._keys = keys
        self._keep = config.inbox_keep
        self._retention = config.retention_days * 24 * 3600

    def add(self, messenger, update, sender, text, now, holders) -> dict:
        """Keep a text from sender received at `now`, and put it in each holder's user's inbox ((user, contact) pairs).

        Kept by when it came, not when it is added: workers take a sender's
        texts in any order, and the latest INBOX_KEEP are the ones kept. Its
        id comes from the messenger's id of the update, so a task run again
        (its worker killed before it was acknowledged) keeps the same text
        once, not twice.
        """
        # To the millisecond, as received_at shows it: `since` a text's received_at is after it.
        at = round(now, 3)
        message = {"id": message_id(messenger, update), "messenger": messenger,
                   "from": sender_id(messenger, sender), "text": text, "at": at}
        key = self._keys.inbox(messenger, message["from"])
        seconds = max(1, round(self._retention))
        pipe = self._redis.pipeline(transaction=True)
        pipe.zadd(key, {json.dumps(message): at})
        pipe.zremrangebyrank(key, 0, -self._keep - 1)
        pipe.expire(key, seconds)
        for user, contact in holders:
            user_key = self._keys.user_inbox(user)
            pipe.zadd(user_key, {json.dumps({**message, "contact": contact}): at})
            pipe.zremrangebyscore(user_key, "-inf", f"({at - self._retention}")
            pipe.zremrangebyrank(user_key, 0, -USER_INBOX_MAX - 1)
            pipe.expire(user_key, seconds)
        pipe.execute()
        return message

    def for_contact(self, ids: dict, now) -> list:
        """The latest INBOX_KEEP texts from a contact's ids ({messenger: id}), newest first."""
        held = [(m, sender_id(m, ids[m])) for m in MESSENGERS if ids.get(m)]
        pipe = self._redis.pipeline(transaction=False)
        for messenger, sender in held:
            pipe.zrange(self._keys.inbox(messenger, sender), 0, self._keep - 1, desc=True)
        found = [json.loads(raw) for kept in pipe.execute() for raw in kept]
        fresh = [m for m in found if m["at"] > now - self._retention]
        return sorted(fresh, key=lambda m: m["at"], reverse=True)[:self._keep]

    def for_user(self, user, since, limit, now) -> list:
        """The user's texts received after `since` (epoch seconds), oldest first, at most limit."""
        low = max(since, now - self._retention)
        raw = self._redis.zrangebyscore(self._keys.user_inbox(user), f"({low}", "+inf", start=0, num=limit)
        return [json.loads(item) for item in raw]

    def count_for(self, user, now) -> int:
        """How many texts the user's inbox holds within the retention."""
        return self._redis.zcount(self._keys.user_inbox(user), f"({now - self._retention}", "+inf")

    def newest_for(self, user, skip, limit, now) -> list:
        """A page of the user's texts within the retention, newest first: `limit` of them after the first `skip`."""
        raw = self._redis.zrevrangebyscore(self._keys.user_inbox(user), "+inf", f"({now - self._retention}",
                                           start=skip, num=limit)
        return [json.loads(item) for item in raw]
