"""The bodies /api/v1/schedules reads and answers: a recurring send, and what its runs did."""

from marshmallow import Schema, ValidationError, fields, validate

from api.v1.schemas import SendSchema, answer_field, answer_timestamp
from core.contacts import TIME_ZONES
from core.recurring import CronRefused, checked_cron

CRON_MAX = 200
# What a schedule keeps of its body: a run sends it as POST /api/v1/messages would.
SEND_FIELDS = ("to", "text", "template", "whatsapp_template", "quiet_hours", "messengers", "fallback",
               "fallback_after", "fallback_within")


def _cron(expr):
    try:
        checked_cron(expr)
    except CronRefused as exc:
        raise ValidationError(str(exc)) from None


class NewScheduleSchema(SendSchema):
    """A recurring send: a send's body without a time, and when it repeats."""

    class Meta:
        exclude = ("not_before", "local_time")

    cron = fields.String(required=True, validate=[validate.Length(max=CRON_MAX), _cron], metadata={
        "example": "0 9 * * MON",
        "description": "Cron's five fields (minute hour day-of-month month day-of-week), read as "
                       "wall time in `timezone`. A wall time a daylight-saving change skips runs "
                       "at the change; one it repeats runs once."})
    timezone = fields.String(load_default=None, validate=validate.OneOf(
        TIME_ZONES, error="{input!r} is not an IANA time zone (e.g. UTC, Europe/Helsinki)."), metadata={
        "example": "Europe/Helsinki", "description": "Default: the service's TIMEZONE setting."})


class RunErrorSchema(Schema):
    """Why a schedule's last run sent nothing."""

    at = answer_timestamp()
    status = answer_field(fields.Integer, metadata={"description": "The status a send would have got."})
    message = answer_field()


class ScheduleSchema(Schema):
    """A recurring send and what its runs did."""

    id = answer_field()
    cron = answer_field()
    timezone = answer_field()
    send = answer_field(fields.Dict, metadata={
        "description": "The body each run sends, as POST /api/v1/messages takes it."})
    paused = answer_field(fields.Boolean)
    next_run_at = answer_field(allow_none=True, metadata={
        "format": "date-time", "description": "Null while paused."})
    created_at = answer_timestamp()
    runs = answer_field(fields.Integer, metadata={"description": "Runs that sent a message."})
    last_run_at = answer_field(allow_none=True, metadata={"format": "date-time"})
    last_message_id = answer_field(allow_none=True, metadata={
        "description": "The message the last run sent; its `schedule_id` is this schedule's."})
    last_error = fields.Nested(RunErrorSchema, required=True, allow_none=True)
    skipped_runs = answer_field(fields.Integer, metadata={
        "description": "Runs not sent: missed while everything was down, or tried again past "
                       "SCHEDULE_GRACE (300 s as shipped); of the runs missed, only the latest is "
                       "sent, if within it."})
    last_skipped_at = answer_field(allow_none=True, metadata={"format": "date-time"})
