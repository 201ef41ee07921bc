"""The senders: threads that send through both APIs for a while and note every accepted delivery."""

import itertools
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import requests

from core.timeutil import epoch_to_iso, epoch_to_wallclock

APIS = ("original", "v1")


@dataclass(frozen=True)
class Plan:
    """What to send: how long, how fast, to how many, due when."""

    seconds: float
    # Sends per second, all threads together.
    rate: float = 4.0
    max_recipients: int = 5
    threads: int = 4
    near: tuple = (0.0, 60.0)
    # Beyond the schedule horizon (300 s): these wait in Redis, not in a worker.
    far: tuple = (305.0, 330.0)
    far_share: float = 0.1
    # Far sends happen only in this first share of the run.
    far_part: float = 1 / 3
    # A far delivery comes due either while the load runs or this long after
    # it ends, past any drain: never while the soak is waiting for the rest.
    past_drain: float = 240.0

    def far_allowed(self, elapsed, due_in):
        """Whether a far send made `elapsed` seconds into the run, due `due_in` later, fits the plan."""
        due_at = elapsed + due_in
        return (elapsed < self.seconds * self.far_part
                and (due_at <= self.seconds or due_at >= self.seconds + self.past_drain))


@dataclass(frozen=True)
class Accepted:
    """One delivery the API accepted: its id, when it is due, over which messenger, through which API."""

    id: str
    due: float
    messenger: str
    api: str
    far: bool


class Refused(Exception):
    """The API answered a send with something other than acceptance."""


class ModelError(RuntimeError):
    """The API's answer contradicts what the soak knows it sent: the soak cannot account."""


class Load:
    """Sender threads for plan.seconds; accepted deliveries and unanswered sends, thread-safe."""

    def __init__(self, system, contacts, plan, seed):
        self.system = system
        self.contacts = contacts
        self.plan = plan
        self.seed = seed
        self.accepted = []
        self.sends = Counter()
        self.unanswered = Counter()
        self.errors = []
        self.started = self.ends = None
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._stop = threading.Event()
        self._threads = []

    def start(self):
        """Start the sender threads; they stop on their own after plan.seconds."""
        self.started = time.time()
        self.ends = time.monotonic() + self.plan.seconds
        self._threads = [threading.Thread(target=self._run, args=(n,), name=f"sender-{n}", daemon=True)
                         for n in range(self.plan.threads)]
        for thread in self._threads:
            thread.start()

    def running(self):
        """Whether any sender is still sending."""
        return any(thread.is_alive() for thread in self._threads)

    def stop(self, timeout):
        """Ask the senders to stop and wait up to timeout seconds for them."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, number):
        rng = random.Random(f"{self.seed}-{number}")
        interval = self.plan.threads / self.plan.rate
        client = self.system.client()
        next_at = time.monotonic() + rng.uniform(0, interval)
        try:
            while not self._stop.wait(max(0.0, next_at - time.monotonic())):
                if time.monotonic() >= self.ends:
                    return
                self._send_one(client, rng)
                # A slow answer delays the next send: no burst to catch up after an outage.
                next_at = max(next_at + rng.uniform(0.5, 1.5) * interval, time.monotonic())
        except Exception as exc:  # noqa: BLE001 - the run must hear of it, not a dead thread
            self.errors.append(exc)
        finally:
            client.close()

    def _send_one(self, client, rng):
        contacts = rng.sample(self.contacts, rng.randint(1, self.plan.max_recipients))
        api = rng.choice(APIS)
        sent_at = time.time()
        due_in = rng.uniform(*self.plan.far)
        far = rng.random() < self.plan.far_share and self.plan.far_allowed(sent_at - self.started, due_in)
        if not far:
            due_in = rng.uniform(*self.plan.near)
        text = f"soak {next(self._numbers)}"
        send = self._original if api == "original" else self._v1
        try:
            accepted = send(client, contacts, text, sent_at + due_in, far)
        except requests.RequestException as exc:
            self._note(api, unanswered=type(exc).__name__)
        except Refused as exc:
            self._note(api, unanswered=str(exc))
        else:
            self._note(api, accepted=accepted)

    def _note(self, api, accepted=(), unanswered=None):
        with self._lock:
            self.sends[api] += 1
            self.accepted.extend(accepted)
            if unanswered is not None:
                self.unanswered[unanswered] += 1

    def _original(self, client, contacts, text, due, far):
        # Whole seconds, rounded up. A time already past when the API reads it
        # means its own "now", a little after this due: nothing can arrive
        # before it is recorded, so no early one goes unseen; lateness then
        # counts the request's own time too.
        due = float(math.ceil(due))
        reply = client.api("PUT", "/api/contacts", {
            "contact": [c.name for c in contacts], "message": text,
            "time": epoch_to_wallclock(due, self.system.config.timezone)})
        if reply.status_code != 200:
            raise Refused(f"HTTP {reply.status_code}")
        answer = reply.json()
        # The original answers only a count: ids follow names x messengers.
        messengers = [m for c in contacts for m in c.messengers()]
        if answer["deliveries"] != len(messengers):
            raise ModelError(f"message {answer['message_id']}: {answer['deliveries']} deliveries, "
                             f"expected {len(messengers)}")
        return [Accepted(f"{answer['message_id']}-{i}", due, m, "original", far)
                for i, m in enumerate(messengers)]

    def _v1(self, client, contacts, text, due, far):
        reply = client.api("POST", "/api/v1/messages", {
            "to": [c.name for c in contacts], "text": text, "not_before": epoch_to_iso(due)})
        if reply.status_code != 202:
            raise Refused(f"HTTP {reply.status_code}")
        answer = reply.json()
        due = datetime.fromisoformat(answer["not_before"]).timestamp()
        return [Accepted(d["id"], due, d["messenger"], "v1", far) for d in answer["deliveries"]]
