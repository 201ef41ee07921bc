"""Recurring sends: a cron expression read in a time zone, the send it makes, and its next run.

Kept in MongoDB's `schedules` collection. Each run is one send whose
Idempotency-Key names the schedule and the run's moment, so however many
schedulers try a run, and however often, it makes one message; the run is
then marked done by moving `next_run_at` on from the value it was read with.
"""

import secrets
from datetime import datetime, timezone

from cronsim import CronSim, CronSimError
from pymongo import ASCENDING, ReturnDocument

from core.timing import zone

SCHEDULES_MAX = 100
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
    """Users' schedules: made, listed, paused, resumed, deleted, and advanced run by run."""

    def __init__(self, mongo):
        self._schedules = mongo["schedules"]

    def ensure_indexes(self):
        """The indexes the queries below use."""
        self._schedules.create_index([("user", ASCENDING), ("created_at", ASCENDING)])
        self._schedules.create_index([("paused", ASCENDING), ("next_run_at", ASCENDING)])

    def create(self, user, send, cron, zone_name, now) -> dict | None:
        """Record a schedule of the user's; None if they have SCHEDULES_MAX already."""
        if self._schedules.count_documents({"user": user}) >= SCHEDULES_MAX:
            return None
        record = {"_id": f"sch_{secrets.token_hex(12)}", "user": user, "send": send, "cron": cron,
                  "timezone": zone_name, "paused": False, "created_at": now,
                  "next_run_at": run_after(cron, zone_name, now), "runs": 0, "skipped_runs": 0}
        self._schedules.insert_one(record)
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
        return self._schedules.find_one_and_update(
            {"_id": schedule_id, "user": user, "paused": True},
            {"$set": {"paused": False, "next_run_at": run_after(record["cron"], record["timezone"], now)}},
            return_document=ReturnDocument.AFTER) or self.get(user, schedule_id)

    def due(self, now, limit) -> list:
        """Schedules not paused whose next run has come, the longest waiting first."""
        found = self._schedules.find({"paused": False, "next_run_at": {"$lte": now}})
        return list(found.sort("next_run_at", ASCENDING).limit(limit))

    def advance(self, record, next_run_at, done, runs=0, skipped=0) -> bool:
        """Move a schedule read as `record` on to its next run, noting what was done; False if
        another scheduler moved it first (or it was paused, resumed or deleted meanwhile)."""
        moved = self._schedules.update_one(
            {"_id": record["_id"], "next_run_at": record["next_run_at"], "paused": False},
            {"$set": {"next_run_at": next_run_at, **done}, "$inc": {"runs": runs, "skipped_runs": skipped}})
        return moved.modified_count == 1
