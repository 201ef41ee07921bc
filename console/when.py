"""`send --at WHEN`: ISO 8601, HH:MM (local time, next occurrence) or +10m-style offsets."""

import re
from datetime import datetime, time, timedelta

import click

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
OFFSET = re.compile(r"\+((?:\d+[smhd])+)")
OFFSET_PART = re.compile(r"(\d+)([smhd])")
CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
FORMS = "ISO 8601 (2030-01-31T14:00+01:00), HH:MM or HH:MM:SS (local time), or an offset (+30s, +10m, +1h30m)"


class When(click.ParamType):
    """A click type for --at; converts to an aware datetime."""

    name = "WHEN"

    def __init__(self, now=None):
        self.now = now

    def convert(self, value, param, ctx):
        """Parse the text, or fail as a usage error (exit code 2)."""
        if isinstance(value, datetime):
            return value
        try:
            return resolve(value, self.now() if self.now else None)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def resolve(text: str, now: datetime | None = None) -> datetime:
    """The instant --at means, as an aware datetime.

    HH:MM that has already passed today means that time tomorrow, as with
    `at(1)`. A naive ISO time is local time. now (aware) is for tests; by
    default the local clock, zone rules and all.
    """
    text = text.strip()
    local = _system_local if now is None else (lambda naive: naive.replace(tzinfo=now.tzinfo))
    now = now or datetime.now().astimezone()
    if text.lower() == "now":
        return now
    if match := OFFSET.fullmatch(text):
        offset = timedelta()
        for amount, unit in OFFSET_PART.findall(match.group(1)):
            offset += timedelta(**{UNITS[unit]: int(amount)})
        return now + offset
    if match := CLOCK.fullmatch(text):
        hour, minute, second = (int(part or 0) for part in match.groups())
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"{text!r} is not a time of day (HH:MM, 00:00 to 23:59).")
        clock = time(hour, minute, second)
        today = local(datetime.combine(now.date(), clock))
        if today > now:
            return today
        return local(datetime.combine(now.date() + timedelta(days=1), clock))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time. Use {FORMS}.") from None
    return moment if moment.tzinfo else local(moment)


def describe(moment: datetime, now: datetime | None = None) -> str:
    """'2030-01-31 14:00:00 +01:00 (in 5m 3s)' — the resolved time, said back in local time."""
    now = now or datetime.now().astimezone()
    shown = moment.astimezone(now.tzinfo)
    stamp = shown.strftime("%Y-%m-%d %H:%M:%S %z")
    stamp = f"{stamp[:-2]}:{stamp[-2:]}"
    seconds = round((moment - now).total_seconds())
    if seconds <= 0:
        return f"{stamp} (now: that time has passed)" if seconds < 0 else f"{stamp} (now)"
    return f"{stamp} (in {duration(seconds)})"


def duration(seconds: int) -> str:
    """A number of seconds as '1d 2h', '5m 3s', '40s'."""
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2]) or "0s"


def _system_local(naive: datetime) -> datetime:
    return naive.astimezone()
