"""What the system says happened: the gateway's record, the failed store, deliveries' statuses."""

import json
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests

from core.messages import message_id_of
from core.statuses import FINAL

PAGE_SIZE = 100
POLL = 2.0
# After the last expected delivery is due: time for retries and the recovery to finish.
DRAIN_GRACE = 60.0
# After every delivery is accounted for: time for statuses to become final
# (a delivery held by a killed worker is sent again within 30 s).
SETTLE = 40.0
LAST_LOOK_TRIES = 5


class Unavailable(RuntimeError):
    """The API did not answer a read as it should."""


@dataclass
class Look:
    """One look at the system: what the gateway accepted, what failed, statuses asked for, when."""

    received: list
    failed: set
    statuses: dict = field(default_factory=dict)
    at: float = 0.0


class Observer:
    """Reads the gateway's record and the user's deliveries through the API."""

    def __init__(self, client):
        self.client = client

    def received(self):
        """Every message the gateway accepted: {key, time, ...}."""
        return self.client.gateway("/received")["received"]

    def failed_ids(self):
        """The ids of every delivery in the user's failed store."""
        return {record["delivery_id"] for record in self._pages("/api/v1/failed")}

    def summaries(self):
        """Every message of the user's: {id, not_before, counts, ...}."""
        return self._pages("/api/v1/messages")

    def statuses(self, message_ids):
        """{delivery id: status} of every delivery of these messages (none for a message unknown)."""
        statuses = {}
        for message_id in message_ids:
            reply = self._get(f"/api/v1/messages/{message_id}", known=(200, 404))
            for delivery in reply.json().get("deliveries", ()):
                statuses[delivery["id"]] = delivery["status"]
        return statuses

    def look(self):
        """What arrived and what failed, now."""
        at = time.time()
        return Look(self.received(), self.failed_ids(), at=at)

    def _pages(self, path):
        first = self._get(path, {"page": 1, "page_size": PAGE_SIZE})
        items = first.json()
        pages = json.loads(first.headers.get("X-Pagination", "{}")).get("total_pages", 1)
        for page in range(2, pages + 1):
            items.extend(self._get(path, {"page": page, "page_size": PAGE_SIZE}).json())
        return items

    def _get(self, path, params=None, known=(200,)):
        reply = self.client.api("GET", path, params=params)
        if reply.status_code not in known:
            raise Unavailable(f"GET {path}: {reply.status_code} {reply.text[:200]}")
        return reply


def drain(observer, accepted, horizon, say, tend, poll=POLL):
    """Wait until each delivery due by horizon is sent or failed and statuses settle; the last look.

    tend() is called at every poll (to start again any part that died).
    Bounded: at most DRAIN_GRACE after the last of those is due, then SETTLE.
    """
    expected = [d for d in accepted if d.due <= horizon]
    deadline = max((d.due for d in expected), default=time.time()) + DRAIN_GRACE

    def outstanding():
        tend()
        return _outstanding(observer, expected)

    def unsettled():
        tend()
        return _unsettled(observer, {message_id_of(d.id) for d in expected})

    if _wait(outstanding, deadline, poll, say, "accounted for"):
        _wait(unsettled, time.time() + SETTLE, poll, say, "final")
    for attempt in range(LAST_LOOK_TRIES):
        tend()
        try:
            return _last_look(observer, accepted)
        except (requests.RequestException, Unavailable) as exc:
            if attempt == LAST_LOOK_TRIES - 1:
                raise
            say(f"last look failed, again in {poll:g} s: {exc}")
            time.sleep(poll)


def _last_look(observer, accepted):
    """What arrived and failed, and the statuses of whatever is not accounted for or not settled."""
    look = observer.look()
    done = {entry["key"] for entry in look.received} | look.failed
    open_ = {message_id_of(d.id) for d in accepted if d.id not in done}
    look.statuses = observer.statuses(open_ | _unsettled(observer, {message_id_of(d.id) for d in accepted}))
    return look


def _outstanding(observer, expected):
    done = {entry["key"] for entry in observer.received()} | observer.failed_ids()
    return [d for d in expected if d.id not in done]


def _unsettled(observer, messages):
    """Messages of these already due whose deliveries are not all in a final status."""
    now = time.time()
    return {m["id"] for m in observer.summaries()
            if m["id"] in messages and datetime.fromisoformat(m["not_before"]).timestamp() <= now
            and set(m["counts"]) - set(FINAL)}


def _wait(check, deadline, poll, say, what):
    """Call check until it finds nothing left (True) or deadline passes (False)."""
    last_said = time.monotonic()
    while True:
        try:
            left = check()
        except (requests.RequestException, Unavailable) as exc:
            say(f"waiting: {exc}")
            left = None
        if left is not None and not left:
            return True
        if time.time() > deadline:
            return False
        if left and time.monotonic() - last_said > 10:
            say(f"waiting for {len(left)} to be {what} ({deadline - time.time():.0f} s left)")
            last_said = time.monotonic()
        time.sleep(poll)
