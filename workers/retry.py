"""When to try a failed delivery again: exponential backoff with jitter."""

import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def backoff_delay(attempt, base, cap, retry_after=None, rand=random.random) -> float:
    """Seconds to wait after `attempt` failed: jittered 2^n growth, never before Retry-After."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    delay = ceiling / 2 + rand() * ceiling / 2
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value):
    """Seconds named by a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
