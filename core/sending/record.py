"""Recording a send: its deliveries planned from the contact book, written and handed over in one transaction."""

import time

from redis.exceptions import WatchError

from core.config import MESSENGERS
from core.deliveries import open_count
from core.dispatch import Job, TooLate
from core.messages import new_message
from core.sending.errors import SendRefused, TooManyOpen, TryLater, UnknownContacts
from core.sending.whatsapp import template_problem
from core.templates import TemplateRefused
from core.whatsapp_templates import TemplateProblem

# Seconds a send refused for its deadline is told to wait: the host was busy.
TOO_LATE_PAUSE = 5


def send_message(svc, sender, names, text, due, wallclock, messengers=MESSENGERS,
                 also=None, field="contact", fallback=None, personal=None, asked=None, guard=None,
                 started=None):
    """Record a message and dispatch its deliveries; unknown names write nothing.

    `also(pipe, message, now)` queues more writes into the recording transaction;
    `guard` ((keys, check), as Dispatcher.submit takes it) must also pass for it;
    `field` is the body field that named the recipients, for the error;
    `fallback` ((after, within)) makes each recipient's deliveries a chain
    over `messengers` in that order, of which only the first steps start;
    `personal` and `asked` as new_message takes them. Past SEND_DEADLINE
    from `started` (a time.perf_counter() moment: the request's start, or
    by default this call's), nothing is written: TryLater.
    """
    deadline = (time.perf_counter() if started is None else started) + svc.config.send_deadline
    message = plan_message(svc, sender, names, text, due, wallclock, messengers, field, fallback,
                           personal, asked)
    now = time.time()
    lane = svc.dispatcher.lane_for(len(message.deliveries))

    def record(pipe):
        svc.deliveries.write(pipe, message, now, lane)
        if also is not None:
            also(pipe, message, now)

    try:
        svc.dispatcher.submit(
            [Job(d.id, 1, message.due if d.due is None else d.due, (d.messenger, d.contact), lane)
             for d in message.deliveries if not d.waits],
            record=record, now=now, deadline=deadline,
            guard=_both(_within_open_quota(svc, sender, len(message.deliveries)), guard),
        )
    except WatchError:
        raise TryLater("Too many sends of this user at once changed its open deliveries while "
                       "this one was recorded; nothing was written. Try again.", 1) from None
    except TooLate:
        # The host was slow, not the body wrong; behind the API, the proxy
        # would have answered 504 by the time a later write was done.
        raise TryLater(f"The send was not ready to be written within {svc.config.send_deadline:g} s "
                       "of the request; nothing was written. Try again shortly, or send to fewer "
                       "contacts at once.", TOO_LATE_PAUSE) from None
    return message


def plan_message(svc, sender, names, text, due, wallclock, messengers=MESSENGERS, field="contact",
                 fallback=None, personal=None, asked=None):
    """The message a send would record, from the sender's contacts; nothing written.

    Unknown names are UnknownContacts naming them; a template that does not
    render for a contact is SendRefused naming `text` (or `whatsapp_template`, a parameter's).
    """
    limit = svc.config.max_recipients
    if len(set(names)) > limit:
        raise SendRefused(f"A send may name at most {limit} contacts.", field,
                          [f"Names {len(set(names))} contacts; at most {limit}."])
    book = svc.contacts.recipients(sender, names, profile=personal is not None)
    missing = [n for n in names if n not in book]
    if missing:
        raise UnknownContacts(f"Unknown contact(s): {', '.join(missing)}", field,
                              [f"No contact named {n!r}." for n in missing])
    try:
        return new_message(sender, text, due, wallclock, {n: book[n] for n in names}, messengers,
                           fallback, personal, asked)
    except TemplateRefused as exc:
        raise template_refused(exc) from None
    except TemplateProblem as exc:
        # A WhatsApp template's parameter that does not render for a contact.
        raise template_problem(exc) from None


def template_refused(exc) -> SendRefused:
    """The refusal of a text's template that cannot be used."""
    return SendRefused(f"The text's template cannot be used: {exc}", "text", [str(exc)])


def _within_open_quota(svc, sender, count):
    """A guard for the send's transaction: TooManyOpen if it would take the user past MAX_OPEN_DELIVERIES."""
    # Only sends and resends change the watched key; finishes count apart.
    key, limit = svc.keys.user_usage(sender), svc.config.max_open_deliveries

    def check(pipe):
        open_now = open_count(pipe, svc.keys, sender)
        if open_now + count > limit:
            raise TooManyOpen(f"Too many unfinished deliveries: {open_now} wait and this send adds "
                              f"{count}; at most {limit} may wait at once. Cancel some, or send "
                              "again once more of them are done.")
    return [key], check


def _both(guard, other):
    """One guard of two (the second may be None): both keys watched, both checks made."""
    if other is None:
        return guard

    def check(pipe):
        guard[1](pipe)
        other[1](pipe)
    return [*guard[0], *other[0]], check


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
    found = svc.deliveries.get_many([job.delivery_id for job in jobs])
    svc.dispatcher.publish([
        job._replace(about=(f.get("messenger"), f.get("contact")), lane=f.get("lane"))
        for job, f in zip(jobs, found, strict=True)
    ])
    return [job.delivery_id for job in jobs]
