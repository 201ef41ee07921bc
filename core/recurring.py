"""Recurring sends: a cron expression read in a time zone, the send it makes, and its next run.

Kept in MongoDB's `schedules` collection. A scheduler takes a due schedule
by moving its `try_at` on by a lease in one atomic step, so each schedule is
in one scheduler's hands at a time and several share the work; it then sends
the run with an Idempotency-Key naming the schedule and the run's moment, and
marks it done. One that dies holding a schedule loses it when the lease runs
out, and the scheduler that takes it over sends the same run with the same
key: a message made before the death is answered again, not made twice.
"""

import secrets
from datetime import datetime, timezone

from cronsim import CronSim, CronSimError
from pymongo import ASCENDING, ReturnDocument

from core.timing import zone

SCHEDULES_MAX = 100
# How long a scheduler holds a schedule it took: far longer than the largest
# send takes, far shorter than SCHEDULE_GRACE, so a run whose scheduler died
# is taken over in time.
HOLD_SECONDS = 60.0
# Cron's five fields; a seconds field would make a schedule a flood.
CRON_FIELDS = 5
# Missed runs counted one by one, at most (ten weeks of minutely ones).
MISSED_SCAN_MAX = 100_000


class CronRefused(ValueError):
    """A cron expression that is not one."""


def checked_cron(expr: str) -> str:
    """The expression, if cron's five fields make one; else CronRefused saying why."""
    if len(expr.split()) != CRON_FIELDS:
        raise CronRefused("Give cron's five fields: minute hour day-of-month month day-of-week.")
    try:
        CronSim(expr, datetime.now(timezone.utc))
    except CronSimError as exc:
        raise CronRefused(f"{exc}.") from None
    return expr


def run_after(expr: str, zone_name: str, epoch: float) -> float:
    """The first run of `expr`, read as wall time in the zone, strictly after `epoch`."""
    start = datetime.fromtimestamp(epoch, zone(zone_name))
    return next(CronSim(expr, start)).timestamp()


def run_before(expr: str, zone_name: str, epoch: float) -> float:
    """The last run of `expr`, read as wall time in the zone, strictly before `epoch`."""
    start = datetime.fromtimestamp(epoch, zone(zone_name))
    return next(CronSim(expr, start, reverse=True)).timestamp()


def missed_runs(expr: str, zone_name: str, first: float, now: float) -> tuple:
    """(the latest run due by `now`, how many runs since `first` came before it).

    `first` is a run due by `now`; the count stops at MISSED_SCAN_MAX.
    """
    latest = max(first, run_before(expr, zone_name, now))
    before, runs, moment = 0, CronSim(expr, datetime.fromtimestamp(first, zone(zone_name))), first
    while before < MISSED_SCAN_MAX and moment < latest:
        moment = next(runs).timestamp()
        before += 1
    return latest, before


class ScheduleStore:
    """Users' schedules: made, listed, paused, resumed, deleted, and taken and advanced run by run.

    `next_run_at` is the first run not yet done; `try_at` when a scheduler may
    next take the schedule (its next run, the end of a hold, or a later try).
    """

    def __init__(self, mongo):
        self._schedules = mongo["schedules"]

    def ensure_indexes(self):
        """The indexes the queries below use."""
        self._schedules.create_index([("user", ASCENDING), ("created_at", ASCENDING)])
        self._schedules.create_index([("paused", ASCENDING), ("try_at", ASCENDING)])

    def create(self, user, send, cron, zone_name, now) -> dict | None:
        """Record a schedule of the user's; None if they have SCHEDULES_MAX already."""
        first = run_after(cron, zone_name, now)
        record = {"_id": f"sch_{secrets.token_hex(12)}", "user": user, "send": send, "cron": cron,
                  "timezone": zone_name, "paused": False, "created_at": now, "next_run_at": first,
                  "try_at": first, "runs": 0, "skipped_runs": 0}
        self._schedules.insert_one(record)
        # Counted after the write, so two made at once cannot both pass the cap.
        if self._schedules.count_documents({"user": user}) > SCHEDULES_MAX:
            self._schedules.delete_one({"_id": record["_id"]})
            return None
        return record

    def count_for(self, user) -> int:
        """How many schedules the user has."""
        return self._schedules.count_documents({"user": user})

    def list_for(self, user, skip, limit) -> list:
        """The user's schedules, oldest first."""
        found = self._schedules.find({"user": user}).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        return list(found.skip(skip).limit(limit))

    def get(self, user, schedule_id) -> dict | None:
        """The user's schedule of this id, or None."""
        return self._schedules.find_one({"_id": schedule_id, "user": user})

    def delete(self, user, schedule_id) -> bool:
        """Delete the user's schedule; whether there was one."""
        return self._schedules.delete_one({"_id": schedule_id, "user": user}).deleted_count == 1

    def pause(self, user, schedule_id) -> dict | None:
        """Stop the schedule's runs until resumed; the schedule, or None."""
        return self._schedules.find_one_and_update(
            {"_id": schedule_id, "user": user}, {"$set": {"paused": True}},
            return_document=ReturnDocument.AFTER)

    def resume(self, user, schedule_id, now) -> dict | None:
        """Run the schedule again from its first run after now (none missed while paused is sent)."""
        record = self.get(user, schedule_id)
        if record is None or not record["paused"]:
            return record
        following = run_after(record["cron"], record["timezone"], now)
        return self._schedules.find_one_and_update(
            {"_id": schedule_id, "user": user, "paused": True},
            {"$set": {"paused": False, "next_run_at": following, "try_at": following}},
            return_document=ReturnDocument.AFTER) or self.get(user, schedule_id)

    def take(self, now, holder) -> dict | None:
        """Hold the due schedule waiting longest for HOLD_SECONDS, as `holder`; it, or None if none is due."""
        return self._schedules.find_one_and_update(
            {"paused": False, "try_at": {"$lte": now}},
            {"$set": {"try_at": now + HOLD_SECONDS, "holder": holder}},
            sort=[("try_at", ASCENDING)], return_document=ReturnDocument.AFTER)

    def advance(self, record, next_run_at, done, runs=0, skipped=0) -> bool:
        """Move a schedule taken as `record` on to its next run, noting what was done; False if its
        hold ran out and another scheduler took it (or it was deleted) meanwhile."""
        moved = self._schedules.update_one(
            {"_id": record["_id"], "holder": record["holder"]},
            {"$set": {"next_run_at": next_run_at, "try_at": next_run_at, **done},
             "$inc": {"runs": runs, "skipped_runs": skipped}, "$unset": {"holder": ""}})
        return moved.modified_count == 1

    def try_later(self, record, at) -> bool:
        """Give a taken schedule back to be tried again at `at`, its run not yet done."""
        moved = self._schedules.update_one({"_id": record["_id"], "holder": record["holder"]},
                                           {"$set": {"try_at": at}, "$unset": {"holder": ""}})
        return moved.modified_count == 1
