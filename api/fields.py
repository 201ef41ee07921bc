"""Field types shared by the API's schemas."""

import unicodedata
from datetime import datetime

from marshmallow import ValidationError, fields, validate

NAME_MAX = 100
ID_MAX = 256
TEXT_MAX = 4096


def _no_control_characters(value):
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValidationError("Must not contain control characters.")


def name_field(**kwargs):
    """A user or contact name: 1 to 100 characters, any a person can type."""
    return fields.String(
        validate=[validate.Length(min=1, max=NAME_MAX), _no_control_characters], **kwargs
    )


class MessengerId(fields.String):
    """A messenger ID; empty or null means the contact has no such messenger."""

    def __init__(self, **kwargs):
        super().__init__(load_default="", allow_none=True,
                         validate=[validate.Length(max=ID_MAX), _no_control_characters], **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        """Read an ID, turning null into the empty string."""
        return super().deserialize(value, attr, data, **kwargs) or ""


def message_text_field(**kwargs):
    """A message text: 1 to 4096 characters."""
    return fields.String(validate=validate.Length(min=1, max=TEXT_MAX), **kwargs)


def _real_date(parts):
    try:
        datetime(*parts)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"Not a real date and time: {exc}.") from exc


def wallclock_field(**kwargs):
    """A time as [year, month, day, hour, minute, second]."""
    return fields.List(
        fields.Integer(strict=True),
        validate=[validate.Length(equal=6, error="Must be [year, month, day, hour, minute, second]."),
                  _real_date],
        **kwargs,
    )
