"""The delivery state machine as a mermaid diagram, drawn from core/statuses.py's names and groups.

The groups there (WAITING, CANCELLABLE, FINAL, RECEIPT_STEPS) give most
arrows; ATTEMPT adds what an attempt's outcome does, each status named by
its constant, so a status renamed or added there changes the diagram or
stops the build.
"""

from core import statuses as s

# (from, to, why) for the steps the groups do not spell out: a new delivery,
# an attempt's outcomes, a fallback chain's steps, a resend.
ATTEMPT = (
    (None, s.SCHEDULED, "due later"),
    (None, s.QUEUED, "due now"),
    (None, s.STANDBY, "a later step of a fallback chain"),
    (s.STANDBY, s.QUEUED, "the step before failed for good"),
    (s.STANDBY, s.NOT_NEEDED, "a step before succeeded"),
    (s.SENDING, s.SENT, "the messenger accepted it"),
    (s.SENDING, s.RETRYING, "failed, attempts left"),
    (s.SENDING, s.FAILED, "attempts used up, or refused for good"),
    (s.SENDING, s.SUPPRESSED, "the person opted out"),
    (s.SENDING, s.AWAITING_CONTACT, "Telegram, no chat id yet (real mode)"),
    (s.AWAITING_CONTACT, s.QUEUED, "the contact joined"),
    (s.FAILED, s.QUEUED, "sent again from the failed store"),
)


def edges():
    """Every arrow (from, to, why): the groups' first, then ATTEMPT's; None is a new delivery."""
    found = [(status, s.SENDING, "a worker claims it") for status in s.WAITING]
    found += [(status, s.SUPPRESSED, "its ID is blocked") for status in s.WAITING]
    found += [(old, new, "a receipt") for new, olds in s.RECEIPT_STEPS.items() for old in olds]
    found += [(status, s.CANCELLED, "cancelled") for status in s.CANCELLABLE]
    return found + list(ATTEMPT)


def render() -> str:
    """A mermaid stateDiagram-v2 block; final statuses drawn apart."""
    lines = ["```mermaid", "stateDiagram-v2"]
    lines += [f"    {old or '[*]'} --> {new}: {why}" for old, new, why in edges()]
    lines.append("    classDef final font-weight:bold,stroke-width:3px")
    lines.append(f"    class {','.join(s.FINAL)} final")
    lines.append("```")
    return "\n".join(lines) + "\n"
