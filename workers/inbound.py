"""What people send the bot, acted on: invites that bind, texts kept, opt-outs and returns.

The dispatcher has one bot per messenger for all its users. An update's
sender maps to users' contacts by the id they hold (ContactBook.holders):
every user whose contact holds that id on that messenger sees its texts,
and each such contact is suppressed when the person opts out (in the
messenger's order of the person's updates, core/opt_changes.py). An invite
code alone binds an id to a contact, and only to the one contact of the
one user it was made for.
"""

import logging

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
    if messenger == "whatsapp":
        # Whatever it says, a message opens the number's 24-hour window (core/whatsapp_window.py).
        ctx.windows.opened(sender, event["at"], now)
    outcome = []
    if event.get("code"):
        outcome.append(join(ctx, messenger, event, now))
    if kind in BACK or kind == "text" and _one_of(ctx.config.opt_in_words, event["text"]):
        outcome.append(came_back(ctx, messenger, event))
    elif kind in LEFT or kind == "text" and _one_of(ctx.config.opt_out_words, event["text"]):
        outcome.append(opted_out(ctx, messenger, event))
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
    taken = ctx.invites.take(messenger, event["code"], sender, now)
    user, contact = taken or (None, None)
    if taken is None or not ctx.contacts.bind(user, contact, messenger, bound_id(messenger, sender)):
        reply(ctx, messenger, sender, ctx.config.invite_invalid_reply, event["key"])
        return "invite refused"
    joined(ctx, event, user, contact, messenger, bound_id(messenger, sender), now)
    reply(ctx, messenger, sender, ctx.config.invite_joined_reply, event["key"])
    return f"joined {user}'s contact"


def joined(ctx, event, user, contact, messenger, messenger_id, now) -> None:
    """Where a contact's newly bound id takes effect: unblocked there, its waiting deliveries sent, contact.joined.

    Unless the person opted out after the update that joined (a /stop
    handled first): then the contact is opted out at once.
    """
    ctx.opt_changes.apply(messenger, event, False, [(user, contact, messenger_id)], bind=True)
    if messenger == "telegram":
        release(ctx, user, contact, messenger_id, now)
    ctx.webhooks.record(user, "contact.joined", {
        "contact": contact, "messenger": messenger, "id": messenger_id, "joined_at": epoch_to_iso(now)}, now)


def release(ctx, user, contact, chat_id, now) -> None:
    """Send a contact's deliveries awaiting its Telegram chat id to it now (core/awaiting.py)."""
    released = ctx.awaiting.send_now(ctx.dispatcher, user, contact, chat_id, now)
    if released:
        log_event(log, "inbound.released", contact_deliveries=released)


def came_back(ctx, messenger, event) -> str:
    """The person started or subscribed again: their contacts there are no longer suppressed, in order."""
    applied, contacts = _opt(ctx, messenger, event, False)
    return f"back for {contacts}" if applied else "back, but opted out since: ignored"


def opted_out(ctx, messenger, event) -> str:
    """The person asked for no more messages (a stop, block, unsubscribed or STOP text): suppressed, in order."""
    applied, contacts = _opt(ctx, messenger, event, True)
    if not applied:
        return "opted out, but back since: ignored"
    log_event(log, "inbound.opted_out", messenger=messenger, reason="opted_out", by=event["kind"],
              contacts=contacts)
    return f"opted out for {contacts}"


def _opt(ctx, messenger, event, out) -> tuple:
    """Opt the sender's contacts out or back in (core/opt_changes.py): if it was the newest, how many contacts.

    A contact that an invite bound meanwhile, its join applied before this
    change was, is found by reading the holders again and gets it too.
    """
    forms = _held_forms(messenger, event["sender"])
    holders = ctx.contacts.holders(messenger, forms)
    applied = ctx.opt_changes.apply(messenger, event, out, holders)
    later = ctx.contacts.holders(messenger, forms) if applied else holders
    if set(later) != set(holders):
        applied = ctx.opt_changes.apply(messenger, event, out, later)
    return applied, len(later)


def received(ctx, messenger, event, now) -> int:
    """Keep a text for the sender's contacts' users, with message.received to their webhooks; how many contacts."""
    holders = ctx.contacts.holders(messenger, _held_forms(messenger, event["sender"]))
    pairs = [(user, contact) for user, contact, _ in holders]
    # As the API received it (an event queued before it said so: now).
    message = ctx.inbox.add(messenger, event["key"], event["sender"], event["text"], event.get("received_at", now),
                            pairs)
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
