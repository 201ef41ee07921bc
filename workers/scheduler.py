"""The scheduler process: hands due schedule entries to Celery.

Run as `python -m workers.scheduler`.
"""

import logging
import signal
import threading
import time

from redis.exceptions import RedisError

from core.config import Config
from core.deliveries import FINAL
from core.logs import log_event, setup_logging
from workers.celery_app import create_celery
from workers.context import worker_context
from workers.dispatch import Job

log = logging.getLogger("workers.scheduler")
BATCH = 1000


def hand_over_due(ctx, now: float) -> int:
    """Publish every schedule entry whose time has come; how many were published."""
    published = 0
    while True:
        entries = ctx.schedule.due(now, BATCH)
        if not entries:
            return published
        records = ctx.deliveries.get_many([d for d, _ in entries])
        jobs, stale = [], []
        for (delivery_id, ticket), fields in zip(entries, records):
            if fields and int(fields["ticket"]) == ticket and fields["status"] not in FINAL:
                jobs.append(Job(delivery_id, ticket, float(fields["due"])))
            else:
                stale.append((delivery_id, ticket))
        ctx.dispatcher.publish(jobs)
        ctx.schedule.remove(stale)
        published += len(jobs)


def run(config: Config, stop: threading.Event):
    """Hand over due entries every `scheduler_interval` seconds until stopped."""
    ctx = worker_context(create_celery(config))
    log_event(log, "scheduler.started", interval=config.scheduler_interval)
    while not stop.is_set():
        try:
            published = hand_over_due(ctx, time.time())
            if published:
                log_event(log, "scheduler.published", count=published)
        except RedisError as exc:
            log_event(log, "scheduler.store_unavailable", level=logging.WARNING, error=str(exc))
        stop.wait(config.scheduler_interval)
    log_event(log, "scheduler.stopped")


def main():
    """Entry point: run the scheduler until SIGTERM or SIGINT."""
    config = Config.from_env()
    setup_logging(config.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(config, stop)


if __name__ == "__main__":
    main()
