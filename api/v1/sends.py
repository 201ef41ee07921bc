"""A send through /api/v1: resolve when and over what, and run it once per Idempotency-Key."""

import hashlib
import json
import time
from datetime import datetime

from api.errors import ApiError
from api.sending import send_message
from api.v1.schemas import FALLBACK_WITHIN
from api.v1.views import new_message_view, recorded_view
from core.config import MESSENGERS
from core.timeutil import epoch_to_wallclock, wallclock_to_epoch

ACCEPTED = 202
# How long a repeat waits for the first request with its key to finish.
RACE_WAIT = 10.0
RACE_POLL = 0.05


def send(svc, user, data, key, body):
    """Send a message, or replay the first answer to this key: (answer, status, headers)."""
    if key is None:
        return _send(svc, user, data), ACCEPTED, {}
    store = svc.idempotency
    fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    deadline = time.monotonic() + RACE_WAIT
    while True:
        token, held = store.reserve(user, key, fingerprint)
        if token is not None:
            break
        if held["fingerprint"] != fingerprint:
            raise _conflict("was used with another request body")
        if "status" in held:
            # Answers kept before ids were: the answer itself.
            answer = held.get("body") or recorded_view(svc, user, held["message_id"], held["at"])
            return answer, held["status"], {"Idempotent-Replayed": "true"}
        if time.monotonic() > deadline:
            raise _conflict("belongs to a request still in progress; try again shortly")
        time.sleep(RACE_POLL)

    def keep_answer(pipe, message, now):
        store.finish(pipe, user, key, fingerprint, ACCEPTED, message.id, now)

    try:
        return _send(svc, user, data, keep_answer), ACCEPTED, {}
    except BaseException:
        # Unless the answer was recorded (it replaced the reservation), free the key for a retry.
        store.release(user, key, fingerprint, token)
        raise


def _conflict(problem):
    return ApiError(409, f"This Idempotency-Key {problem}.",
                    {"headers": {"Idempotency-Key": [f"The key {problem}."]}})


def _send(svc, user, data, keep=None):
    """Send; the answer is made, and `keep(pipe, message, now)` queued, in the recording transaction."""
    due, wallclock = _instant(data["not_before"], svc.config.timezone)
    chain = data.get("fallback")
    if chain:
        # The chain's order is the caller's.
        messengers = tuple(chain)
        after = data.get("fallback_after") or "sent"
        fallback = (after, data.get("fallback_within") or FALLBACK_WITHIN if after == "delivered" else 0)
    else:
        chosen = data["messengers"] or MESSENGERS
        messengers, fallback = tuple(m for m in MESSENGERS if m in chosen), None
    answer = {}

    def record(pipe, message, now):
        answer.update(new_message_view(message, now))
        if keep is not None:
            keep(pipe, message, now)

    send_message(svc, user, data["to"], data["text"], due, wallclock, messengers,
                 also=record, field="to", fallback=fallback)
    return answer


def _instant(when, tz):
    """(epoch seconds, wall-clock list) of a not_before: an aware datetime, a list, or None."""
    if when is None:
        due = time.time()
        return due, epoch_to_wallclock(due, tz)
    if isinstance(when, datetime):
        due = when.timestamp()
        return due, epoch_to_wallclock(due, tz)
    return wallclock_to_epoch(when, tz), when
