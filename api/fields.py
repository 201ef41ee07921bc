"""Field types shared by the API's schemas."""

import unicodedata
from datetime import datetime, timezone

from marshmallow import ValidationError, fields, validate

NAME_MAX = 100
ID_MAX = 256
TEXT_MAX = 4096


# The documented form of the check below (Unicode category Cc).
NO_CONTROL_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


def _documented(kwargs, **schema):
    """A field's kwargs with these OpenAPI properties added to its metadata."""
    return {**kwargs, "metadata": {**schema, **kwargs.get("metadata", {})}}


def _no_control_characters(value):
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValidationError("Must not contain control characters.")


def name_field(**kwargs):
    """A user or contact name: 1 to 100 characters, any a person can type."""
    return fields.String(
        validate=[validate.Length(min=1, max=NAME_MAX), _no_control_characters],
        **_documented(kwargs, pattern=NO_CONTROL_PATTERN),
    )


class Names(fields.Field):
    """One contact name or a list of them; repeats dropped."""

    def __init__(self, **kwargs):
        name = {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": NO_CONTROL_PATTERN}
        one_of = [name, {"type": "array", "items": name, "minItems": 1}]
        super().__init__(**_documented(kwargs, oneOf=one_of))

    def _deserialize(self, value, attr, data, **kwargs):
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names:
            raise ValidationError("Must be a contact name or a non-empty list of names.")
        item = name_field()
        errors = {}
        for i, name in enumerate(names):
            try:
                item.deserialize(name)
            except ValidationError as exc:
                errors[i] = exc.messages
        if errors:
            raise ValidationError(errors)
        return list(dict.fromkeys(names))


class MessengerId(fields.String):
    """A messenger ID; empty or null means the contact has no such messenger."""

    def __init__(self, **kwargs):
        super().__init__(load_default="", allow_none=True,
                         validate=[validate.Length(max=ID_MAX), _no_control_characters],
                         **_documented(kwargs, pattern=NO_CONTROL_PATTERN))

    def deserialize(self, value, attr=None, data=None, **kwargs):
        """Read an ID, turning null into the empty string."""
        return super().deserialize(value, attr, data, **kwargs) or ""


def message_text_field(**kwargs):
    """A message text: 1 to 4096 characters."""
    return fields.String(validate=validate.Length(min=1, max=TEXT_MAX), **kwargs)


def _real_date(parts):
    try:
        datetime(*parts)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"Not a real date and time: {exc}.") from exc


def wallclock_field(**kwargs):
    """A time as [year, month, day, hour, minute, second]."""
    return fields.List(
        fields.Integer(strict=True),
        validate=[validate.Length(equal=6, error="Must be [year, month, day, hour, minute, second]."),
                  _real_date],
        **kwargs,
    )


class When(fields.Field):
    """An instant: ISO 8601 with a UTC offset (an aware datetime), or a wall-clock list."""

    def __init__(self, **kwargs):
        one_of = [{"type": "string", "format": "date-time"},
                  {"type": "array", "items": {"type": "integer"}, "minItems": 6, "maxItems": 6}]
        super().__init__(**_documented(kwargs, oneOf=one_of))

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            parts = wallclock_field().deserialize(value)
            _in_range(parts[0])
            return parts
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Not an ISO 8601 date and time.") from None
        if moment.tzinfo is None:
            raise ValidationError("Must carry a UTC offset, as in 2030-01-01T09:00:00+03:00.")
        _in_range(moment.year)
        return moment.astimezone(timezone.utc)


def _in_range(year):
    # A day's margin at either end of datetime's range, so no time zone overflows it.
    if not 2 <= year <= 9998:
        raise ValidationError("The year must be between 2 and 9998.")
