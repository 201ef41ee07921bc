"""One delivery attempt: claim, send, then record sent, retrying or failed."""

import json
import logging
import time

from core.logs import log_event
from core.messages import message_id_of
from core.metrics import answer_outcome
from core.timeutil import epoch_to_iso
from workers.dispatch import Job
from workers.ratelimit import await_turn
from workers.retry import backoff_delay

log = logging.getLogger("workers.delivery")


def attempt_delivery(ctx, delivery_id: str, ticket: int) -> str:
    """Make one attempt at a delivery under a ticket; returns what happened."""
    if not await_turn(ctx, delivery_id, ticket):
        return "throttled"
    now = time.time()
    claim = ctx.deliveries.claim(
        delivery_id, message_id_of(delivery_id), ticket, now, now + ctx.lease_seconds
    )
    if claim.outcome == "skip":
        log_event(log, "delivery.skipped", delivery_id=delivery_id, ticket=ticket, reason=claim.detail)
        return "skipped"
    if claim.outcome == "busy":
        ctx.dispatcher.submit([Job(delivery_id, ticket, float(claim.detail))])
        log_event(log, "delivery.held", delivery_id=delivery_id, ticket=ticket, until=claim.detail)
        return "held"
    gateway = ctx.gateways[claim.messenger]
    outcome = gateway.send(claim.to, claim.text, key=delivery_id)
    attempts = int(claim.attempts)
    now = time.time()
    ctx.tally.add(claim.messenger, answer_outcome(outcome.kind, attempts, ctx.config.max_attempts),
                  now - float(claim.due))
    fields = dict(delivery_id=delivery_id, messenger=claim.messenger, attempt=attempts)
    if outcome.kind == "sent":
        ctx.deliveries.mark_sent(delivery_id, ticket, now)
        log_event(log, "delivery.sent", **fields)
        return "sent"
    if outcome.kind == "transient" and attempts < ctx.config.max_attempts:
        _retry_later(ctx, delivery_id, ticket, attempts, outcome, now)
        log_event(log, "delivery.retrying", error=outcome.error, **fields)
        return "retrying"
    record = {
        "sender": claim.sender,
        "message": claim.text,
        "contact": claim.contact,
        "url": gateway.url,
        "time": json.loads(claim.time),
        "delivery_id": delivery_id,
        "messenger": claim.messenger,
        "error": outcome.error,
        "attempts": attempts,
        "failed_at": epoch_to_iso(now),
    }
    ctx.deliveries.mark_failed(delivery_id, ticket, now, outcome.error, claim.sender, record)
    log_event(log, "delivery.failed", level=logging.WARNING, error=outcome.error, **fields)
    return "failed"


def _retry_later(ctx, delivery_id, ticket, attempts, outcome, now):
    config = ctx.config
    delay = backoff_delay(attempts, config.retry_backoff, config.retry_backoff_max, outcome.retry_after)
    due = now + delay
    scheduled = ctx.deliveries.mark_retrying(
        delivery_id, ticket, now, outcome.error, due, ctx.dispatcher.hand_over_time(due, now)
    )
    if scheduled and delay <= config.schedule_horizon:
        ctx.dispatcher.publish([Job(delivery_id, ticket + 1, due)])
