"""The first answer to a send made with an Idempotency-Key, kept so a repeat gets it again."""

import json
import secrets

from core.lua import Script

ANSWER_TTL = 24 * 3600
# A reservation whose request died is freed after this, so the key is usable again.
RESERVATION_TTL = 30

# Free a reservation only if it is still this request's own.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class IdempotencyStore:
    """Per user and key: a reservation while the first request runs, then its answer."""

    def __init__(self, redis, keys):
        self._redis = redis
        self._keys = keys
        self._release = Script(redis, _RELEASE)

    def reserve(self, user, key, fingerprint):
        """Reserve a key for a request: (its token, None), or (None, what the key already holds)."""
        token = secrets.token_hex(8)
        reservation = json.dumps({"fingerprint": fingerprint, "token": token})
        held = self._redis.set(self._keys.idempotency(user, key), reservation,
                               nx=True, get=True, ex=RESERVATION_TTL)
        return (token, None) if held is None else (None, json.loads(held))

    def get(self, user, key):
        """What a key holds: a reservation, an answer (with status, message_id and at), or None."""
        held = self._redis.get(self._keys.idempotency(user, key))
        return json.loads(held) if held is not None else None

    def finish(self, pipe, user, key, fingerprint, status, message_id, at):
        """Queue the write that keeps, for the next 24 hours, what a request's answer is made from.

        The message's id and the time of the answer, not the answer: the
        answer to a big send lists every delivery, and is rebuilt from them.
        """
        answer = {"fingerprint": fingerprint, "status": status, "message_id": message_id, "at": at}
        pipe.set(self._keys.idempotency(user, key), json.dumps(answer), ex=ANSWER_TTL)

    def release(self, user, key, fingerprint, token):
        """Free a key whose request failed, so that a retry runs it again."""
        reservation = json.dumps({"fingerprint": fingerprint, "token": token})
        self._release(keys=[self._keys.idempotency(user, key)], args=[reservation])
