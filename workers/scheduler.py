"""The scheduler process: acts on every delivery whose moment in the schedule has come.

Each tick also relays webhook events and hands due webhook posts to Celery
(workers/webhook_relay.py); a thread of its own sends recurring sends' due
runs (workers/recurring_runs.py), so a MongoDB outage never holds up a
delivery. Run as `python -m workers.scheduler`; several copies may run at
once.
"""

import logging
import signal
import threading

from redis.exceptions import RedisError

from core.config import Config
from core.dispatch import Job
from core.logs import log_event, setup_logging
from core.statuses import SENDING, STANDBY, WAITING
from workers import recurring_runs
from workers.context import worker_context
from workers.webhook_relay import Relay

log = logging.getLogger("workers.scheduler")
BATCH = 1000
# A broker queue this long means the workers are behind, not gone: an
# overdue delivery is looked at again once the queue could have drained, at
# DRAIN_RATE tasks a second, rather than copied into it; once it is PATIENCE
# overdue it is copied all the same, once a drain, lest a lasting backlog
# hide a lost one.
BACKLOG = 1000
DRAIN_RATE = 1000.0
PATIENCE = 60.0
# How long a stopping scheduler waits for a recurring send in progress.
RECURRING_STOP_WAIT = 10.0


def next_step(delivery_id, ticket, head, now, schedule, queued):
    """What to do with an entry whose moment came: None to drop it, else (next moment, job or None).

    `head` is the delivery's (status, ticket, due, lease, updated_at, lane);
    `queued` how many tasks wait in the broker's queue of its lane.
    """
    status, current, due, lease, updated = head[:5]
    if status is None or int(current) != ticket or (status not in WAITING and status != SENDING):
        return None
    due = float(due)
    if status == SENDING and float(lease) > now:
        return float(lease), None
    if due - now > schedule.horizon:
        return due - schedule.horizon, None
    if due > now:
        return due + schedule.grace, Job(delivery_id, ticket, due)
    # Due, and neither claimed in time nor sent within its lease: the task
    # was lost with its worker (or never published), or waits in a backlog.
    copy = Job(delivery_id, ticket, now)
    if queued >= BACKLOG:
        # Waiting since its due time or, if later, since it was handed over
        # (a send dated in the past is due on receipt).
        waiting = now - max(due, float(updated))
        return now + schedule.grace + queued / DRAIN_RATE, copy if waiting >= PATIENCE else None
    return now + schedule.grace, copy


def hand_over_due(ctx, now: float) -> int:
    """Act on every schedule entry whose moment has come; how many tasks were published."""
    dispatcher, schedule = ctx.dispatcher, ctx.dispatcher.schedule
    lanes = list(dispatcher.publishers)
    published, seen = 0, set()
    while True:
        entries = [e for e in schedule.due(now, BATCH) if e[:2] not in seen]
        if not entries:
            return published
        queued = dict(zip(lanes, _lengths(ctx.redis, [dispatcher.queue_for(lane) for lane in lanes]), strict=True))
        heads = ctx.deliveries.heads([d for d, _, _ in entries])
        steps, finished, started = [], [], []
        for (delivery_id, ticket, score), head in zip(entries, heads, strict=True):
            seen.add((delivery_id, ticket))
            lane = head[5]
            if head[0] == STANDBY:
                # A fallback step whose step before got no delivered receipt in time.
                if ctx.deliveries.activate(delivery_id, ticket, now, schedule.moment(now, now)):
                    started.append(Job(delivery_id, ticket, now, lane=lane))
                continue
            step = next_step(delivery_id, ticket, head, now, schedule, queued[lane])
            if step is None:
                finished.append((delivery_id, ticket))
            else:
                steps.append((lane, delivery_id, ticket, score, *step))
        about = _about(ctx, [job.delivery_id for *_, job in steps if job is not None])
        actions = {lane: [] for lane in lanes}
        for lane, delivery_id, ticket, score, moment, job in steps:
            # A job due now is a copy of a task that was handed over before.
            message = "" if job is None else dispatcher.task_message(
                job._replace(about=about[delivery_id], lane=lane), now, again=job.due <= now)
            actions[lane].append((delivery_id, ticket, score, moment, message))
        for lane, taken in actions.items():
            published += schedule.take(dispatcher.queue_for(lane), taken)
        schedule.remove(finished)
        about = _about(ctx, [job.delivery_id for job in started])
        dispatcher.publish([job._replace(about=about[job.delivery_id]) for job in started])
        published += len(started)


def _lengths(redis, queues) -> list:
    """How many tasks wait in each of these broker queues."""
    with redis.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(queue)
        return pipe.execute()


def _about(ctx, delivery_ids) -> dict:
    """{delivery id: (messenger, contact)}, for the tasks about to be published."""
    if not delivery_ids:
        return {}
    found = ctx.deliveries.get_many(delivery_ids)
    return {d: (f.get("messenger"), f.get("contact")) for d, f in zip(delivery_ids, found, strict=True)}


def _relay_webhooks(relay, now):
    """Turn new events into webhook posts and hand due posts over; a bug there never stops deliveries."""
    try:
        published = relay.run(now)
    except RedisError:
        raise
    except Exception:
        log.exception("scheduler.webhooks_failed")
        return
    if published:
        log_event(log, "scheduler.webhooks_published", count=published)


def run(config: Config, stop: threading.Event):
    """Act on due entries and purge expired records every `scheduler_interval` seconds until stopped."""
    ctx = worker_context(config)
    relay = Relay(ctx)
    # A daemon, so a send in progress never holds up the process's exit.
    recurring = threading.Thread(target=recurring_runs.run, args=(config, stop), name="recurring-runs",
                                 daemon=True)
    recurring.start()
    log_event(log, "scheduler.started", interval=config.scheduler_interval)
    while not stop.is_set():
        if not recurring.is_alive():
            # Exit, so that the supervisor starts the process, and the runs, again.
            log_event(log, "scheduler.recurring_runs_stopped", level=logging.ERROR)
            raise SystemExit(1)
        try:
            # The Redis server's clock, as the claims use: every host's
            # scheduler then agrees on when a lease ran out.
            seconds, micros = ctx.redis.time()
            now = seconds + micros / 1e6
            published = hand_over_due(ctx, now)
            if published:
                log_event(log, "scheduler.published", count=published)
            purged = ctx.retention.purge(now)
            if purged:
                log_event(log, "scheduler.purged", count=purged)
            _relay_webhooks(relay, now)
        except RedisError as exc:
            log_event(log, "scheduler.store_unavailable", level=logging.WARNING, error=str(exc))
        stop.wait(config.scheduler_interval)
    recurring.join(RECURRING_STOP_WAIT)
    log_event(log, "scheduler.stopped")


def main():
    """Entry point: run the scheduler until SIGTERM or SIGINT."""
    config = Config.from_env_or_exit()
    setup_logging(config.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(config, stop)


if __name__ == "__main__":
    main()
