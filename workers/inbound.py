"""What people send the bot, acted on: invites that bind, texts kept, opt-outs and returns.

The dispatcher has one bot per messenger for all its users. An update's
sender maps to users' contacts by the id they hold (ContactBook.holders):
every user whose contact holds that id on that messenger sees its texts,
and each such contact is suppressed when the person opts out. An invite
code alone binds an id to a contact, and only to the one contact of the
one user it was made for.
"""

import logging

from core.dispatch import Job
from core.inbox import message_view, sender_id
from core.logs import log_event
from core.timeutil import epoch_to_iso

log = logging.getLogger("workers.inbound")
# Kinds of events by what they say of the person.
BACK = ("start", "subscribed", "unblocked")
LEFT = ("stop", "blocked", "unsubscribed")


def handle(ctx, messenger, event, now) -> str:
    """Act on one event (core/inbound_updates.py) from messenger; what came of it, for the log."""
    kind, sender = event["kind"], event["sender"]
    outcome = []
    if event.get("code"):
        outcome.append(join(ctx, messenger, event, now))
    if kind in BACK or kind == "text" and _one_of(ctx.config.opt_in_words, event["text"]):
        outcome.append(f"back for {came_back(ctx, messenger, sender)}")
    elif kind in LEFT or kind == "text" and _one_of(ctx.config.opt_out_words, event["text"]):
        outcome.append(f"opted out for {opted_out(ctx, messenger, sender, kind)}")
    elif kind == "text" and not event.get("code"):
        outcome.append(f"kept for {received(ctx, messenger, event, now)}")
    result = "; ".join(outcome) or "nothing to do"
    log_event(log, "inbound.handled", messenger=messenger, kind=kind, update=event["key"], outcome=result)
    return result


def _one_of(words, text) -> bool:
    """Whether text is one of the comma-separated words, in any case."""
    return text.strip().casefold() in {word.strip().casefold() for word in words.split(",") if word.strip()}


def bound_id(messenger, sender) -> str:
    """The id a contact holds for a sender: a WhatsApp wa_id in international form (+digits)."""
    return "+" + sender_id(messenger, sender) if messenger == "whatsapp" else sender


def join(ctx, messenger, event, now) -> str:
    """Bind the sender's id to the contact an invite code was made for, and tell the person either way."""
    sender = event["sender"]
    taken = ctx.invites.take(messenger, event["code"], now)
    user, contact = taken or (None, None)
    if taken is None or not ctx.contacts.bind(user, contact, messenger, bound_id(messenger, sender)):
        reply(ctx, messenger, sender, ctx.config.invite_invalid_reply, event["key"])
        return "invite refused"
    joined(ctx, user, contact, messenger, bound_id(messenger, sender), now)
    reply(ctx, messenger, sender, ctx.config.invite_joined_reply, event["key"])
    return f"joined {user}'s contact"


def joined(ctx, user, contact, messenger, messenger_id, now) -> None:
    """Where a contact's newly bound id takes effect: unblocked there, its waiting deliveries sent, contact.joined."""
    ctx.blocked.unblock(user, contact, [messenger])
    if messenger == "telegram":
        release(ctx, user, contact, messenger_id, now)
    ctx.webhooks.record(user, "contact.joined", {
        "contact": contact, "messenger": messenger, "id": messenger_id, "joined_at": epoch_to_iso(now)}, now)


def release(ctx, user, contact, chat_id, now) -> None:
    """Send a contact's deliveries awaiting its Telegram chat id to it now (core/awaiting.py)."""
    released = ctx.awaiting.release(user, contact, chat_id, now, ctx.dispatcher.schedule.moment(now, now))
    ctx.dispatcher.publish([Job(delivery_id, ticket, now, ("telegram", contact), lane)
                            for delivery_id, ticket, lane in released])
    if released:
        log_event(log, "inbound.released", contact_deliveries=len(released))


def came_back(ctx, messenger, sender) -> int:
    """The person started or subscribed again: their contacts there are no longer suppressed; how many."""
    holders = ctx.contacts.holders(messenger, _held_forms(messenger, sender))
    for user, contact, _ in holders:
        ctx.blocked.unblock(user, contact, [messenger])
    return len(holders)


def opted_out(ctx, messenger, sender, why) -> int:
    """The person asked for no more messages (why: stop, blocked, unsubscribed, text): suppressed; how many contacts."""
    holders = ctx.contacts.holders(messenger, _held_forms(messenger, sender))
    for user, contact, held in holders:
        ctx.blocked.opt_out(user, contact, messenger, held)
    log_event(log, "inbound.opted_out", messenger=messenger, reason="opted_out", by=why, contacts=len(holders))
    return len(holders)


def received(ctx, messenger, event, now) -> int:
    """Keep a text for the sender's contacts' users, with message.received to their webhooks; how many contacts."""
    holders = ctx.contacts.holders(messenger, _held_forms(messenger, event["sender"]))
    pairs = [(user, contact) for user, contact, _ in holders]
    # As the API received it (an event queued before it said so: now).
    message = ctx.inbox.add(messenger, event["sender"], event["text"], event.get("received_at", now), pairs)
    for user, contact in pairs:
        ctx.webhooks.record(user, "message.received", message_view(message, contact), now)
    return len(pairs)


def _held_forms(messenger, sender) -> list:
    """The forms a contact may hold the sender's id in (a WhatsApp number with or without its +)."""
    if messenger == "whatsapp":
        digits = sender_id(messenger, sender)
        return [f"+{digits}", digits]
    return [sender]


def reply(ctx, messenger, to, text, key) -> None:
    """Answer the person through the messenger's send API, once per update; a refusal is logged, not retried."""
    outcome = ctx.gateways[messenger].send(to, text, f"reply-{messenger}-{key}")
    log_event(log, "inbound.replied", level=logging.INFO if outcome.kind == "sent" else logging.WARNING,
              messenger=messenger, outcome=outcome.kind, error=outcome.error)
