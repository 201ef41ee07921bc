"""One delivery attempt: claim, send, then record sent, retrying or failed."""

import json
import logging
import time

from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from core.awaiting import needs_contact
from core.deliveries import RECEIPT_MESSENGERS, Chain
from core.dispatch import Job
from core.logs import log_event
from core.messages import later_steps
from core.metrics import answer_outcome
from core.parts import TEXT_LIMITS, split
from core.statuses import (
    AWAITING_CONTACT,
    CLAIM_BLOCKED,
    CLAIM_BUSY,
    CLAIM_EARLY,
    CLAIM_SKIP,
    CLAIM_THROTTLED,
    NEXT_STEP_STARTED,
)
from core.timeutil import epoch_to_iso
from core.whatsapp_window import outside_window
from workers.attempts import Attempt
from workers.gateways import SENT, permanent, transient
from workers.retry import backoff_delay

log = logging.getLogger("workers.delivery")
# Recording an outcome stops being tried this long before the claim's lease
# ends, when another worker may take the delivery over; between tries, a
# pause from RECORD_PAUSE doubling up to RECORD_PAUSE_MAX.
RECORD_MARGIN = 0.5
RECORD_PAUSE = 0.1
RECORD_PAUSE_MAX = 1.0
# Why a claim sent nothing, by the claim's detail (else a finished status).
SKIPPED = {"missing": "no such delivery", "stale": "not the delivery's current ticket"}
# Why a WhatsApp delivery with no template was not sent outside the 24-hour window.
OUTSIDE_WINDOW = "outside WhatsApp's 24-hour window: give whatsapp_template"


# Claims that hand the delivery back unclaimed, for the claim's detail in
# seconds: until its turn under the rate limits, or until it is due (a
# host clock ahead of Redis's).
HANDED_BACK = {CLAIM_THROTTLED: "until its turn", CLAIM_EARLY: "until it is due"}


def attempt_delivery(ctx, delivery_id: str, ticket: int) -> Attempt:
    """Make one attempt at a delivery under a ticket; returns what happened."""
    now = time.time()
    claim = ctx.deliveries.claim(delivery_id, ticket, ctx.config.claim_lease, ctx.limiter.pacing)
    if claim.outcome in HANDED_BACK:
        return _hand_back(ctx, claim, delivery_id, ticket, now)
    if claim.outcome == CLAIM_SKIP:
        log_event(log, "delivery.skipped", delivery_id=delivery_id, ticket=ticket, reason=claim.detail)
        return Attempt("skipped", f"skipped: {SKIPPED.get(claim.detail, 'already ' + claim.detail)}")
    if claim.outcome == CLAIM_BUSY:
        # The holder finishes it; if the holder died, the schedule entry at
        # its lease's end brings the delivery back.
        log_event(log, "delivery.held", delivery_id=delivery_id, ticket=ticket, until=claim.detail)
        return Attempt("held", f"held: another attempt is sending it, its lease ends in "
                               f"{max(0.0, float(claim.detail) - now):.1f} s")
    if claim.outcome == CLAIM_BLOCKED:
        error = f"suppressed: {claim.messenger} ID {claim.detail!r} refused {claim.sender}'s messages before"
        chain = _chain(ctx, claim, delivery_id, now, "suppressed")
        if ctx.deliveries.suppress(delivery_id, ticket, now, claim.sender, error, chain) == NEXT_STEP_STARTED:
            _start_next(ctx, chain, claim.lane, now)
        log_event(log, "delivery.suppressed", delivery_id=delivery_id, messenger=claim.messenger)
        return Attempt("suppressed", error)
    if needs_contact(ctx.config, claim.messenger, claim.to):
        return _await_contact(ctx, claim, delivery_id, ticket, now)
    # Outside WhatsApp's window (real mode) only the send's template may go; without one, no call.
    template = None
    if outside_window(ctx.config, ctx.windows, claim.messenger, claim.to, now):
        template = ctx.deliveries.whatsapp_template(delivery_id)
        if template is None:
            return _record(ctx, claim, delivery_id, ticket, int(claim.attempts), permanent(OUTSIDE_WINDOW))
    # The lease as this host's clock sees it, begun before the claim's, after the turn's wait.
    turn = float(claim.detail or 0)
    lease_until = now + turn + ctx.config.claim_lease
    if turn:
        time.sleep(turn)
    attempts = int(claim.attempts)
    outcome, lease_until = _send(ctx, claim, delivery_id, ticket, attempts, lease_until, template)
    ctx.tally.add(claim.messenger, answer_outcome(outcome.kind, attempts, ctx.config.max_attempts),
                  time.time() - float(claim.due))
    # A store that is away for a moment (a restart) must not turn a sent
    # delivery into a second send once the lease ends: keep trying to
    # record the outcome while the lease holds.
    deadline = lease_until - RECORD_MARGIN
    try:
        return _while_store_returns(deadline, _record, ctx, claim, delivery_id, ticket, attempts, outcome)
    except RedisError:
        raise
    except Exception as exc:  # e.g. an answer's unusable Retry-After: still an outcome
        log.exception("delivery %s: error recording the outcome", delivery_id)
        return _while_store_returns(deadline, _record, ctx, claim, delivery_id, ticket, attempts,
                                    transient(_describe(exc)))


def _while_store_returns(deadline, record, *args):
    """record(*args), tried again while Redis is unreachable, until the deadline."""
    pause = RECORD_PAUSE
    while True:
        try:
            return record(*args)
        except RedisError:
            if time.time() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, RECORD_PAUSE_MAX)


def _record(ctx, claim, delivery_id, ticket, attempts, outcome) -> Attempt:
    """Record what a send came to: sent, retrying or failed."""
    now = time.time()
    fields = dict(delivery_id=delivery_id, messenger=claim.messenger, attempt=attempts)
    if outcome.kind == "sent":
        ctx.deliveries.mark_sent(delivery_id, ticket, now, claim.sender, claim.messenger,
                                 outcome.provider_id, _chain(ctx, claim, delivery_id, now, "sent"))
        log_event(log, "delivery.sent", **fields)
        return Attempt("sent", f"sent on attempt {attempts}")
    if outcome.kind == "transient" and attempts < ctx.config.max_attempts:
        delay = _retry_later(ctx, claim, delivery_id, ticket, attempts, outcome, now)
        log_event(log, "delivery.retrying", error=outcome.error, **fields)
        return Attempt("retrying", f"{claim.messenger}: {outcome.error} (attempt {attempts} of "
                                   f"{ctx.config.max_attempts}; the next in {delay:.1f} s)")
    if outcome.kind == "opted_out":
        return _opted_out(ctx, claim, delivery_id, ticket, attempts, outcome, now)
    gateway = ctx.gateways.get(claim.messenger)
    record = {
        "sender": claim.sender,
        "message": claim.text,
        "contact": claim.contact,
        "url": gateway.url if gateway is not None else "",
        "time": json.loads(claim.time),
        "delivery_id": delivery_id,
        "messenger": claim.messenger,
        "error": outcome.error,
        "attempts": attempts,
        "failed_at": epoch_to_iso(now),
    }
    chain = _chain(ctx, claim, delivery_id, now, "failed")
    if ctx.deliveries.mark_failed(delivery_id, ticket, attempts, now, outcome.error, claim.sender, record,
                                  claim.to if outcome.kind == "blocked" else None, chain) == NEXT_STEP_STARTED:
        _start_next(ctx, chain, claim.lane, now)
    log_event(log, "delivery.failed", level=logging.WARNING, error=outcome.error, **fields)
    return Attempt("failed", f"{claim.messenger}: {outcome.error} after {attempts} "
                             f"attempt{'' if attempts == 1 else 's'}")


def _opted_out(ctx, claim, delivery_id, ticket, attempts, outcome, now) -> Attempt:
    """The answer says the person turned the bot away (blocked it): an opt-out, as if heard from them.

    The delivery ends suppressed, not failed: like each later one to that
    ID, it was not delivered because the person asked, and a resend would
    only be suppressed. Every user's contact holding the ID is opted out,
    as a my_chat_member block does (workers/inbound.py), until the person
    comes back (/start).
    """
    error = f"{outcome.error}: the person opted out; nothing more is sent there until they come back"
    chain = _chain(ctx, claim, delivery_id, now, "suppressed")
    if ctx.deliveries.mark_opted_out(delivery_id, ticket, attempts, now, error, claim.sender, claim.messenger,
                                     claim.contact, claim.to, chain) == NEXT_STEP_STARTED:
        _start_next(ctx, chain, claim.lane, now)
    try:
        holders = ctx.contacts.holders(claim.messenger, [claim.to])
    except PyMongoError:
        # This contact is opted out already; the others are when their own sends are refused.
        log.exception("delivery %s: other contacts of %s not opted out", delivery_id, claim.messenger)
        holders = []
    for user, contact, held in holders:
        ctx.blocked.opt_out(user, contact, claim.messenger, held)
    log_event(log, "delivery.suppressed", delivery_id=delivery_id, messenger=claim.messenger, reason="opted_out",
              contacts=len(holders))
    return Attempt("suppressed", error)


def _await_contact(ctx, claim, delivery_id, ticket, now) -> Attempt:
    """A Telegram delivery to no chat id: it waits for its contact to join (core/awaiting.py), unsent.

    It fails instead, into the failed store, once its wait is over, or at
    once in a fallback chain with a step after it, which starts then.
    """
    attempts, days = int(claim.attempts), ctx.config.await_contact_days
    why = (f"{claim.to!r} is no Telegram chat id: a bot writes only to people who started it, so "
           f"{claim.contact!r} must join by an invite (python cli.py contacts invite NAME)")
    if claim.was == AWAITING_CONTACT:
        return _record(ctx, claim, delivery_id, ticket, attempts, permanent(
            f"the contact did not join within AWAIT_CONTACT_DAYS ({days:g} days): {why}"))
    if claim.step and later_steps(delivery_id, claim.last):
        return _record(ctx, claim, delivery_id, ticket, attempts, permanent(f"not sent: {why}"))
    until = now + days * 86400
    error = f"awaiting contact until {epoch_to_iso(until)}: {why}"
    schedule = ctx.dispatcher.schedule
    waits = ctx.awaiting.wait(delivery_id, ticket, attempts, now, until, schedule.moment(until, now), error,
                              claim.sender, claim.contact)
    if waits and until - now <= schedule.horizon:
        ctx.dispatcher.publish([Job(delivery_id, ticket + 1, until, (claim.messenger, claim.contact),
                                    claim.lane)])
    log_event(log, "delivery.awaiting_contact", delivery_id=delivery_id, messenger=claim.messenger,
              until=epoch_to_iso(until))
    if waits:
        _joined_meanwhile(ctx, claim, delivery_id, now)
    return Attempt(AWAITING_CONTACT, error)


def _joined_meanwhile(ctx, claim, delivery_id, now) -> None:
    """Release a delivery whose contact got a chat id (a join, or one set by hand) before it began to wait.

    That release found this delivery not yet waiting, or the delivery was
    queued to the username before the chat id came: read after the wait
    is recorded, the contact's id misses no release.
    """
    try:
        contact = ctx.contacts.get(claim.sender, claim.contact) or {}
    except PyMongoError:
        log.exception("delivery %s: the contact's chat id not read; it waits for a join", delivery_id)
        return
    if ctx.awaiting.send_now(ctx.dispatcher, claim.sender, claim.contact, contact.get("telegram"), now):
        log_event(log, "delivery.released", delivery_id=delivery_id, messenger=claim.messenger)


def _chain(ctx, claim, delivery_id, now, outcome) -> Chain:
    """What a delivery's `outcome` (sent, failed, suppressed) does to its fallback chain, if in one."""
    if not claim.step:
        return Chain()
    later = later_steps(delivery_id, claim.last)
    if outcome != "sent":
        return Chain(later, "", ctx.dispatcher.schedule.moment(now, now))
    if claim.after == "delivered" and claim.messenger in RECEIPT_MESSENGERS:
        return Chain(later, "wait", now + float(claim.within))
    return Chain(later, "close")


def _start_next(ctx, chain, lane, now):
    """Hand a chain's next step, just started, to Celery."""
    ctx.dispatcher.start_next_step(ctx.deliveries, chain.later[0], lane, now)
    log_event(log, "delivery.fallback", delivery_id=chain.later[0])


def _hand_back(ctx, claim, delivery_id, ticket, now) -> Attempt:
    """Defer a delivery the claim handed back (HANDED_BACK); no attempt is used."""
    wait = float(claim.detail)
    job = Job(delivery_id, ticket, now + wait, (claim.messenger, claim.contact), claim.lane)
    ctx.dispatcher.defer(ctx.deliveries, job, now)
    log_event(log, f"delivery.{claim.outcome}", delivery_id=delivery_id, ticket=ticket,
              messenger=claim.messenger, wait=round(wait, 3))
    return Attempt(claim.outcome, f"{claim.outcome}: handed back {HANDED_BACK[claim.outcome]} in {wait:.2f} s")


def _send(ctx, claim, delivery_id, ticket, attempts, lease_until, template=None):
    """The gateway's outcome, and when the hold on the delivery ends by this host's clock.

    A text longer than its messenger takes goes as its parts in order, from
    the first one not yet accepted; each accepted part is recorded (which
    renews the hold) before the next goes, so a later attempt never sends
    it again. A WhatsApp `template` goes instead of the text, in one call.
    Any error on the way is a transient failure.
    """
    if attempts > ctx.config.max_attempts:
        # Only a lease taken over after its holder died counts past the
        # last attempt: a delivery whose sending kills its worker each time.
        stopped = transient(f"no answer: the worker sending it stopped during attempt {attempts - 1}")
        return stopped, lease_until
    try:
        gateway = ctx.gateways[claim.messenger]
        parts = split(claim.text, TEXT_LIMITS[claim.messenger])
        start = int(claim.parts or 0)
    except Exception as exc:  # a record this code cannot read must still end in an outcome
        log.exception("delivery %s: error before sending", delivery_id)
        return transient(_describe(exc)), lease_until
    if template is not None:
        return _send_one(gateway, claim.to, template, delivery_id, delivery_id, as_template=True), lease_until
    if len(parts) == 1:
        # The text itself, or (a long one whose leading whitespace was all it had too many) the rest.
        return _send_one(gateway, claim.to, parts[0], delivery_id, delivery_id), lease_until
    outcome = SENT
    for n in range(start, len(parts)):
        if n > start:
            # The first part went on the claim's turn; each later one takes
            # its own, as long a wait as the renewed hold spares.
            try:
                turn = ctx.limiter.take(claim.messenger, claim.to, f"{delivery_id}.{n + 1}|{ticket}",
                                        claim.sender, max(0.0, ctx.config.claim_margin - RECORD_MARGIN),
                                        under_way=True)
            except RedisError as exc:
                return transient(f"part {n + 1} of {len(parts)}: no turn under the rate limits: "
                                 f"{_describe(exc)}"), lease_until
            if not turn.go:
                return transient(f"part {n + 1} of {len(parts)}: its turn under the rate limits is "
                                 f"{turn.wait:.1f} s away", retry_after=turn.wait), lease_until
            time.sleep(turn.wait)
        outcome = _send_one(gateway, claim.to, parts[n], f"{delivery_id}.{n + 1}", delivery_id)
        of = f"part {n + 1} of {len(parts)}"
        if outcome.kind != "sent":
            return outcome._replace(error=f"{of}: {outcome.error}"), lease_until
        renewed = time.time() + ctx.config.claim_lease
        try:
            held = _while_store_returns(lease_until - RECORD_MARGIN, ctx.parts.record,
                                        delivery_id, ticket, attempts, n + 1)
        except RedisError as exc:
            # The next attempt sends this part again: at least once, as any send.
            return transient(f"{of} sent, but not recorded: {_describe(exc)}"), lease_until
        if not held:
            return transient(f"{of} sent, then another attempt took the delivery over"), lease_until
        lease_until = renewed
    return outcome, lease_until


def _send_one(gateway, to, text, key, delivery_id, as_template=False):
    """One text (or WhatsApp template) through the gateway; any error on the way is a transient failure."""
    try:
        return gateway.send_template(to, text, key=key) if as_template else gateway.send(to, text, key=key)
    except Exception as exc:  # an adapter's bug or a bad answer must still end in an outcome
        log.exception("delivery %s: error during send", delivery_id)
        return transient(_describe(exc))


def _describe(exc) -> str:
    return f"{type(exc).__name__}: {exc}"


def _retry_later(ctx, claim, delivery_id, ticket, attempts, outcome, now) -> float:
    """Schedule the next attempt; the seconds until it."""
    config = ctx.config
    delay = backoff_delay(attempts, config.retry_backoff, config.retry_backoff_max, outcome.retry_after)
    due = now + delay
    schedule = ctx.dispatcher.schedule
    scheduled = ctx.deliveries.mark_retrying(
        delivery_id, ticket, attempts, now, outcome.error, due, schedule.moment(due, now)
    )
    if scheduled and delay <= schedule.horizon:
        ctx.dispatcher.publish([Job(delivery_id, ticket + 1, due, (claim.messenger, claim.contact),
                                    claim.lane)])
    return delay
