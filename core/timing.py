"""When each contact's delivery is due: at a wall time in their zone, out of their quiet hours.

Wall times that a zone skips (a daylight-saving gap) or repeats (the hour
clocks go back) resolve as zoneinfo does with fold=0: a skipped time is
read with the offset before the change (02:30 in a gap from 02:00 to 03:00
is 03:30 after it), a repeated one is its first occurrence, but for a
quiet window's end, which is never before the time it moves.
"""

import re
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

TIME_OF_DAY_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_TIME_OF_DAY = re.compile(TIME_OF_DAY_PATTERN, re.ASCII)


@lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    """The time zone of an IANA name (kept once read)."""
    return ZoneInfo(name)


def at_wall_time(wall: datetime, zone_name: str) -> float:
    """The epoch seconds of a naive wall time in a zone."""
    return wall.replace(tzinfo=zone(zone_name), fold=0).timestamp()


def out_of_quiet_hours(due: float, zone_name: str, quiet: tuple) -> float:
    """`due`, or the end of the quiet window (start, end: times of day in the zone) it falls in.

    A window whose start is after its end spans midnight (22:00-08:00). The
    end is the first one after `due`: on the day clocks go back, a delivery
    due in the repeated hour's second pass waits for the end's second pass.
    """
    start, end = quiet
    tz = zone(zone_name)
    local = datetime.fromtimestamp(due, tz)
    now = local.time().replace(tzinfo=None)
    if start < end:
        inside, day = start <= now < end, local.date()
    else:
        inside = now >= start or now < end
        day = local.date() + timedelta(days=1) if now >= start else local.date()
    if not inside:
        return due
    moved = datetime.combine(day, end, tzinfo=tz)
    if moved.timestamp() <= due:
        # A due time in the second pass of a repeated hour, with the end in
        # that hour too: the end's first pass is already over, its second is not.
        moved = moved.replace(fold=1)
    return moved.timestamp()


def parse_time_of_day(text: str) -> time:
    """A time of day from "HH:MM" (ValueError if it is not one)."""
    if not _TIME_OF_DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not a time of day as HH:MM.")
    return time(int(text[:2]), int(text[3:]))
