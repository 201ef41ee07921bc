"""Delivery statuses, in one place: the Lua scripts, the API schemas and the CLI read them here."""

SCHEDULED = "scheduled"
QUEUED = "queued"
SENDING = "sending"
RETRYING = "retrying"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"

# In the order a delivery usually passes through them.
STATUSES = (SCHEDULED, QUEUED, SENDING, RETRYING, SENT, FAILED, CANCELLED)
# Waiting for an attempt: a task with the delivery's ticket may claim it.
WAITING = (SCHEDULED, QUEUED, RETRYING)
# Not started, so a cancel still stops it.
CANCELLABLE = (SCHEDULED, QUEUED)
# Nothing more happens to the delivery.
FINAL = (SENT, FAILED, CANCELLED)


def waiting_status(due: float, now: float) -> str:
    """A new delivery's status: scheduled when due later, queued when due now."""
    return SCHEDULED if due > now else QUEUED


def lua_set(name: str, statuses) -> str:
    """A Lua line defining a table `name` that holds each status as a key (for `if NAME[s]`)."""
    return f"local {name} = {{{', '.join(f'{s}=true' for s in statuses)}}}\n"
