"""Recurring sends run by the scheduler: each schedule's due run sent as one message.

Each scheduler takes due schedules one at a time (core/recurring.py: a
schedule is in one scheduler's hands at once) and sends the run with the
Idempotency-Key `schedule-<id>-<run>`, so one that takes over from a
scheduler that died makes no second message. Of the runs missed while
everything was down, the latest is sent if at most SCHEDULE_GRACE seconds
late; the others, and a later one, are skipped and counted.
"""

import logging
import secrets
import threading
import time

from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from core.logs import log_event
from core.recurring import missed_runs, run_after, run_before
from core.sending.errors import KeyConflict, SendRefused, TryLater
from core.sending.request import send, stored_send
from core.services import Services

log = logging.getLogger("workers.recurring_runs")
# Refusals a later try may not meet (a send of the run still in progress,
# too many open deliveries, a busy store) are tried again while within grace.
TRY_AGAIN = (KeyConflict, TryLater)
TRY_AGAIN_PAUSE = 10.0


def run_due(svc, now: float, stop: threading.Event) -> int:
    """Take and run due schedules one at a time until none is due (or stopped); how many runs were sent.

    Lateness is judged at `now`, when this pass began: a run is never
    skipped for having waited behind others in a busy pass.
    """
    holder, sent = secrets.token_hex(8), 0
    while not stop.is_set():
        record = svc.schedules.take(time.time(), holder)
        if record is None:
            return sent
        try:
            sent += run_one(svc, record, now) == "sent"
        except (PyMongoError, RedisError):
            raise
        except Exception:  # a schedule this code cannot read must not hold up the others
            log.exception("schedule %s: run failed", record["_id"])
            svc.schedules.try_later(record, time.time() + TRY_AGAIN_PAUSE)
    return sent


def run_one(svc, record, now) -> str:
    """Send one taken schedule's due run, or skip it: 'sent', 'refused', 'skipped' or 'later'."""
    expr, zone_name = record["cron"], record["timezone"]
    latest, before = missed_runs(expr, zone_name, record["next_run_at"], now)
    following = run_after(expr, zone_name, now)
    if now - latest > svc.config.schedule_grace:
        svc.schedules.advance(record, following, {"last_skipped_at": latest}, skipped=before + 1)
        log_event(log, "schedule.skipped", schedule=record["_id"], runs=before + 1)
        return "skipped"
    skipped = {"last_skipped_at": run_before(expr, zone_name, latest)} if before else {}
    try:
        outcome, done = _send_run(svc, record, latest)
    except (PyMongoError, RedisError):
        raise
    except Exception as exc:  # a send this code cannot make is that run's error, not the schedule's end
        log.exception("schedule %s: run failed", record["_id"])
        outcome, done = "refused", _error(latest, 500, f"The run could not be sent: {exc!r}")
    if outcome == "later":
        svc.schedules.try_later(record, time.time() + TRY_AGAIN_PAUSE)
        return outcome
    svc.schedules.advance(record, following, {**done, **skipped}, runs=int(outcome == "sent"),
                          skipped=before)
    log_event(log, f"schedule.{outcome}", schedule=record["_id"], run=latest)
    return outcome


def _send_run(svc, record, run) -> tuple:
    """Send one run of a schedule, once per run however often tried: (outcome, fields to record)."""
    key = f"schedule-{record['_id']}-{int(run)}"
    try:
        answer = send(svc, record["user"], stored_send(record["send"]), key, record["send"],
                      schedule_id=record["_id"])[0]
    except TRY_AGAIN:
        return "later", {}
    except SendRefused as exc:
        # Recorded with the status the API would have answered the send with.
        return "refused", _error(run, exc.status, exc.message)
    return "sent", {"last_run_at": run, "last_message_id": answer["id"], "last_error": None}


def _error(at, status, message) -> dict:
    return {"last_error": {"at": at, "status": status, "message": message}}


def run(config, stop: threading.Event):
    """Run due schedules every `scheduler_interval` seconds until stopped; a store outage waits it out."""
    # Services as the API's: the runs record sends as its requests do.
    svc = Services(config, records_sends=True)
    while not stop.is_set():
        try:
            # This host's clock, as the API's when it made the schedule:
            # NTP's skew is nothing beside the grace and the hold.
            run_due(svc, time.time(), stop)
        except (PyMongoError, RedisError) as exc:
            log_event(log, "schedule.store_unavailable", level=logging.WARNING, error=str(exc))
        except Exception:  # a bug here must not stop the runs for good
            log.exception("schedule.runs_failed")
        stop.wait(config.scheduler_interval)
