"""Hand deliveries to Celery: a schedule entry for each, and an ETA task when due soon.

Tasks go to one of two queues, by lane: a big send's to the bulk queue, the
rest to the main one. Workers take from both in turn, so a small send is
picked up next, however many tasks a big one has waiting.
"""

import random
import time
import uuid
from collections import namedtuple

from redis.exceptions import WatchError

from core.messages import message_id_of
from core.publisher import TaskPublisher
from core.schedule import Schedule

# The Celery task that makes one attempt at one delivery (workers/tasks.py).
DELIVER_TASK = "workers.deliver"

# about: the delivery's (messenger, contact), for monitors such as Flower to
# show with its task; never the text, which may be private. lane: "bulk" for
# a big send's deliveries, None for the rest.
Job = namedtuple("Job", "delivery_id ticket due about lane", defaults=(None, None))
BULK = "bulk"
# Times a guarded send is tried while concurrent sends change what it
# watches (each round, one of them goes through), with a pause of up to
# WATCH_PAUSE seconds between tries so that they stop colliding.
WATCH_TRIES = 100
WATCH_PAUSE = 0.002


class TooLate(RuntimeError):
    """A send whose deadline passed before its transaction went: nothing was written."""


class Dispatcher:
    """Records deliveries and publishes their tasks in the same transaction."""

    def __init__(self, config, redis, keys):
        self._redis = redis
        self.schedule = Schedule(redis, keys, config.schedule_horizon, config.recovery_grace)
        self._bulk_threshold = config.bulk_threshold
        self.publishers = {lane: TaskPublisher(DELIVER_TASK, queue)
                           for lane, queue in config.delivery_queues.items()}

    def lane_for(self, count):
        """The lane of a send of `count` deliveries."""
        return BULK if count > self._bulk_threshold else None

    def queue_for(self, lane):
        """The broker queue of a lane."""
        return self.publishers[lane].queue

    def submit(self, jobs, record=None, now=None, guard=None, deadline=None):
        """Record (with `record(pipe)`) and hand over new jobs, all in one transaction.

        Each job gets its schedule entry; one due within the horizon its task too.
        `guard` is (keys, check): check(pipe) reads the watched keys and raises
        to refuse; the transaction goes only if they did not change meanwhile.
        Past `deadline` (a time.perf_counter() moment) it does not go: TooLate.
        """
        now = time.time() if now is None else now
        with self._redis.pipeline(transaction=True) as pipe:
            for tries_left in reversed(range(WATCH_TRIES)):
                try:
                    if guard is not None:
                        keys, check = guard
                        pipe.watch(*keys)
                        check(pipe)
                        pipe.multi()
                    self._record(pipe, jobs, record, now)
                    # Checked last: queuing a big send's commands takes a while too.
                    if deadline is not None and time.perf_counter() > deadline:
                        raise TooLate()
                    pipe.execute()
                    return
                except WatchError:
                    # Other sends kept changing the watched keys: past the
                    # last try, the caller's (a 503, try again).
                    if not tries_left:
                        raise
                    pipe.reset()
                    time.sleep(random.uniform(0, WATCH_PAUSE))

    def _record(self, pipe, jobs, record, now):
        if record is not None:
            record(pipe)
        self.schedule.add(pipe, [
            (j.delivery_id, j.ticket, self.schedule.moment(j.due, now)) for j in jobs
        ])
        for job in jobs:
            if job.due - now <= self.schedule.horizon:
                self._add_task(pipe, job, now)

    def defer(self, deliveries, job, now=None) -> bool:
        """Hand a waiting job back until `job.due`: its ETA task, and its entry a grace after."""
        now = time.time() if now is None else now
        # Even a wait beyond the horizon keeps its task: the schedule knows
        # only the delivery's own due time, long past for a throttled one.
        return deliveries.defer(job.delivery_id, job.ticket, max(job.due, now) + self.schedule.grace,
                                self.queue_for(job.lane), self.task_message(job, now, again=True))

    def publish(self, jobs):
        """Publish the tasks of jobs whose schedule entries are already written."""
        if not jobs:
            return
        now = time.time()
        with self._redis.pipeline(transaction=True) as pipe:
            for job in jobs:
                self._add_task(pipe, job, now)
            pipe.execute()

    def start_next_step(self, deliveries, delivery_id, lane, now):
        """Publish the task of a fallback chain's step just started (its schedule entry would, a grace later)."""
        fields = deliveries.get(delivery_id)
        self.publish([Job(delivery_id, 1, now, (fields.get("messenger"), fields.get("contact")), lane)])

    def task_message(self, job, now, again=False) -> str:
        """The task message of a job: with an ETA when it is due later than now.

        Each ticket's first task is '<delivery id>.<ticket>', so a monitor
        shows each attempt, linked to the one before (its parent) and to the
        delivery's first (its root); a task handed back or copied for the
        same ticket (`again`) gets an id of its own, that one as its parent.
        """
        first = f"{job.delivery_id}.{job.ticket}"
        if again:
            task_id, parent = f"{first}.{uuid.uuid4().hex[:8]}", first
        else:
            task_id, parent = first, f"{job.delivery_id}.{job.ticket - 1}" if job.ticket > 1 else None
        return self.publishers[job.lane].message(
            task_id, (job.delivery_id, job.ticket), _eta(job, now), root_id=f"{job.delivery_id}.1",
            parent_id=parent, retries=job.ticket - 1, kwargsrepr=_shown(job),
        )

    def _add_task(self, pipe, job, now):
        pipe.lpush(self.queue_for(job.lane), self.task_message(job, now))


def _eta(job, now):
    return job.due if job.due > now else None


def _shown(job) -> str:
    """What monitors show as a task's keyword arguments: whom it is for, and its message's id.

    A dict's repr, which Flower parses to filter on (`kwargs:messenger=viber`).
    """
    message = message_id_of(job.delivery_id)
    if job.about is None:
        return f"{{'message': {message!r}}}"
    messenger, contact = job.about
    return f"{{'messenger': {messenger!r}, 'contact': {contact!r}, 'message': {message!r}}}"
