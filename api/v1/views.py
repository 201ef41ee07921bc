"""Messages as /api/v1 shows them, read from the delivery store; only the sender's."""

import time
from collections import Counter

from api.errors import ApiError
from core.statuses import STANDBY, STATUSES, waiting_status
from core.views import message_head, message_view, summary_status


def new_message_view(message, now) -> dict:
    """A message just recorded, as the store holds it now (what a send answers)."""
    # As DeliveryStore.write records it: waiting, no attempt yet.
    fields = {"sender": message.sender, "text": message.text, "due": message.due,
              "created_at": message.created_at, **message.asked}
    deliveries = []
    for d in message.deliveries:
        due = max(message.due if d.due is None else d.due, now)
        deliveries.append({"contact": d.contact, "messenger": d.messenger, "to": d.to,
                           "status": STANDBY if d.waits else waiting_status(due, now), "attempts": 0,
                           "last_error": "", "updated_at": now, "step": d.step, "due_at": due,
                           "text": d.text, "whatsapp_template": d.whatsapp_template})
    return message_view(message.id, fields, [d.id for d in message.deliveries], deliveries)


def recorded_view(svc, user, message_id, now) -> dict:
    """A send's answer again, rebuilt from what the send recorded at `now` (as new_message_view)."""
    message = svc.deliveries.message(message_id)
    if message.get("sender") != user:
        raise ApiError(409, "This Idempotency-Key's message is no longer kept.",
                       {"headers": {"Idempotency-Key": ["The key's message is no longer kept."]}})
    ids = svc.deliveries.delivery_ids_of(message_id, message)
    deliveries = []
    for d in svc.deliveries.get_many(ids):
        due = float(d.get("due_at") or message["due"])
        deliveries.append({**d, "status": STANDBY if int(d.get("step") or 0) > 1
                           else waiting_status(due, now), "attempts": 0, "last_error": "",
                           "updated_at": now})
    return message_view(message_id, message, ids, deliveries)


def own_message(svc, user, message_id) -> dict:
    """A message of this user's with its deliveries; 404 for any other id, another user's too."""
    message = svc.deliveries.message(message_id)
    if message.get("sender") != user:
        raise ApiError(404, f"No message with id {message_id!r}.")
    ids = svc.deliveries.delivery_ids_of(message_id, message)
    return message_view(message_id, message, ids, svc.deliveries.get_many(ids))


def message_summaries(svc, message_ids) -> list:
    """Messages for a list: each with its status, its deliveries counted by status, and its schedule.

    A message keeps its counts as its deliveries change; only one recorded
    before it did has its deliveries read.
    """
    store = svc.deliveries
    messages = store.messages(message_ids)
    unkept = [(m, store.delivery_ids_of(m, fields))
              for m, fields in zip(message_ids, messages) if "counted" not in fields]
    statuses = iter(store.statuses([d for _, group in unkept for d in group]))
    read = {m: Counter(next(statuses) for _ in group) for m, group in unkept}
    views = []
    for message_id, fields in zip(message_ids, messages):
        counts = read[message_id] if message_id in read else _kept_counts(fields)
        view = {**message_head(message_id, fields), "status": summary_status(list(counts)), "counts": counts}
        if fields.get("schedule_id"):
            view["schedule_id"] = fields["schedule_id"]
        views.append(view)
    return views


def _kept_counts(fields) -> dict:
    """A message's counts by status, in the order of STATUSES, none of them zero."""
    return {s: int(fields[f"n:{s}"]) for s in STATUSES if int(fields.get(f"n:{s}", 0)) > 0}


def cancel_message(svc, user, message_id) -> dict:
    """Cancel a message's deliveries that have not started: which were, and the message now."""
    message = own_message(svc, user, message_id)
    cancelled = svc.deliveries.cancel(message_id, user, [d["id"] for d in message["deliveries"]],
                                      time.time())
    return {"cancelled": cancelled, "message": own_message(svc, user, message_id)}
