"""Medians and percentiles without numpy (nearest-rank)."""

import math
import statistics


def percentile(values, p):
    """The nearest-rank p-th percentile of values (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values):
    """The median of the values that are not None (None when there are none)."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    """a / b rounded, or None."""
    if a is None or b in (None, 0):
        return None
    return round(a / b, 2)
