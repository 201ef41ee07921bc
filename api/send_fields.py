"""Field types of a personal send: each contact's local time, quiet hours, its WhatsApp template."""

from datetime import datetime

from marshmallow import Schema, ValidationError, fields, validate

from api.fields import NO_CONTROL_PATTERN, Text, documented, in_year_range
from core.timing import TIME_OF_DAY_PATTERN, parse_time_of_day
from core.whatsapp_templates import TEMPLATE_NAME_MAX, TEMPLATE_PARAM_MAX, TEMPLATE_PARAMS_MAX


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


class WhatsAppTemplateSchema(Schema):
    """An approved WhatsApp message template, sent instead of the text outside WhatsApp's 24-hour window."""

    name = fields.String(required=True, validate=Text(min=1, max=TEMPLATE_NAME_MAX), metadata={
        "example": "order_update", "pattern": NO_CONTROL_PATTERN,
        "description": "The template's name in WhatsApp Manager (GET /api/v1/whatsapp/templates)."})
    language = fields.String(required=True, validate=Text(min=1, max=15), metadata={
        "example": "en_US", "pattern": NO_CONTROL_PATTERN,
        "description": "The language code of the template's approved version."})
    params = fields.List(
        fields.String(validate=Text(min=1, max=TEMPLATE_PARAM_MAX),
                      metadata={"pattern": NO_CONTROL_PATTERN}),
        load_default=list, validate=validate.Length(max=TEMPLATE_PARAMS_MAX), metadata={
            "example": ["Artem", "A-1"],
            "description": "One text for each {{1}}..{{n}} of the template's body, in order. With "
                           "`template`, each is a Jinja2 template rendered per contact as the text is."})
