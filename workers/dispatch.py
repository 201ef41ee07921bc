"""Hand deliveries to Celery: ETA tasks when due soon, the schedule otherwise."""

import time
from collections import namedtuple

from workers.celery_app import DELIVER_TASK
from workers.publisher import TaskPublisher

Job = namedtuple("Job", "delivery_id ticket due")


class Dispatcher:
    """Records deliveries and publishes their tasks in the same transaction."""

    def __init__(self, config, redis, celery, schedule):
        self._config = config
        self._redis = redis
        self._schedule = schedule
        self.publisher = TaskPublisher(celery, DELIVER_TASK, config.delivery_queue)

    def hand_over_time(self, due: float, now: float) -> float:
        """When the scheduler should publish a delivery nobody published before."""
        if due - now > self._config.schedule_horizon:
            return due - self._config.schedule_horizon
        return max(due, now) + self._config.outbox_grace

    def submit(self, jobs, record=None, now=None):
        """Record (with `record(pipe)`) and hand over jobs, all in one transaction."""
        now = time.time() if now is None else now
        horizon = self._config.schedule_horizon
        with self._redis.pipeline(transaction=True) as pipe:
            if record is not None:
                record(pipe)
            self._schedule.add(pipe, [
                (j.delivery_id, j.ticket, j.due - horizon) for j in jobs if j.due - now > horizon
            ])
            for job in jobs:
                if job.due - now <= horizon:
                    self._add_task(pipe, job, now)
            pipe.execute()

    def publish(self, jobs):
        """Publish scheduled jobs and drop them from the schedule, in one transaction."""
        if not jobs:
            return
        now = time.time()
        with self._redis.pipeline(transaction=True) as pipe:
            for job in jobs:
                self._add_task(pipe, job, now)
            self._schedule.remove([(j.delivery_id, j.ticket) for j in jobs], pipe)
            pipe.execute()

    def _add_task(self, pipe, job, now):
        eta = job.due if job.due > now else None
        self.publisher.add(pipe, job.delivery_id, (job.delivery_id, job.ticket), eta)
