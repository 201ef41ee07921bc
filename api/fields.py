"""Field types shared by the API's schemas."""

import re
import unicodedata
from datetime import datetime, timezone

from marshmallow import ValidationError, fields, validate

# A /api/v1 text's bound, which the schemas take from here with the other fields' bounds.
from core.texts import LONG_TEXT_MAX as LONG_TEXT_MAX
from core.texts import unicode_problem

NAME_MAX = 100
ID_MAX = 256
TEXT_MAX = 4096


# Unicode's control characters (category Cc), as documented and as checked.
NO_CONTROL_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Bidi controls and zero-width characters: they change how the text around
# them shows, or show as nothing, so two names that look alike would be two
# contacts. ZERO WIDTH JOINER (U+200D), which joins some emoji, is one of them.
INVISIBLE = "\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
CONTACT_NAME_PATTERN = f"^[^\\u0000-\\u001f\\u007f-\\u009f{INVISIBLE.encode('unicode_escape').decode()}]*$"
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
# The years every time zone can turn into a timestamp and back: a day's margin
# at either end of datetime's range.
YEAR_MIN, YEAR_MAX = 2, 9998


def documented(kwargs, **schema):
    """A field's kwargs with these OpenAPI properties added to its metadata."""
    return {**kwargs, "metadata": {**schema, **kwargs.get("metadata", {})}}


class Text(validate.Length):
    """A string's length, then that it can be stored (no lone surrogate), then no control characters."""

    # Cheapest first, each only if the one before passed: a string far too
    # long costs its length, never a scan.

    def __init__(self, min=None, max=None, control=False):
        super().__init__(min=min, max=max)
        self.control = control

    def __call__(self, value):
        """The value, or ValidationError naming its first problem."""
        super().__call__(value)
        problem = unicode_problem(value)
        if problem:
            raise ValidationError(f"Must be Unicode text: {problem}.")
        if not self.control and _CONTROL.search(value):
            raise ValidationError("Must not contain control characters.")
        return value


def name_field(**kwargs):
    """A user's name: 1 to 100 characters, any a person can type (a contact's is a ContactName)."""
    return fields.String(
        validate=Text(min=1, max=NAME_MAX),
        **documented(kwargs, pattern=NO_CONTROL_PATTERN),
    )


def _visible(value):
    found = _INVISIBLE.search(value)
    if found:
        raise ValidationError(f"Must not contain bidi or zero-width characters: U+{ord(found.group()):04X}.")


class ContactName(fields.String):
    """A contact name: 1 to 100 characters, stored in Unicode's NFC form, no bidi or zero-width controls."""

    def __init__(self, **kwargs):
        super().__init__(validate=[Text(min=1, max=NAME_MAX), _visible],
                         **documented(kwargs, pattern=CONTACT_NAME_PATTERN))

    def _deserialize(self, value, attr, data, **kwargs):
        # One form for every way a name is typed: é as one character or as e and an accent.
        return unicodedata.normalize("NFC", super()._deserialize(value, attr, data, **kwargs))


class Names(fields.Field):
    """One contact name or a list of them, each as ContactName loads it; repeats dropped.

    `max_items()` bounds a list's length, checked before any name is.
    """

    def __init__(self, max_items, **kwargs):
        name = {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": CONTACT_NAME_PATTERN}
        one_of = [name, {"type": "array", "items": name, "minItems": 1}]
        super().__init__(**documented(kwargs, oneOf=one_of))
        self._max_items = max_items

    def _deserialize(self, value, attr, data, **kwargs):
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names:
            raise ValidationError("Must be a contact name or a non-empty list of names.")
        limit = self._max_items()
        if len(names) > limit:
            raise ValidationError(f"Lists {len(names)} names; at most {limit}.")
        item, loaded, errors = ContactName(), [], {}
        for i, name in enumerate(names):
            try:
                loaded.append(item.deserialize(name))
            except ValidationError as exc:
                errors[i] = exc.messages
        if errors:
            raise ValidationError(errors)
        return list(dict.fromkeys(loaded))


class MessengerId(fields.String):
    """A messenger ID; empty or null means the contact has no such messenger."""

    def __init__(self, **kwargs):
        super().__init__(load_default="", allow_none=True, validate=Text(max=ID_MAX),
                         **documented(kwargs, pattern=NO_CONTROL_PATTERN))

    def deserialize(self, value, attr=None, data=None, **kwargs):
        """Read an ID, turning null into the empty string."""
        return super().deserialize(value, attr, data, **kwargs) or ""


def message_text_field(max_length=TEXT_MAX, **kwargs):
    """A message text: 1 to max_length (4096) characters, line breaks and tabs too."""
    return fields.String(validate=Text(min=1, max=max_length, control=True), **kwargs)


def _real_date(parts):
    if len(parts) != 6:
        return  # the length's own error says it
    try:
        datetime(*parts)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"Not a real date and time: {exc}.") from exc
    in_year_range(parts[0])


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
        super().__init__(**documented(kwargs, oneOf=one_of))

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            return wallclock_field().deserialize(value)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Not an ISO 8601 date and time.") from None
        if moment.tzinfo is None:
            raise ValidationError("Must carry a UTC offset, as in 2030-01-01T09:00:00+03:00.")
        in_year_range(moment.year)
        return moment.astimezone(timezone.utc)


def in_year_range(year):
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError(f"The year must be between {YEAR_MIN} and {YEAR_MAX}.")
