"""Fault settings that make the fake gateway misbehave on purpose.

`script` is a list of steps, each taken by the next request the faults apply
to: an HTTP status (200 answers normally, 400-599 fails with that status in
the gateway's generic error shape, -1 hangs for `hang_seconds` then answers
504), or a messenger's documented error named "<messenger>:<code>" (see
fake_gateway.documented.DOCUMENTED), e.g. "telegram:429", "whatsapp:131056",
"viber:6". A named step waits at the head of the script until a request to
that messenger's real API takes it; until then, other requests pass it by.
A keyed step, {"key_ends_with": ".2", "step": 503}, likewise waits for a
request whose Idempotency-Key ends so, then answers as its `step` would: a
long text's parts carry the keys "<delivery id>.<n>" (n from 1), so
[{"key_ends_with": ".2", "step": 503}] fails the second part once.

Texts longer than their messenger takes (fake_gateway.documented.LONGEST_TEXT) are
refused before any fault applies, as the real APIs refuse them.

Receipts (fake_gateway.receipts) come `receipt_delivered_after` and
`receipt_read_after` seconds after a WhatsApp or Viber message is accepted;
`receipts` scripts them per recipient id: "read" (the default: delivered,
then read), "delivered" (never read), "never" (not even delivered), or
"failed" (a failed receipt in place of delivered).

`enforce_limits` (off by default; GATEWAY_ENFORCE_LIMITS) makes the gateway
hold every messenger to its published send rate (fake_gateway.limits):
Telegram 30 a second and 1 a second per chat, WhatsApp 80 a second, Viber
none. A send past a limit is refused as the API refuses it (Telegram 429
with retry_after, WhatsApp 130429, the simple endpoints 429 with
Retry-After), before any other fault applies; it is not received, and
`GET /stats` counts it under `rate_limited`. `messengers` does not narrow it.

`strict` (GATEWAY_STRICT; on by default where MESSENGER_API=real, else off) makes the real-API routes refuse
what the real services refuse for want of a person's consent, as each
documents it (fake_gateway.strict): Telegram chats that never started the
bot or blocked it, Viber users not subscribed, WhatsApp text outside the
24-hour window and templates not approved. The simple routes never are.
"""

import random
from collections import deque

from fake_gateway.documented import DOCUMENTED

MESSENGERS = ("telegram", "whatsapp", "viber")
HANG = -1
RECEIPT_PLANS = ("read", "delivered", "never", "failed")

DEFAULTS = {
    "fail_rate": 0.0,
    "fail_status": 503,
    "throttle_rate": 0.0,
    "retry_after": 1,
    "latency_ms": 0,
    "script": [],
    "hang_seconds": 60,
    "viber_accepts": False,
    "messengers": None,
    "receipt_delivered_after": 0.5,
    "receipt_read_after": 1.5,
    "receipts": {},
    "enforce_limits": False,
    "strict": False,
}


def boolean(raw):
    """A GATEWAY_* flag: 1 or true is on, 0 or false off (any case)."""
    flags = {"1": True, "true": True, "0": False, "false": False}
    try:
        return flags[raw.strip().lower()]
    except KeyError:
        raise ValueError(raw) from None


ENV_VARS = {
    "GATEWAY_FAIL_RATE": ("fail_rate", float),
    "GATEWAY_FAIL_STATUS": ("fail_status", int),
    "GATEWAY_THROTTLE_RATE": ("throttle_rate", float),
    "GATEWAY_RETRY_AFTER": ("retry_after", int),
    "GATEWAY_LATENCY_MS": ("latency_ms", float),
    "GATEWAY_ENFORCE_LIMITS": ("enforce_limits", boolean),
    "GATEWAY_STRICT": ("strict", boolean),
}


class FaultError(ValueError):
    """A fault setting with an unknown name or a bad value."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _number(low, high):
    return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high


def _integer(low, high):
    return lambda v: _is_int(v) and low <= v <= high


def _is_step(step, keyed=True):
    if isinstance(step, str):
        return step in DOCUMENTED
    if isinstance(step, dict):
        return (keyed and set(step) == {"key_ends_with", "step"}
                and isinstance(step["key_ends_with"], str) and step["key_ends_with"] != ""
                and _is_step(step["step"], keyed=False))
    return _is_int(step) and (step in (HANG, 200) or 400 <= step <= 599)


def _is_script(value):
    return isinstance(value, list) and all(_is_step(step) for step in value)


def _is_receipt_plans(value):
    return isinstance(value, dict) and all(
        isinstance(to, str) and plan in RECEIPT_PLANS for to, plan in value.items())


def _is_messenger_list(value):
    return value is None or (
        isinstance(value, list) and all(name in MESSENGERS for name in value)
    )


RULES = {
    "fail_rate": (_number(0, 1), "a number from 0 to 1"),
    "fail_status": (_integer(400, 599), "an integer status from 400 to 599"),
    "throttle_rate": (_number(0, 1), "a number from 0 to 1"),
    "retry_after": (_integer(0, 86400), "an integer from 0 to 86400"),
    "latency_ms": (_number(0, 600000), "a number from 0 to 600000"),
    "script": (_is_script, "a list of statuses (200, 400 to 599, -1 to hang), "
                           'documented errors such as "telegram:429" or keyed steps such as '
                           '{"key_ends_with": ".2", "step": 503}'),
    "hang_seconds": (_number(0, 3600), "a number from 0 to 3600"),
    "viber_accepts": (lambda v: isinstance(v, bool), "true or false"),
    "messengers": (_is_messenger_list, f"null or a list of {', '.join(MESSENGERS)}"),
    "receipt_delivered_after": (_number(0, 3600), "a number from 0 to 3600"),
    "receipt_read_after": (_number(0, 3600), "a number from 0 to 3600"),
    "receipts": (_is_receipt_plans, "an object of recipient ids, each one of "
                                    + ", ".join(RECEIPT_PLANS)),
    "enforce_limits": (lambda v: isinstance(v, bool), "true or false"),
    "strict": (lambda v: isinstance(v, bool), "true or false"),
}


def validate(changes):
    """Check a mapping of fault settings, raising FaultError naming the first bad key."""
    if not isinstance(changes, dict):
        raise FaultError("faults must be a JSON object")
    for key, value in changes.items():
        if key not in RULES:
            raise FaultError(f"{key}: unknown fault setting")
        check, expected = RULES[key]
        if not check(value):
            raise FaultError(f"{key}: must be {expected}")


def from_env(environ):
    """Read initial fault settings from GATEWAY_* variables in a mapping."""
    settings = {}
    for name, (key, cast) in ENV_VARS.items():
        raw = environ.get(name, "")
        if raw == "":
            continue
        try:
            settings[key] = cast(raw)
        except ValueError:
            raise FaultError(f"{name}: not a valid {cast.__name__}: {raw!r}") from None
    validate(settings)
    return settings


class Faults:
    """The current fault settings, and the decision they make for each request."""

    def __init__(self, initial=None):
        self.initial = {**DEFAULTS, **(initial or {})}
        self.reset()

    def reset(self):
        """Go back to the settings the gateway started with."""
        self.update(self.initial)

    def update(self, changes):
        """Validate and apply a subset of the settings, all or nothing."""
        validate(changes)
        for key, value in changes.items():
            setattr(self, key, deque(value) if key == "script" else value)

    def as_dict(self):
        """The current settings, with what is left of the script."""
        state = {key: getattr(self, key) for key in DEFAULTS}
        state["script"] = list(self.script)
        return state

    def decide(self, messenger, api="simple", key=None):
        """Return (answer, delay in seconds) for one valid request with an Idempotency-Key.

        The answer is None (answer normally), an HTTP status, or a documented
        error's name, which only a request to that messenger's real API gets.
        """
        if self.messengers is not None and messenger not in self.messengers:
            return None, 0.0
        delay = self.latency_ms / 1000
        step = self.script[0] if self.script else None
        if isinstance(step, dict):
            step = step["step"] if (key or "").endswith(step["key_ends_with"]) else None
        if isinstance(step, str) and not (api == "real" and step.startswith(f"{messenger}:")):
            step = None
        if step is not None:
            self.script.popleft()
            if step == HANG:
                return 504, delay + self.hang_seconds
            return (None if step == 200 else step), delay
        roll = random.random()
        if roll < self.fail_rate:
            return self.fail_status, delay
        if roll < self.fail_rate + self.throttle_rate:
            return 429, delay
        return None, delay

    def receipt_plan(self, to):
        """What becomes of a message to this recipient: one of RECEIPT_PLANS."""
        return self.receipts.get(to, "read")

    def refuses(self, messenger):
        """Whether this messenger turns down requests that no fault touched."""
        return messenger == "viber" and not self.viber_accepts
