"""Service metrics as counters in Redis, so that every process adds to the same ones.

Why Redis rather than prometheus_client's multiprocess mode: the API's
gunicorn workers, the Celery workers and the scheduler are separate processes
(in production, separate containers) with no directory they share, and a
scrape of /metrics reaches just one API worker. Counters in Redis are seen by
all of them, cost one round trip per request (workers add theirs once a second),
and outlive a restarted process; /metrics reads them back in one pipeline.
"""

import atexit
import logging
import threading
import time
from collections import Counter

from redis.exceptions import RedisError

from core.keys import Keys
from core.logs import log_event

log = logging.getLogger("core.metrics")

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    """Request and delivery counters, delivery latency, and queue depths."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    def count_request(self, method, route, status):
        """Count one HTTP request answered."""
        self._redis.hincrby(self._keys.metrics("http_requests"), f"{method}|{route}|{status}", 1)

    def read(self, queue) -> dict:
        """Every counter, and how many tasks wait in the broker's queue and in the schedule."""
        with self._redis.pipeline(transaction=False) as pipe:
            for family in ("http_requests", "deliveries", "delivery_latency"):
                pipe.hgetall(self._keys.metrics(family))
            pipe.llen(queue)
            pipe.zcard(self._keys.schedule())
            requests, deliveries, latency, queued, scheduled = pipe.execute()
        return {
            "http_requests": _by_labels(requests),
            "deliveries": _by_labels(deliveries),
            "delivery_latency": _by_labels(latency),
            "queue_depth": {"broker": queued, "schedule": scheduled},
        }


def _by_labels(counters):
    return {tuple(field.split("|")): float(value) for field, value in counters.items()}


class DeliveryTally:
    """A worker's delivery counts, kept in memory and added to Redis once a second.

    Counting in Redis on every answer cost a round trip per delivery on the
    hot path; a second's delay in /metrics costs nothing anyone would see.
    """

    def __init__(self, redis, keys: Keys, interval=1.0):
        self._redis = redis
        self._keys = keys
        self._interval = interval
        self._lock = threading.Lock()
        self._pending = Counter()
        self._thread = None

    def add(self, messenger, outcome, latency):
        """Count one gateway answer (sent, retrying, failed) and its seconds after the due time."""
        latency = max(0.0, latency)
        bucket = next((str(b) for b in LATENCY_BUCKETS if latency <= b), "+Inf")
        with self._lock:
            self._pending["deliveries", f"{messenger}|{outcome}"] += 1
            self._pending["delivery_latency", f"{messenger}|{bucket}"] += 1
            self._pending["delivery_latency", f"{messenger}|sum"] += latency
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def flush(self):
        """Add what was counted since the last flush to Redis; kept for next time if Redis is away."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for (family, field), value in pending.items():
                    pipe.hincrbyfloat(self._keys.metrics(family), field, value)
                pipe.execute()
        except RedisError as exc:
            with self._lock:
                self._pending.update(pending)
            log_event(log, "metrics.unavailable", level=logging.WARNING, error=str(exc))

    def _run(self):
        while True:
            time.sleep(self._interval)
            self.flush()


def answer_outcome(kind, attempts, max_attempts) -> str:
    """The metrics outcome of a gateway answer: sent, retrying or failed."""
    if kind == "sent":
        return "sent"
    if kind == "transient" and attempts < max_attempts:
        return "retrying"
    return "failed"
