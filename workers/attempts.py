"""How a delivery attempt ends, told the way Celery and so Flower read a task's end.

Each task message of a delivery is its own Celery task (core/dispatch.py
names them), so Flower's own states and tabs sort the attempts. An attempt
that:

- sent ends as SUCCESS, result 'sent on attempt N';
- sent nothing, as a duplicate, after another worker's send, too early or
  throttled: SUCCESS, result 'skipped: ...', 'held: ...', 'early: ...' or
  'throttled: ...';
- sent nothing, the messenger ID having refused the user before or the
  person blocking the bot at this send: SUCCESS, result 'suppressed: ...'
  or the messenger's refusal;
- sent nothing, waiting for the contact to join (Telegram, no chat id):
  SUCCESS, result 'awaiting contact until ...';
- failed, another attempt scheduled: RETRY, exception AttemptFailed naming
  the error and the next attempt;
- failed for good: FAILURE, exception DeliveryFailed naming the error and
  the attempts.

The task is acknowledged in every case: the delivery's status, in Redis and
through the API, is the truth, and its ticket alone decides whether a later
message may send; these states only describe what each message did.
"""

from collections import namedtuple

from celery.exceptions import Retry

# kind: sent, skipped, held, early, throttled, suppressed, awaiting_contact, retrying or failed; note: what
# a person reads in Flower.
Attempt = namedtuple("Attempt", "kind note")


class DeliveryFailed(Exception):
    """The delivery failed for good; its record is in the failed store."""


class AttemptFailed(Exception):
    """This attempt failed; the delivery has another one scheduled."""


class Retrying(Retry):
    """Celery's Retry, shown as its cause.

    A thread-pool worker reports a retry with the repr of the Retry itself
    (billiard wraps it once more, and Celery unwraps one level only, in
    `Request.on_retry`), where Flower should show the attempt's error.
    """

    def __repr__(self):
        return repr(self.exc)


def conclude(attempt: Attempt) -> str:
    """The task's result for an attempt; raises what ends the task as RETRY or FAILURE instead."""
    if attempt.kind == "failed":
        raise DeliveryFailed(attempt.note)
    if attempt.kind == "retrying":
        # Raised, not Task.retry(): Celery records the state and acknowledges
        # the message, and publishes nothing (Task.retry would); the next
        # attempt is already queued under its own ticket.
        raise Retrying(exc=AttemptFailed(attempt.note))
    return attempt.note
