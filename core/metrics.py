"""Service metrics as counters in Redis, so that every process adds to the same ones.

Why Redis rather than prometheus_client's multiprocess mode: the API's
gunicorn workers, the Celery workers and the scheduler are separate processes
(in production, separate containers) with no directory they share, and a
scrape of /metrics reaches just one API worker. Counters in Redis are seen by
all of them, cost each process one round trip a second (it adds what it
counted meanwhile), and outlive a restarted process; /metrics reads them back
in one pipeline.
"""

import atexit
import logging
import threading
import time
from collections import Counter

from redis.exceptions import RedisError

from core.keys import Keys
from core.logs import log_event
from core.webhook_posts import WEBHOOK_QUEUE

log = logging.getLogger("core.metrics")

# Seconds from when a sent delivery was due to its sending; one more than an
# hour late (an outage's backlog) counts in +Inf alone.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class Metrics:
    """Request and delivery counters, delivery latency, and queue depths."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    def memory(self) -> tuple:
        """Redis's memory in use and its maxmemory (0: no limit), in bytes."""
        info = self._redis.info("memory")
        return info["used_memory"], info["maxmemory"]

    def read(self, queue, bulk_queue) -> dict:
        """Every counter, the broker queues' and the schedules' sizes, and Redis's memory."""
        with self._redis.pipeline(transaction=False) as pipe:
            for family in ("http_requests", "deliveries", "delivery_latency"):
                pipe.hgetall(self._keys.metrics(family))
            pipe.llen(queue)
            pipe.llen(bulk_queue)
            pipe.llen(WEBHOOK_QUEUE)
            pipe.zcard(self._keys.schedule())
            pipe.zcard(self._keys.webhook_schedule())
            pipe.info("memory")
            requests, deliveries, latency, queued, bulk, hooks, scheduled, posts, memory = pipe.execute()
        return {
            "redis_memory": {"used": memory["used_memory"], "limit": memory["maxmemory"]},
            "http_requests": _by_labels(requests),
            "deliveries": _by_labels(deliveries),
            "delivery_latency": _by_labels(latency),
            "queue_depth": {"broker": queued, "broker_bulk": bulk, "broker_webhooks": hooks,
                            "schedule": scheduled, "webhook_posts": posts},
        }


def _by_labels(counters):
    return {tuple(field.split("|")): float(value) for field, value in counters.items()}


class Tally:
    """Counts kept in memory and added to Redis once a second, so that nobody waits on Redis to count.

    Counting in Redis on every answer cost a round trip per delivery on the
    hot path, and kept every request waiting on a hung Redis, /healthz too;
    a second's delay in /metrics costs nothing anyone would see.
    """

    def __init__(self, redis, keys: Keys, interval=1.0):
        self._redis = redis
        self._keys = keys
        self._interval = interval
        self._lock = threading.Lock()
        self._pending = Counter()
        self._thread = None
        self._unavailable = False

    def _add(self, counts):
        with self._lock:
            self._pending.update(counts)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def flush(self):
        """Add what was counted since the last flush to Redis; kept for next time if Redis is away.

        An outage is logged once, when it begins, and once when it ends.
        """
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
            if not self._unavailable:
                log_event(log, "metrics.unavailable", level=logging.WARNING, error=str(exc))
            self._unavailable = True
            return
        if self._unavailable:
            log_event(log, "metrics.restored", counts=len(pending))
        self._unavailable = False

    def _run(self):
        while True:
            time.sleep(self._interval)
            self.flush()


class DeliveryTally(Tally):
    """A worker's delivery counts and latencies."""

    def add(self, messenger, outcome, latency):
        """Count one gateway answer (sent, retrying, failed); of a sent one, its seconds after the due time."""
        counts = {("deliveries", f"{messenger}|{outcome}"): 1}
        # Only a delivery that went out has a latency anyone waited for.
        if outcome == "sent":
            latency = max(0.0, latency)
            bucket = next((str(b) for b in LATENCY_BUCKETS if latency <= b), "+Inf")
            counts[("delivery_latency", f"{messenger}|{bucket}")] = 1
            counts[("delivery_latency", f"{messenger}|sum")] = latency
        self._add(counts)


class RequestTally(Tally):
    """An API process's counts of the requests it answered."""

    def add(self, method, route, status):
        """Count one HTTP request answered."""
        self._add({("http_requests", f"{method}|{route}|{status}"): 1})


def answer_outcome(kind, attempts, max_attempts) -> str:
    """The metrics outcome of a gateway answer: sent, retrying or failed."""
    if kind == "sent":
        return "sent"
    if kind == "transient" and attempts < max_attempts:
        return "retrying"
    return "failed"
