"""Delivery statuses, and what the delivery scripts answer, in one place: the Lua scripts, the API schemas and
the CLI read them here."""

# A later step of a fallback chain, waiting for the step before it to fail.
STANDBY = "standby"
SCHEDULED = "scheduled"
QUEUED = "queued"
# Telegram in real mode: the contact's ID is no chat ID the bot may write to
# (a username); waiting for the contact to join by an invite, or to expire.
AWAITING_CONTACT = "awaiting_contact"
SENDING = "sending"
RETRYING = "retrying"
SENT = "sent"
# After sent, from the messenger's receipts (WhatsApp, Viber; Telegram sends none).
DELIVERED = "delivered"
READ = "read"
FAILED = "failed"
# Not sent: that messenger ID of the contact refused the user's messages
# before, or the person turned the bot away at this very send (an opt-out).
SUPPRESSED = "suppressed"
# A step of a fallback chain that an earlier step made unnecessary.
NOT_NEEDED = "not_needed"
CANCELLED = "cancelled"

# In the order a delivery usually passes through them.
STATUSES = (STANDBY, SCHEDULED, QUEUED, AWAITING_CONTACT, SENDING, RETRYING, SENT, DELIVERED, READ,
            FAILED, SUPPRESSED, NOT_NEEDED, CANCELLED)
# Waiting for an attempt: a task with the delivery's ticket may claim it.
WAITING = (SCHEDULED, QUEUED, RETRYING, AWAITING_CONTACT)
# Not started, so a cancel still stops it.
CANCELLABLE = (STANDBY, SCHEDULED, QUEUED, AWAITING_CONTACT)
# Nothing more is attempted: only a receipt may still move a sent delivery on.
FINAL = (SENT, DELIVERED, READ, FAILED, SUPPRESSED, NOT_NEEDED, CANCELLED)
# What a receipt may move a delivery to, from which statuses: never backwards.
RECEIPT_STEPS = {DELIVERED: (SENT,), READ: (SENT, DELIVERED), FAILED: (SENT, DELIVERED)}


def waiting_status(due: float, now: float) -> str:
    """A new delivery's status: scheduled when due later, queued when due now."""
    return SCHEDULED if due > now else QUEUED


# What a step's script answers (core/scripts/): 0 when the delivery had moved
# on and nothing was done, DONE, or NEXT_STEP_STARTED when its fallback
# chain's next step was started in the same step.
DONE = 1
NEXT_STEP_STARTED = 2
# A claim's outcome (DeliveryStore.claim): the send is the task's to make, or why not.
CLAIM_GO = "go"
CLAIM_SKIP = "skip"
CLAIM_BUSY = "busy"
CLAIM_EARLY = "early"
CLAIM_BLOCKED = "blocked"
CLAIM_THROTTLED = "throttled"
# The names above as the Lua scripts know them.
LUA_NAMES = {
    **{name: value for name, value in globals().items() if isinstance(value, str) and value in STATUSES},
    "DONE": DONE, "NEXT_STEP_STARTED": NEXT_STEP_STARTED,
    **{name: value for name, value in globals().items() if name.startswith("CLAIM_")},
}


def lua_names() -> str:
    """The Lua lines each script starts with: LUA_NAMES, and as tables WAITING, CANCELLABLE and RECEIPT_STEPS."""
    lines = [f"local {name} = {value!r}" for name, value in LUA_NAMES.items()]
    steps = ", ".join(f"{new} = {{{', '.join(f'{old} = true' for old in olds)}}}"
                      for new, olds in RECEIPT_STEPS.items())
    lines += [lua_set("WAITING", WAITING).strip(), lua_set("CANCELLABLE", CANCELLABLE).strip(),
              f"local RECEIPT_STEPS = {{{steps}}}"]
    return "\n".join(lines) + "\n"


def lua_set(name: str, statuses) -> str:
    """A Lua line defining a table `name` that holds each status as a key (for `if NAME[s]`)."""
    return f"local {name} = {{{', '.join(f'{s}=true' for s in statuses)}}}\n"
