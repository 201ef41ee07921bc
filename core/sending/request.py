"""A send as asked (POST /api/v1/messages's body, or a schedule's): when and over what, once per Idempotency-Key."""

import hashlib
import json
import time
import unicodedata
from datetime import datetime

from marshmallow.fields import Boolean

from core.config import MESSENGERS
from core.idempotency import KeyLost
from core.personal import Personal
from core.sending.errors import KeyConflict
from core.sending.record import plan_message, send_message, template_refused
from core.sending.whatsapp import send_template
from core.statuses import STANDBY, waiting_status
from core.templates import MessageTemplate, TemplateRefused
from core.texts import LONG_TEXT_MAX
from core.timeutil import epoch_to_iso, epoch_to_wallclock, wallclock_to_epoch
from core.timing import parse_time_of_day
from core.views import message_view, new_message_view

# The status of a send's answer (the API's 202 Accepted), kept with it for a repeat.
ACCEPTED = 202
# How long a repeat waits for the first request with its key to finish.
RACE_WAIT = 10.0
RACE_POLL = 0.05
# How long a sent step of a chain that ends when delivered waits for its receipt, unless the send says.
FALLBACK_WITHIN = 300.0


def send(svc, user, data, key, body, started=None, schedule_id=None) -> tuple:
    """Send a message, or give again the first answer to this key: (answer, None), or (answer, its status) again.

    `data` is the send as the API's schema loads `body`; `started` as
    send_message takes it. A recurring send's run names its schedule,
    which the message keeps.
    """
    if key is None:
        return _send(svc, user, data, started=started, schedule_id=schedule_id), None
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
            return answer, held["status"]
        if time.monotonic() > deadline:
            raise _conflict("belongs to a request still in progress; try again shortly",
                            store.retry_after(user, key))
        time.sleep(RACE_POLL)

    def keep_answer(pipe, message, now):
        store.finish(pipe, user, key, fingerprint, ACCEPTED, message.id, now)

    try:
        return _send(svc, user, data, keep_answer, schedule_id, store.held(user, key, fingerprint, token),
                     started), None
    except KeyLost:
        # Stalled past its reservation, and a retry took the key: the retry's send is the one.
        return send(svc, user, data, key, body, started, schedule_id)
    except BaseException:
        # Unless the answer was recorded (it replaced the reservation), free the key for a retry.
        store.release(user, key, fingerprint, token)
        raise


def _conflict(problem, retry_after=None):
    return KeyConflict(f"This Idempotency-Key {problem}.", f"The key {problem}.", retry_after)


def _send(svc, user, data, keep=None, schedule_id=None, guard=None, started=None):
    """Send; the answer is made, and `keep(pipe, message, now)` queued, in the recording transaction."""
    answer = {}

    def record(pipe, message, now):
        answer.update(new_message_view(message, now))
        if keep is not None:
            keep(pipe, message, now)

    send_message(svc, user, data["to"], data["text"], also=record, field="to", guard=guard, started=started,
                 **_planned(svc, data, {"schedule_id": schedule_id} if schedule_id else {}))
    return answer


def recorded_view(svc, user, message_id, now) -> dict:
    """A send's answer again, rebuilt from what the send recorded at `now` (as new_message_view)."""
    message = svc.deliveries.message(message_id)
    if message.get("sender") != user:
        raise KeyConflict("This Idempotency-Key's message is no longer kept.",
                          "The key's message is no longer kept.")
    ids = svc.deliveries.delivery_ids_of(message_id, message)
    deliveries = []
    for d in svc.deliveries.get_many(ids):
        due = float(d.get("due_at") or message["due"])
        deliveries.append({**d, "status": STANDBY if int(d.get("step") or 0) > 1
                           else waiting_status(due, now), "attempts": 0, "last_error": "",
                           "updated_at": now})
    return message_view(message_id, message, ids, deliveries)


def preview(svc, user, data) -> dict:
    """What a send of `data` would deliver, to whom, with what text and when; nothing written."""
    message = plan_message(svc, user, data["to"], data["text"], field="to", **_planned(svc, data))
    return {"deliveries": [
        {"contact": d.contact, "messenger": d.messenger, "to": d.to, "text": d.text or message.text,
         "due_at": epoch_to_iso(max(message.due if d.due is None else d.due, message.created_at)),
         **({"whatsapp_template": json.loads(d.whatsapp_template)} if d.whatsapp_template else {})}
        for d in message.deliveries]}


def stored_send(body) -> dict:
    """A schedule's stored body as the send it asks for, in the form the API's schema loads a send's body.

    The body was checked as a send's when the schedule was made
    (api/v1/schedule_schemas.py); it names no time of its own.
    """
    names = [body["to"]] if isinstance(body["to"], str) else body["to"]
    whatsapp = body.get("whatsapp_template")
    quiet = body.get("quiet_hours")
    within = body.get("fallback_within")
    return {
        # Each name in Unicode's NFC form, repeats dropped, as a contact's name is stored.
        "to": list(dict.fromkeys(unicodedata.normalize("NFC", name) for name in names)),
        "text": body["text"],
        # A flag as the schema reads it: true, or a string or number that means it ("yes", 1).
        "template": body.get("template", False) in Boolean.truthy,
        "whatsapp_template": whatsapp and {"name": whatsapp["name"], "language": whatsapp["language"],
                                           "params": whatsapp.get("params", [])},
        "not_before": None,
        "local_time": None,
        "quiet_hours": None if quiet is None else tuple(parse_time_of_day(t) for t in quiet),
        "messengers": body.get("messengers"),
        "fallback": body.get("fallback"),
        "fallback_after": body.get("fallback_after"),
        "fallback_within": None if within is None else float(within),
    }


def _planned(svc, data, asked=None) -> dict:
    """send_message's keywords for a send's due time, messengers, chain and personal parts.

    A `whatsapp_template` is checked here against the business account's
    templates (SendRefused, or TryLater if they cannot be synced), before anything is written.
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
