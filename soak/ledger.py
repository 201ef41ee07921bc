"""The accounting: every accepted delivery against the gateway's record, the failed store and its status."""

import bisect
import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from core.messages import message_id_of
from core.statuses import FAILED, FINAL, WAITING

# A worker killed this close to a delivery's first receipt may have died
# between the gateway's accept and recording the delivery sent.
IN_FLIGHT_WINDOW = 1.0
# Receipt and due times come from the same clock; this is its resolution.
CLOCK = 0.001
SAMPLE = 10


@dataclass
class Ledger:
    """Where every accepted delivery ended, and the figures the soak reports."""

    accepted: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    missing: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)
    in_flight: list = field(default_factory=list)
    early: list = field(default_factory=list)
    lateness: dict = field(default_factory=dict)
    # Sent or failed, yet the service's status is not final at the end.
    unsettled: list = field(default_factory=list)
    sent_and_failed: int = 0
    arrived_unasked: int = 0
    unasked_messages: int = 0
    missing_by_status: dict = field(default_factory=dict)
    # The part killed nearest each unexplained duplicate's first receipt ("none" if no kill near).
    unexplained_near: dict = field(default_factory=dict)
    by_messenger: dict = field(default_factory=dict)
    by_api: dict = field(default_factory=dict)

    @property
    def unexplained(self):
        """Duplicates no worker kill explains."""
        explained = set(self.in_flight)
        return [d for d in self.duplicates if d not in explained]

    def problems(self):
        """Why the soak fails: missing, early or unexplained duplicate deliveries (empty if none)."""
        found = [(len(self.missing), "missing"), (len(self.early), "early"),
                 (len(self.unexplained), "duplicated with no worker kill to explain it")]
        return [f"{count} {what}" for count, what in found if count]

    def as_dict(self):
        """The figures as JSON-ready data: counts, and a sample of the ids behind each."""
        data = asdict(self)
        for name in ("missing", "duplicates", "in_flight", "early", "unsettled"):
            data[name] = len(data[name])
            data[f"{name}_sample"] = getattr(self, name)[:SAMPLE]
        data["unexplained_duplicates"] = len(self.unexplained)
        data["unexplained_sample"] = self.unexplained[:SAMPLE]
        data["problems"] = self.problems()
        return data


def account(accepted, look, kills, worker_parts, window=IN_FLIGHT_WINDOW):
    """The ledger of accepted deliveries, from a last look at the system and the kills (part, time)."""
    receipts = defaultdict(list)
    for entry in look.received:
        receipts[entry["key"]].append(entry["time"])
    worker_kills = sorted(kill.time for kill in kills if kill.part in worker_parts)
    unexplained_near = Counter()
    ledger = Ledger(accepted=len(accepted))
    late = []
    by_messenger = defaultdict(Counter)
    by_api = Counter()
    missing_by_status = Counter()
    for delivery in accepted:
        times = sorted(receipts.get(delivery.id, ()))
        status = look.statuses.get(delivery.id)
        failed = delivery.id in look.failed or status == FAILED
        if times:
            outcome = "sent"
            late.append(times[0] - delivery.due)
            if times[0] < delivery.due - CLOCK:
                ledger.early.append(delivery.id)
            if len(times) > 1:
                ledger.duplicates.append(delivery.id)
                if _near(worker_kills, times[0], window):
                    ledger.in_flight.append(delivery.id)
                else:
                    unexplained_near[_nearest_part(kills, times[0], window)] += 1
            ledger.sent_and_failed += failed
        elif failed:
            outcome = "failed"
        elif delivery.due > look.at and status in WAITING:
            outcome = "pending"
        else:
            outcome = "missing"
            ledger.missing.append(delivery.id)
            missing_by_status[status or "no record"] += 1
        if outcome in ("sent", "failed") and status is not None and status not in FINAL:
            ledger.unsettled.append(delivery.id)
        by_messenger[delivery.messenger][outcome] += 1
        by_api[delivery.api] += 1
    ledger.sent = sum(c["sent"] for c in by_messenger.values())
    ledger.failed = sum(c["failed"] for c in by_messenger.values())
    ledger.pending = sum(c["pending"] for c in by_messenger.values())
    ledger.by_messenger = {m: dict(c) for m, c in sorted(by_messenger.items())}
    ledger.by_api = dict(sorted(by_api.items()))
    ledger.missing_by_status = dict(missing_by_status.most_common())
    ledger.unexplained_near = dict(unexplained_near.most_common())
    ledger.lateness = spread(late)
    asked = {d.id for d in accepted}
    unasked = set(receipts) - asked
    ledger.arrived_unasked = len(unasked)
    ledger.unasked_messages = len({message_id_of(key) for key in unasked if key})
    return ledger


def spread(values):
    """p50, p99 and max of some values (nearest rank), rounded to the millisecond; None when empty."""
    if not values:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(q):
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3)

    return {"p50": rank(0.50), "p99": rank(0.99), "max": round(ordered[-1], 3)}


def _nearest_part(kills, moment, window):
    """The part of the kill nearest moment, if within window; else "none"."""
    near = [kill for kill in kills if abs(kill.time - moment) <= window]
    return min(near, key=lambda kill: abs(kill.time - moment)).part if near else "none"


def _near(times, moment, window):
    """Whether any of the sorted times lies within window of moment."""
    at = bisect.bisect_left(times, moment - window)
    return at < len(times) and times[at] <= moment + window
