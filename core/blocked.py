"""Messenger IDs that refused a user's messages: later deliveries to them are suppressed.

One hash for all users (Keys.blocked), so the claim script can look a
delivery up without knowing its user's keys beforehand: field
"<messenger>:<length of the user's name in bytes>:<user>:<contact>", value
the messenger ID that refused. A contact whose ID for that messenger
changes is no longer blocked there; the ID that refused stays blocked
until it is unblocked. A block the person asked for (an opt-out) is also
in Keys.opted_out, so that an operator's unblock does not override it
unless forced; the person coming back lifts both.
"""

from core.config import MESSENGERS


def blocked_field(messenger, user, contact) -> str:
    """The blocked hash's field for a user's contact on a messenger (as the claim script builds it)."""
    return f"{messenger}:{len(user.encode())}:{user}:{contact}"


class BlockedIds:
    """Which messengers of a user's contacts are blocked, and unblocking them."""

    def __init__(self, redis, keys):
        self._redis = redis
        self._key = keys.blocked()
        self._opted_out = keys.opted_out()

    def blocked(self, user, contact: dict) -> list:
        """The messengers whose current ID in `contact` ({"name", messenger: id}) refused the user."""
        held = [m for m in MESSENGERS if contact.get(m)]
        if not held:
            return []
        found = self._redis.hmget(self._key, [blocked_field(m, user, contact["name"]) for m in held])
        return [m for m, blocked_id in zip(held, found, strict=True) if blocked_id == contact[m]]

    def opted_out(self, user, contact: dict) -> list:
        """The messengers whose current ID in `contact` opted out of the user's messages (a subset of blocked)."""
        held = [m for m in MESSENGERS if contact.get(m)]
        if not held:
            return []
        found = self._redis.hmget(self._opted_out, [blocked_field(m, user, contact["name"]) for m in held])
        return [m for m, opted_id in zip(held, found, strict=True) if opted_id == contact[m]]

    def opt_out(self, user, name, messenger, messenger_id) -> None:
        """Suppress deliveries to a contact's ID on a messenger because the person asked, until they come back."""
        field = blocked_field(messenger, user, name)
        with self._redis.pipeline() as pipe:
            pipe.hset(self._key, field, messenger_id)
            pipe.hset(self._opted_out, field, messenger_id)
            pipe.execute()

    def unblock(self, user, name, messengers=MESSENGERS) -> None:
        """Forget that these messengers of a contact refused the user, opted out or not."""
        fields = [blocked_field(m, user, name) for m in messengers]
        with self._redis.pipeline() as pipe:
            pipe.hdel(self._key, *fields)
            pipe.hdel(self._opted_out, *fields)
            pipe.execute()
