"""Telegram deliveries that wait for their contact to join (statuses.AWAITING_CONTACT), and their release.

A Telegram bot writes only to a numeric chat id, of a person who pressed
Start: in real mode, a delivery whose contact holds a username instead
waits, without a request to Telegram, until the person follows an invite
(workers/inbound.py joined() releases it to the chat id, due at once) or
AWAIT_CONTACT_DAYS pass (its schedule entry comes back then and the worker
fails it, into the failed store). A chat id set by hand (the contact
written through either API, or imported) releases them as a join does. Each user's
contact keeps the ids of its waiting deliveries in a set (Keys.awaiting); a
delivery that ended otherwise meanwhile (cancelled) is dropped from it on
release.
"""

import re

from core.dispatch import Job
from core.lua import Script, lua_source
from core.messages import message_id_of

# What Telegram's sendMessage takes as chat_id: a chat's number, or a
# public channel's @username; a person's username is no chat id.
TELEGRAM_CHAT = re.compile(r"-?[0-9]+|@[A-Za-z0-9_]{4,}")

# Its scripts (core/scripts/, where each says its KEYS and ARGV).
_AWAIT = lua_source("await")
_RELEASE = lua_source("release")


def needs_contact(config, messenger, to) -> bool:
    """Whether a delivery must wait for its contact to join before it may be sent (Telegram, real mode)."""
    return config.messenger_api == "real" and messenger == "telegram" and not TELEGRAM_CHAT.fullmatch(to or "")


class AwaitingDeliveries:
    """Deliveries waiting for their contact's Telegram chat id."""

    def __init__(self, redis, keys):
        self._redis = redis
        self._keys = keys
        self._await = Script(redis, _AWAIT)
        self._release = Script(redis, _RELEASE)

    def wait(self, delivery_id, ticket, attempt, now, until, moment, error, user, contact) -> bool:
        """Make a claimed delivery wait until `until` for its contact (its entry at `moment`); False if not held."""
        k = self._keys
        return bool(self._await(
            keys=[k.delivery(delivery_id), k.message(message_id_of(delivery_id)), k.schedule(),
                  k.awaiting(user, contact)],
            args=[ticket, now, until, error, k.schedule_member(delivery_id, ticket),
                  k.schedule_member(delivery_id, ticket + 1), moment, delivery_id, attempt],
        ))

    def waiting_among(self, user, contacts, batch=1000) -> list:
        """Which of these contact names have deliveries waiting for them, asked a batch at a time."""
        names = list(contacts)
        waiting = []
        for start in range(0, len(names), batch):
            chunk = names[start:start + batch]
            pipe = self._redis.pipeline(transaction=False)
            for name in chunk:
                pipe.exists(self._keys.awaiting(user, name))
            waiting += [name for name, found in zip(chunk, pipe.execute(), strict=True) if found]
        return waiting

    def release(self, user, contact, chat_id, now, moment) -> list:
        """Send a contact's waiting deliveries to `chat_id` now: their (delivery id, new ticket, lane)."""
        k = self._keys
        released = []
        for delivery_id in self._redis.smembers(k.awaiting(user, contact)):
            reply = self._release(
                keys=[k.delivery(delivery_id), k.message(message_id_of(delivery_id)), k.schedule(),
                      k.awaiting(user, contact)],
                args=[delivery_id, now, moment, chat_id],
            )
            if reply:
                released.append((delivery_id, int(reply[0]), reply[1] or None))
        return released

    def send_now(self, dispatcher, user, contact, chat_id, now) -> int:
        """Hand a contact's waiting deliveries to Celery, due now, if `chat_id` is a chat id; how many."""
        if not TELEGRAM_CHAT.fullmatch(chat_id or ""):
            return 0
        released = self.release(user, contact, chat_id, now, dispatcher.schedule.moment(now, now))
        dispatcher.publish([Job(delivery_id, ticket, now, ("telegram", contact), lane)
                            for delivery_id, ticket, lane in released])
        return len(released)
