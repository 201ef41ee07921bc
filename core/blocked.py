"""Messenger IDs that refused a user's messages: later deliveries to them are suppressed.

One hash for all users (Keys.blocked), so the claim script can look a
delivery up without knowing its user's keys beforehand: field
"<messenger>:<length of the user's name in bytes>:<user>:<contact>", value
the messenger ID that refused. A contact whose ID for that messenger
changes is no longer blocked there; the ID that refused stays blocked
until it is unblocked.
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

    def blocked(self, user, contact: dict) -> list:
        """The messengers whose current ID in `contact` ({"name", messenger: id}) refused the user."""
        held = [m for m in MESSENGERS if contact.get(m)]
        if not held:
            return []
        found = self._redis.hmget(self._key, [blocked_field(m, user, contact["name"]) for m in held])
        return [m for m, blocked_id in zip(held, found) if blocked_id == contact[m]]

    def unblock(self, user, name, messengers=MESSENGERS) -> None:
        """Forget that these messengers of a contact refused the user."""
        self._redis.hdel(self._key, *(blocked_field(m, user, name) for m in messengers))
