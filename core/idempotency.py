"""The first answer to a send made with an Idempotency-Key, kept so a repeat gets it again."""

import json
import math
import secrets

from core.lua import Script

ANSWER_TTL = 24 * 3600
# A reservation lasts as long as its request may: a send records nothing
# once it is SEND_DEADLINE old (core/sending/record.py), and this much longer covers
# the recording itself. One whose request died is freed after that, so the
# key is usable again.
RESERVATION_MARGIN = 30

# Free a reservation only if it is still this request's own.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class KeyLost(Exception):
    """A request's reservation of its key ran out and the key was taken since."""


class IdempotencyStore:
    """Per user and key: a reservation while the first request runs, then its answer."""

    def __init__(self, redis, keys, send_deadline):
        self._redis = redis
        self._keys = keys
        self.reservation_ttl = math.ceil(send_deadline + RESERVATION_MARGIN)
        self._release = Script(redis, _RELEASE)

    def reserve(self, user, key, fingerprint):
        """Reserve a key for a request: (its token, None), or (None, what the key already holds)."""
        token = secrets.token_hex(8)
        reservation = json.dumps({"fingerprint": fingerprint, "token": token})
        held = self._redis.set(self._keys.idempotency(user, key), reservation,
                               nx=True, get=True, ex=self.reservation_ttl)
        return (token, None) if held is None else (None, json.loads(held))

    def get(self, user, key):
        """What a key holds: a reservation, an answer (with status, message_id and at), or None."""
        held = self._redis.get(self._keys.idempotency(user, key))
        return json.loads(held) if held is not None else None

    def held(self, user, key, fingerprint, token):
        """A guard for the send's transaction (core.dispatch): KeyLost unless the key still holds this reservation.

        Past its reservation (a request stalled that long, past its deadline
        too) the key may have gone to a retry, which then sent: this request
        must record nothing.
        """
        name = self._keys.idempotency(user, key)
        mine = {"fingerprint": fingerprint, "token": token}

        def check(pipe):
            held = pipe.get(name)
            if held is None or json.loads(held) != mine:
                raise KeyLost()
        return [name], check

    def retry_after(self, user, key) -> int:
        """Seconds until a reservation of this key runs out, at least 1."""
        return max(1, self._redis.ttl(self._keys.idempotency(user, key)))

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
