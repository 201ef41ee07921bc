"""Recurring sends run by the scheduler: each schedule's due run sent as one message.

A run is a send with the Idempotency-Key `schedule-<id>-<run>`: several
schedulers, or one retrying after a crash, make one message of it. A run
found more than SCHEDULE_GRACE seconds late (everything was down) is
skipped and counted, and so is every earlier run missed.
"""

import logging
import threading

from marshmallow import ValidationError
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from api import create_app
from api.errors import ApiError
from api.services import services
from api.v1.schemas import SendSchema
from api.v1.sends import send
from core.logs import log_event
from core.recurring import missed_runs, run_after, run_before

log = logging.getLogger("workers.recurring_runs")
BATCH = 100
# Refusals a later try may not meet: a send of the run still in progress,
# too many open deliveries, a busy store. Tried again while within grace.
TRY_AGAIN = (409, 429, 503)


def run_due(svc, now: float) -> int:
    """Send every schedule's due run; how many runs were sent."""
    sent = 0
    for record in svc.schedules.due(now, BATCH):
        sent += run_one(svc, record, now) == "sent"
    return sent


def run_one(svc, record, now) -> str:
    """Send one schedule's due run, or skip it: 'sent', 'refused', 'skipped' or 'later'."""
    expr, zone_name = record["cron"], record["timezone"]
    latest, before = missed_runs(expr, zone_name, record["next_run_at"], now)
    following = run_after(expr, zone_name, now)
    if now - latest > svc.config.schedule_grace:
        svc.schedules.advance(record, following, {"last_skipped_at": latest}, skipped=before + 1)
        log_event(log, "schedule.skipped", schedule=record["_id"], runs=before + 1)
        return "skipped"
    skipped = {"last_skipped_at": run_before(expr, zone_name, latest)} if before else {}
    key = f"schedule-{record['_id']}-{int(latest)}"
    try:
        data = SendSchema().load(record["send"])
        answer = send(svc, record["user"], data, key, record["send"], schedule_id=record["_id"])[0]
    except ValidationError as exc:
        outcome, done = "refused", _error(latest, 422, str(exc.messages))
    except ApiError as exc:
        if exc.code in TRY_AGAIN:
            return "later"
        outcome, done = "refused", _error(latest, exc.code, exc.message)
    else:
        outcome, done = "sent", {"last_run_at": latest, "last_message_id": answer["id"], "last_error": None}
    svc.schedules.advance(record, following, {**done, **skipped}, runs=int(outcome == "sent"),
                          skipped=before)
    log_event(log, f"schedule.{outcome}", schedule=record["_id"], run=latest)
    return outcome


def _error(at, status, message) -> dict:
    return {"last_error": {"at": at, "status": status, "message": message}}


def run(config, stop: threading.Event):
    """Send due runs every `scheduler_interval` seconds until stopped; a store outage waits it out."""
    app = create_app(config)
    with app.app_context():
        svc = services()
        while not stop.is_set():
            try:
                seconds, micros = svc.redis.time()
                run_due(svc, seconds + micros / 1e6)
            except (PyMongoError, RedisError) as exc:
                log_event(log, "schedule.store_unavailable", level=logging.WARNING, error=str(exc))
            except Exception:
                log.exception("schedule.run_failed")
            stop.wait(config.scheduler_interval)
