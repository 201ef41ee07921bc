"""Wall-clock times as the original API spells them: [Y, M, D, h, m, s]."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def wallclock_to_epoch(parts, tz_name: str) -> float:
    """Seconds since the epoch for a [Y, M, D, h, m, s] list in a time zone."""
    return datetime(*parts, tzinfo=ZoneInfo(tz_name)).timestamp()


def epoch_to_wallclock(ts: float, tz_name: str) -> list:
    """The [Y, M, D, h, m, s] list of an instant in a time zone."""
    moment = datetime.fromtimestamp(ts, ZoneInfo(tz_name))
    return [moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second]


def epoch_to_iso(ts: float) -> str:
    """An instant as ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")
