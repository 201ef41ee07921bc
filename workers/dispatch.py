"""Hand deliveries to Celery: ETA tasks when due soon, the schedule otherwise."""

import time
from collections import namedtuple
from datetime import datetime, timezone

from workers.celery_app import DELIVER_TASK

Job = namedtuple("Job", "delivery_id ticket due")


class Dispatcher:
    """Records deliveries and publishes their tasks, losing none on a crash."""

    def __init__(self, config, redis, celery, schedule):
        self._config = config
        self._redis = redis
        self._celery = celery
        self._schedule = schedule

    def hand_over_time(self, due: float, now: float) -> float:
        """When the scheduler should publish a delivery nobody published before."""
        if due - now > self._config.schedule_horizon:
            return due - self._config.schedule_horizon
        return max(due, now) + self._config.outbox_grace

    def submit(self, jobs, record=None, now=None):
        """Record (in one transaction, with `record(pipe)`) and publish jobs."""
        now = time.time() if now is None else now
        with self._redis.pipeline(transaction=True) as pipe:
            if record is not None:
                record(pipe)
            self._schedule.add(pipe, [
                (j.delivery_id, j.ticket, self.hand_over_time(j.due, now)) for j in jobs
            ])
            pipe.execute()
        self.publish([j for j in jobs if j.due - now <= self._config.schedule_horizon])

    def publish(self, jobs):
        """Publish delivery tasks (ETA at their due time), then drop them from the schedule."""
        if not jobs:
            return
        now = time.time()
        with self._celery.producer_or_acquire() as producer, producer.batch():
            for job in jobs:
                eta = datetime.fromtimestamp(job.due, timezone.utc) if job.due > now else None
                self._celery.send_task(
                    DELIVER_TASK, args=(job.delivery_id, job.ticket), task_id=job.delivery_id,
                    eta=eta, producer=producer,
                )
        self._schedule.remove([(j.delivery_id, j.ticket) for j in jobs])
