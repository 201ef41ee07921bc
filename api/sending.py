"""Sending a message: plan its deliveries from the contact book and hand them over."""

import time

from api.errors import ApiError
from core.config import MESSENGERS
from core.messages import new_message
from core.dispatch import Job


def send_message(svc, sender, names, text, due, wallclock, messengers=MESSENGERS,
                 also=None, field="contact"):
    """Record a message and dispatch its deliveries; unknown names write nothing.

    `also(pipe, message, now)` queues more writes into the recording transaction;
    `field` is the body field that named the recipients, for the error.
    """
    book = svc.contacts.all(sender)
    missing = [n for n in names if n not in book]
    if missing:
        raise ApiError(404, f"Unknown contact(s): {', '.join(missing)}",
                       {"json": {field: [f"No contact named {n!r}." for n in missing]}})
    message = new_message(sender, text, due, wallclock, {n: book[n] for n in names}, messengers)
    now = time.time()

    def record(pipe):
        svc.deliveries.write(pipe, message, now)
        if also is not None:
            also(pipe, message, now)

    svc.dispatcher.submit(
        [Job(d.id, 1, message.due) for d in message.deliveries], record=record, now=now,
    )
    return message


def resend_failed(svc, user, delivery_ids) -> list:
    """Send failed deliveries again, those in the user's failed store; the ids handed back."""
    owned = set(svc.failed.ids_for(user))
    now = time.time()
    moment = svc.dispatcher.schedule.moment(now, now)
    jobs = []
    for delivery_id in dict.fromkeys(delivery_ids):
        ticket = delivery_id in owned and svc.deliveries.resend(delivery_id, user, now, moment)
        if ticket:
            jobs.append(Job(delivery_id, ticket, now))
    svc.dispatcher.publish(jobs)
    return [job.delivery_id for job in jobs]
