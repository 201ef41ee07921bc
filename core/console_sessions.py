"""Sessions of the web console: one per sign-in, kept in Redis until it is ended or expires.

The browser holds only the session's id, in a cookie; Redis holds its
SHA-256, so a copy of Redis signs no one in. Each session has a CSRF token
of its own that every form and console request must carry.
"""

import secrets
from dataclasses import dataclass

from core.users import token_hash


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in person: whose the session is, its CSRF token, and the API token it signed in with."""

    key: str
    user: str
    csrf: str
    token_id: str

    @property
    def caller(self) -> str:
        """The id its requests count against under the per-token rate limit."""
        return self.token_id or f"console-{self.key[-16:]}"


class ConsoleSessions:
    """Open, find and end console sessions; each lasts `lifetime` seconds from sign-in."""

    def __init__(self, redis, keys, lifetime: float):
        self._redis = redis
        self._keys = keys
        self._lifetime = max(1, int(lifetime))

    @property
    def lifetime(self) -> int:
        """Seconds a session lasts from sign-in."""
        return self._lifetime

    def open(self, user: str, token_id: str = "") -> str:
        """A new session for `user` (signed in with API token `token_id`, if given); its id, for the cookie."""
        session_id = secrets.token_urlsafe(32)
        key = self._keys.console_session(token_hash(session_id))
        pipe = self._redis.pipeline()
        pipe.hset(key, mapping={"user": user, "csrf": secrets.token_urlsafe(32), "token_id": token_id})
        pipe.expire(key, self._lifetime)
        pipe.execute()
        return session_id

    def find(self, session_id: str):
        """The session of this id, or None if there is none (ended, expired or never opened)."""
        key = self._keys.console_session(token_hash(session_id))
        found = self._redis.hgetall(key)
        if not found or "user" not in found:
            return None
        return ConsoleSession(key, found["user"], found["csrf"], found.get("token_id", ""))

    def end(self, session: ConsoleSession):
        """End a session: its cookie signs no one in from now on."""
        self._redis.delete(session.key)
