"""Hand deliveries to Celery: a schedule entry for each, and an ETA task when due soon."""

import time
from collections import namedtuple

from core.publisher import TaskPublisher
from core.schedule import Schedule

# The Celery task that makes one attempt at one delivery (workers/tasks.py).
DELIVER_TASK = "workers.deliver"

Job = namedtuple("Job", "delivery_id ticket due")


class Dispatcher:
    """Records deliveries and publishes their tasks in the same transaction."""

    def __init__(self, config, redis, keys):
        self._redis = redis
        self.schedule = Schedule(redis, keys, config.schedule_horizon, config.recovery_grace)
        self.publisher = TaskPublisher(DELIVER_TASK, config.delivery_queue)

    def submit(self, jobs, record=None, now=None):
        """Record (with `record(pipe)`) and hand over new jobs, all in one transaction.

        Each job gets its schedule entry; one due within the horizon its task too.
        """
        now = time.time() if now is None else now
        with self._redis.pipeline(transaction=True) as pipe:
            if record is not None:
                record(pipe)
            self.schedule.add(pipe, [
                (j.delivery_id, j.ticket, self.schedule.moment(j.due, now)) for j in jobs
            ])
            for job in jobs:
                if job.due - now <= self.schedule.horizon:
                    self._add_task(pipe, job, now)
            pipe.execute()

    def defer(self, deliveries, job, now=None) -> bool:
        """Hand a waiting job back until `job.due`: its ETA task, and its entry a grace after."""
        now = time.time() if now is None else now
        # Even a wait beyond the horizon keeps its task: the schedule knows
        # only the delivery's own due time, long past for a throttled one.
        return deliveries.defer(job.delivery_id, job.ticket, max(job.due, now) + self.schedule.grace,
                                self.publisher.queue, self.task_message(job, now))

    def publish(self, jobs):
        """Publish the tasks of jobs whose schedule entries are already written."""
        if not jobs:
            return
        now = time.time()
        with self._redis.pipeline(transaction=True) as pipe:
            for job in jobs:
                self._add_task(pipe, job, now)
            pipe.execute()

    def task_message(self, job, now) -> str:
        """The task message of a job: with an ETA when it is due later than now."""
        return self.publisher.message(job.delivery_id, (job.delivery_id, job.ticket), _eta(job, now))

    def _add_task(self, pipe, job, now):
        self.publisher.add(pipe, job.delivery_id, (job.delivery_id, job.ticket), _eta(job, now))


def _eta(job, now):
    return job.due if job.due > now else None
