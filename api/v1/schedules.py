"""/api/v1/schedules: sends that repeat on a cron expression, in a time zone."""

import time

from flask import request
from flask.views import MethodView

from api.auth import current_user
from api.errors import ApiError
from api.services import services
from api.v1 import blueprint
from api.v1.schedule_schemas import SEND_FIELDS, NewScheduleSchema, ScheduleSchema
from core.recurring import SCHEDULES_MAX
from core.sending.request import preview
from core.timeutil import epoch_to_iso

blp = blueprint("schedules", "Sends that repeat: each run of a schedule sends one message.")


def schedule_view(record) -> dict:
    """A schedule as the API answers it."""
    def at(name):
        value = record.get(name)
        return None if value is None else epoch_to_iso(value)

    error = record.get("last_error")
    return {
        "id": record["_id"], "cron": record["cron"], "timezone": record["timezone"], "send": record["send"],
        "paused": record["paused"], "next_run_at": None if record["paused"] else at("next_run_at"),
        "created_at": at("created_at"), "runs": record["runs"], "last_run_at": at("last_run_at"),
        "last_message_id": record.get("last_message_id"),
        "last_error": error and {**error, "at": epoch_to_iso(error["at"])},
        "skipped_runs": record["skipped_runs"], "last_skipped_at": at("last_skipped_at"),
    }


def _own(record, schedule_id) -> dict:
    if record is None:
        raise ApiError(404, f"No schedule with id {schedule_id!r}.")
    return schedule_view(record)


@blp.route("/schedules")
class Schedules(MethodView):
    """The user's schedules."""

    @blp.response(200, ScheduleSchema(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, pagination_parameters):
        """The user's schedules, oldest first."""
        page, store = pagination_parameters, services().schedules
        page.item_count = store.count_for(current_user())
        return [schedule_view(r) for r in store.list_for(current_user(), page.first_item, page.page_size)]

    @blp.arguments(NewScheduleSchema)
    @blp.response(201, ScheduleSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data):
        """Make a schedule; its text, contacts and messengers are checked as a send's would be."""
        svc, user = services(), current_user()
        # Refused now, as a send would be, rather than at each run.
        preview(svc, user, {**data, "not_before": None})
        body = request.get_json()
        made = svc.schedules.create(user, {k: body[k] for k in SEND_FIELDS if k in body}, data["cron"],
                                    data["timezone"] or svc.config.timezone, time.time())
        if made is None:
            raise ApiError(422, f"A user may have at most {SCHEDULES_MAX} schedules; delete one first.")
        return schedule_view(made)


@blp.route("/schedules/<schedule_id>")
class Schedule(MethodView):
    """One of the user's schedules."""

    @blp.response(200, ScheduleSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, schedule_id):
        """The schedule and what its runs did."""
        return _own(services().schedules.get(current_user(), schedule_id), schedule_id)

    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, schedule_id):
        """Delete the schedule: no more runs (messages already sent stay)."""
        if not services().schedules.delete(current_user(), schedule_id):
            raise ApiError(404, f"No schedule with id {schedule_id!r}.")


@blp.route("/schedules/<schedule_id>/pause")
class Pause(MethodView):
    """Runs stopped."""

    @blp.response(200, ScheduleSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, schedule_id):
        """Stop the schedule's runs until resumed."""
        return _own(services().schedules.pause(current_user(), schedule_id), schedule_id)


@blp.route("/schedules/<schedule_id>/resume")
class Resume(MethodView):
    """Runs started again."""

    @blp.response(200, ScheduleSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, schedule_id):
        """Run the schedule again from its next run after now; runs missed while paused are not sent."""
        return _own(services().schedules.resume(current_user(), schedule_id, time.time()), schedule_id)
