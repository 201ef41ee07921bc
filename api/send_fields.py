"""Field types of a personal send: each contact's local time, quiet hours."""

from datetime import datetime

from marshmallow import ValidationError, fields

from api.fields import documented, in_year_range
from core.timing import TIME_OF_DAY_PATTERN, parse_time_of_day


class LocalTime(fields.Field):
    """A wall time without an offset ("2030-01-01T09:00"), read in each contact's time zone."""

    def __init__(self, **kwargs):
        super().__init__(**documented(kwargs, type="string", example="2030-01-01T09:00"))

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Must be a date and time as 2030-01-01T09:00.")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Not an ISO 8601 date and time, as 2030-01-01T09:00.") from None
        if moment.tzinfo is not None:
            raise ValidationError("Must carry no UTC offset: it is each contact's own wall time.")
        in_year_range(moment.year)
        return moment


class QuietHours(fields.Field):
    """A window of the day ["22:00", "08:00"] in each contact's zone, in which nothing is sent."""

    def __init__(self, **kwargs):
        super().__init__(**documented(kwargs, type="array", items={"type": "string", "pattern": TIME_OF_DAY_PATTERN},
                                       minItems=2,
                                       maxItems=2, example=["22:00", "08:00"]))

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) for v in value):
            raise ValidationError('Must be [start, end] as ["22:00", "08:00"].')
        try:
            start, end = (parse_time_of_day(v) for v in value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if start == end:
            raise ValidationError("Start and end are the same time: the window would be empty.")
        return start, end
