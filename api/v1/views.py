"""Messages as /api/v1 shows them, read from the delivery store; only the sender's."""

import time
from collections import Counter

from api.errors import ApiError
from core.statuses import STATUSES
from core.views import message_head, message_view, summary_status


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
              for m, fields in zip(message_ids, messages, strict=True) if "counted" not in fields]
    statuses = iter(store.statuses([d for _, group in unkept for d in group]))
    read = {m: Counter(next(statuses) for _ in group) for m, group in unkept}
    views = []
    for message_id, fields in zip(message_ids, messages, strict=True):
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
