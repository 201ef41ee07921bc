"""A send through /api/v1: resolve when and over what, and run it once per Idempotency-Key."""

import hashlib
import json
import time
from datetime import datetime

from api.errors import ApiError
from api.fields import LONG_TEXT_MAX
from api.sending import plan_message, send_message, template_refused
from api.v1.schemas import FALLBACK_WITHIN
from api.v1.views import new_message_view, recorded_view
from api.whatsapp import send_template
from core.config import MESSENGERS
from core.idempotency import KeyLost
from core.personal import Personal
from core.templates import MessageTemplate, TemplateRefused
from core.timeutil import epoch_to_iso, epoch_to_wallclock, wallclock_to_epoch

ACCEPTED = 202
# How long a repeat waits for the first request with its key to finish.
RACE_WAIT = 10.0
RACE_POLL = 0.05


def send(svc, user, data, key, body, schedule_id=None):
    """Send a message, or replay the first answer to this key: (answer, status, headers).

    A recurring send's run names its schedule, which the message keeps.
    """
    if key is None:
        return _send(svc, user, data, schedule_id=schedule_id), ACCEPTED, {}
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
            raise _conflict("belongs to a request still in progress; try again shortly",
                            store.retry_after(user, key))
        time.sleep(RACE_POLL)

    def keep_answer(pipe, message, now):
        store.finish(pipe, user, key, fingerprint, ACCEPTED, message.id, now)

    try:
        return _send(svc, user, data, keep_answer, schedule_id,
                     store.held(user, key, fingerprint, token)), ACCEPTED, {}
    except KeyLost:
        # Stalled past its reservation, and a retry took the key: the retry's send is the one.
        return send(svc, user, data, key, body, schedule_id)
    except BaseException:
        # Unless the answer was recorded (it replaced the reservation), free the key for a retry.
        store.release(user, key, fingerprint, token)
        raise


def _conflict(problem, retry_after=None):
    return ApiError(409, f"This Idempotency-Key {problem}.",
                    {"headers": {"Idempotency-Key": [f"The key {problem}."]}},
                    headers={"Retry-After": str(retry_after)} if retry_after else None)


def _send(svc, user, data, keep=None, schedule_id=None, guard=None):
    """Send; the answer is made, and `keep(pipe, message, now)` queued, in the recording transaction."""
    answer = {}

    def record(pipe, message, now):
        answer.update(new_message_view(message, now))
        if keep is not None:
            keep(pipe, message, now)

    send_message(svc, user, data["to"], data["text"], also=record, field="to", guard=guard,
                 **_planned(svc, data, {"schedule_id": schedule_id} if schedule_id else {}))
    return answer


def preview(svc, user, data) -> dict:
    """What a send of `data` would deliver, to whom, with what text and when; nothing written."""
    message = plan_message(svc, user, data["to"], data["text"], field="to", **_planned(svc, data))
    return {"deliveries": [
        {"contact": d.contact, "messenger": d.messenger, "to": d.to, "text": d.text or message.text,
         "due_at": epoch_to_iso(max(message.due if d.due is None else d.due, message.created_at)),
         **({"whatsapp_template": json.loads(d.whatsapp_template)} if d.whatsapp_template else {})}
        for d in message.deliveries]}


def _planned(svc, data, asked=None) -> dict:
    """send_message's keywords for a v1 send's due time, messengers, chain and personal parts.

    A `whatsapp_template` is checked here against the business account's
    templates (a 422, or a 503 if they cannot be synced), before anything is written.
    """
    tz = svc.config.timezone
    local = data.get("local_time")
    if local is not None:
        due, wallclock = time.time(), [local.year, local.month, local.day, local.hour, local.minute,
                                       local.second]
    else:
        due, wallclock = _instant(data["not_before"], tz)
    chain = data.get("fallback")
    if chain:
        # The chain's order is the caller's.
        messengers = tuple(chain)
        after = data.get("fallback_after") or "sent"
        fallback = (after, data.get("fallback_within") or FALLBACK_WITHIN if after == "delivered" else 0)
    else:
        chosen = data["messengers"] or MESSENGERS
        messengers, fallback = tuple(m for m in MESSENGERS if m in chosen), None
    asked = dict(asked or {})
    template = None
    if data.get("template"):
        try:
            template = MessageTemplate(data["text"], LONG_TEXT_MAX, svc.config.template_render_budget,
                                       svc.config.template_send_budget)
        except TemplateRefused as exc:
            raise template_refused(exc) from None
        asked["template"] = 1
    whatsapp = None
    if data.get("whatsapp_template") is not None:
        whatsapp = send_template(svc, data["whatsapp_template"], template is not None,
                                 svc.config.template_send_budget)
        asked["whatsapp_template"] = json.dumps(data["whatsapp_template"], ensure_ascii=False)
    quiet = data.get("quiet_hours")
    if local is not None:
        asked["local_time"] = local.isoformat(timespec="minutes" if not local.second else "seconds")
    if quiet is not None:
        asked["quiet_hours"] = json.dumps([t.strftime("%H:%M") for t in quiet])
    personal = None
    if template or local is not None or quiet is not None or whatsapp is not None:
        personal = Personal(due, tz, template, local, quiet, whatsapp)
    return {"due": due, "wallclock": wallclock, "messengers": messengers, "fallback": fallback,
            "personal": personal, "asked": asked}


def _instant(when, tz):
    """(epoch seconds, wall-clock list) of a not_before: an aware datetime, a list, or None."""
    if when is None:
        due = time.time()
        return due, epoch_to_wallclock(due, tz)
    if isinstance(when, datetime):
        due = when.timestamp()
        return due, epoch_to_wallclock(due, tz)
    return wallclock_to_epoch(when, tz), when
