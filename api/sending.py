"""Sending a message: plan its deliveries from the contact book and hand them over."""

import time

from api.errors import ApiError
from core.config import MESSENGERS
from core.messages import new_message
from workers.dispatch import Job


def send_message(svc, sender, names, text, due, wallclock, messengers=MESSENGERS):
    """Record a message and dispatch its deliveries; unknown names write nothing."""
    book = svc.contacts.all(sender)
    missing = [n for n in names if n not in book]
    if missing:
        raise ApiError(404, f"Unknown contact(s): {', '.join(missing)}",
                       {"json": {"contact": [f"No contact named {n!r}." for n in missing]}})
    message = new_message(sender, text, due, wallclock, {n: book[n] for n in names}, messengers)
    now = time.time()
    svc.dispatcher.submit(
        [Job(d.id, 1, message.due) for d in message.deliveries],
        record=lambda pipe: svc.deliveries.write(pipe, message, now),
        now=now,
    )
    return message
