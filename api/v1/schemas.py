"""The bodies /api/v1 reads and answers, as marshmallow schemas (and so as OpenAPI)."""

import re

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from api.fields import (
    LONG_TEXT_MAX,
    NAME_MAX,
    NO_CONTROL_PATTERN,
    ContactName,
    MessengerId,
    Names,
    Text,
    When,
    message_text_field,
)
from api.send_fields import LocalTime, QuietHours, WhatsAppTemplateSchema
from api.services import max_recipients
from core.config import MESSENGERS
from core.contacts import FIELD_KEY_MAX, FIELD_KEY_PATTERN, FIELD_VALUE_MAX, FIELDS_MAX, TIME_ZONES
from core.sending.request import FALLBACK_WITHIN

IMPORT_MODES = ("merge", "replace")
PAGING_ARGUMENTS = ("page", "page_size")
# The longest a token may be made to last: ten years.
TOKEN_DAYS_MAX = 3650
# What ends a fallback chain, and how long a sent step may be made to wait for its receipt.
FALLBACK_AFTER = ("sent", "delivered")
FALLBACK_WITHIN_MAX = 7 * 86400


def _distinct(items):
    if len(set(items)) != len(items):
        raise ValidationError("Names a messenger twice.")


def answer_field(field=fields.String, **kwargs):
    """A field every answer carries."""
    return field(required=True, **kwargs)


def answer_timestamp():
    """A date-time every answer carries."""
    return answer_field(metadata={"format": "date-time"})


class UserSchema(Schema):
    """The user a token belongs to."""

    user = answer_field()


class ContactIdsSchema(Schema):
    """A contact's messenger IDs (an empty or missing one: no such messenger), time zone and fields."""

    telegram = MessengerId(metadata={"example": "ArtemZaitsev"})
    whatsapp = MessengerId(metadata={"example": "+799200828615"})
    viber = MessengerId(metadata={"example": ""})
    timezone = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        TIME_ZONES, error="{input!r} is not an IANA time zone (e.g. UTC, Europe/Helsinki)."), metadata={
        "example": "Europe/Helsinki",
        "description": "The contact's IANA time zone, for sends at its local time. Null: the "
                       "service's TIMEZONE setting applies. Like the IDs, a PUT or an import that "
                       "leaves it out makes it null; the original API's writes leave it as it is."})
    # "fields" would hide Schema.fields, the schema's own.
    profile_fields = fields.Dict(data_key="fields", attribute="fields", load_default=dict, metadata={
        "example": {"code": "A1", "first_name": "Aki"},
        "maxProperties": FIELDS_MAX,
        "additionalProperties": {"type": "string", "maxLength": FIELD_VALUE_MAX,
                                 "pattern": NO_CONTROL_PATTERN},
        # OpenAPI 3.0 has no keyword that bounds the keys (patternProperties,
        # propertyNames): JSON Schema's tools, schemathesis among them, read
        # it in here, the description says it to the rest.
        "allOf": [{"patternProperties": {FIELD_KEY_PATTERN: {}}, "additionalProperties": False}],
        "description": f"Short texts about the contact, read by a template as fields.<key>: at "
                       f"most {FIELDS_MAX}, each key 1 to {FIELD_KEY_MAX} letters, digits and _ "
                       f"(not starting with a digit), each value a string of at most "
                       f"{FIELD_VALUE_MAX} characters, no control characters. Like the IDs, a "
                       f"PUT or an import that leaves it out makes it empty; the original API's "
                       f"writes leave it as it is."})

    @validates("profile_fields")
    def _bounded_fields(self, value, **_):
        """Refuse too many fields, then each bad key or value, by key."""
        if len(value) > FIELDS_MAX:
            raise ValidationError(f"At most {FIELDS_MAX} fields; {len(value)} given.")
        problems = _fields_problems(value)
        if problems:
            raise ValidationError(problems)


def _fields_problems(values: dict) -> dict:
    """Each bad key of a contact's fields with what is wrong with it."""
    # A value is checked as an ID is: stored as given, shown on one line.
    value_text = Text(max=FIELD_VALUE_MAX)
    problems = {}
    for key, value in values.items():
        if not re.fullmatch(FIELD_KEY_PATTERN, key):
            problems[key] = [f"A key is 1 to {FIELD_KEY_MAX} letters, digits and _, "
                             "not starting with a digit."]
        elif not isinstance(value, str):
            problems[key] = ["Not a valid string."]
        else:
            try:
                value_text(value)
            except ValidationError as exc:
                problems[key] = exc.messages
    return problems


class ContactSchema(ContactIdsSchema):
    """A contact: a name, its messenger IDs, time zone and fields."""

    name = ContactName(required=True, metadata={"example": "Artem"})

    class Meta:
        fields = ("name", *MESSENGERS, "timezone", "profile_fields")


class ContactViewSchema(ContactSchema):
    """A contact as the book holds it, with the messengers whose ID refused the user's messages."""

    blocked = answer_field(fields.List, cls_or_instance=fields.String(validate=validate.OneOf(MESSENGERS)),
                   allow_none=True,
                   metadata={"description": "Messengers on which this contact's ID refused the user's "
                                            "messages (blocked the bot, unsubscribed): deliveries to it "
                                            "end `suppressed`, unsent, until the ID changes or "
                                            "POST /contacts/{name}/unblock. Null while Redis, which "
                                            "keeps them, cannot be reached."})

    class Meta:
        fields = ("name", *MESSENGERS, "timezone", "profile_fields", "blocked")


class UnblockSchema(Schema):
    """Which messengers of a contact to unblock."""

    messengers = fields.List(
        fields.String(validate=validate.OneOf(MESSENGERS)), validate=validate.Length(min=1),
        load_default=list(MESSENGERS), metadata={"description": "Default: all."})
    force = fields.Boolean(
        load_default=False,
        metadata={"description": "Unblock also where the person opted out (/stop, STOP, unsubscribed); "
                                 "without it such a messenger is a 409 naming `force`."})


class ContactSearchSchema(Schema):
    """GET /contacts's own query parameters (page and page_size are pagination's)."""

    q = fields.String(load_default="", validate=validate.Length(max=NAME_MAX), metadata={
        "description": "Only the contacts whose name starts with this.", "example": "Ar"})

    @pre_load
    def _leave_paging(self, data, **_):
        # The pagination parser reads and checks these; every other one is refused here.
        return {k: v for k, v in data.items() if k not in PAGING_ARGUMENTS}


class ImportModeSchema(Schema):
    """POST /contacts/import's query: merge into the book, or make the book the file."""

    mode = fields.String(load_default="merge", validate=validate.OneOf(IMPORT_MODES), metadata={
        "description": "merge: add and replace the file's contacts; replace: also remove "
                       "every contact the file does not hold."})


class ImportedSchema(Schema):
    """What an import did."""

    added = answer_field(fields.Integer)
    replaced = answer_field(fields.Integer)
    removed = answer_field(fields.Integer)


class SendSchema(Schema):
    """A message to send: to whom, what, not before when, over which messengers."""

    to = Names(max_recipients, required=True, metadata={
        "description": "A contact's name or a list of names (at most MAX_RECIPIENTS, 10,000 as shipped).",
        "example": ["Artem"]})
    text = message_text_field(LONG_TEXT_MAX, required=True, metadata={
        "description": f"Up to {LONG_TEXT_MAX:,} characters; one longer than a messenger takes goes "
                       "as ordered parts. With `template`, a Jinja2 template of `name`, `fields` "
                       "and `messenger`.", "example": "Hello there"})
    template = fields.Boolean(load_default=False, metadata={
        "description": "Render `text` per contact in Jinja2's sandbox: variables `name`, `fields` "
                       "(the contact's), `messenger`; filters, if/elif/else, comparisons, `~`. "
                       "Anything undefined, or not allowed, refuses the whole send (422)."})
    whatsapp_template = fields.Nested(WhatsAppTemplateSchema, load_default=None, metadata={
        "description": "For WhatsApp deliveries (MESSENGER_API=real): outside the 24 hours after "
                       "the contact last wrote to the business, this approved template goes instead "
                       "of the text; without it such a delivery fails at once (a fallback chain "
                       "moves on). A template the business account does not have APPROVED in that "
                       "language, or the wrong number of `params`, is a 422."})
    not_before = When(load_default=None, metadata={
        "description": "ISO 8601 with a UTC offset, or [Y, M, D, h, m, s] in the service's "
                       "time zone; now or past means at once. Default: now."})
    local_time = LocalTime(load_default=None, metadata={
        "description": "Instead of `not_before`: a wall time without offset, each delivery due "
                       "then in its contact's time zone (the service's if the contact has none)."})
    quiet_hours = QuietHours(load_default=None, metadata={
        "description": "[start, end] as HH:MM: a delivery that would fall in this window of its "
                       "contact's day goes at its end. A window whose start is after its end "
                       "spans midnight."})
    messengers = fields.List(
        fields.String(validate=validate.OneOf(MESSENGERS)), validate=validate.Length(min=1),
        load_default=None, metadata={"description": "Only these messengers (default: all)."})
    fallback = fields.List(
        fields.String(validate=validate.OneOf(MESSENGERS)),
        validate=[validate.Length(min=1, max=len(MESSENGERS)), _distinct], load_default=None,
        metadata={"description": "Instead of every messenger at once: per contact, one delivery at "
                                 "a time over these messengers in this order (those the contact "
                                 "has), the next when one fails for good; the first success ends "
                                 "the chain, its later steps `not_needed`.",
                  "example": ["whatsapp", "viber", "telegram"]})
    fallback_after = fields.String(
        validate=validate.OneOf(FALLBACK_AFTER), load_default=None,
        metadata={"description": "What ends a chain: `sent` (default), or `delivered`: a step "
                                 "not delivered (no receipt) within `fallback_within` seconds of "
                                 "being sent starts the next one too. Telegram, which sends no "
                                 "receipts, ends a chain when sent."})
    fallback_within = fields.Float(
        validate=validate.Range(min=1, max=FALLBACK_WITHIN_MAX), load_default=None,
        metadata={"description": f"Seconds (1 to {FALLBACK_WITHIN_MAX:,}) a sent step waits for "
                                 f"its delivered receipt, with `fallback_after: delivered`. "
                                 f"Default: {FALLBACK_WITHIN}."})

    @validates_schema
    def _one_time(self, data, **_):
        if data.get("local_time") is not None and data.get("not_before") is not None:
            raise ValidationError("Give `local_time` or `not_before`, not both.", "local_time")

    @validates_schema
    def _fallback_alone(self, data, **_):
        if data.get("fallback") is None:
            for name in ("fallback_after", "fallback_within"):
                if data.get(name) is not None:
                    raise ValidationError("Only with `fallback`.", name)
            return
        if data.get("messengers") is not None:
            raise ValidationError("Give `fallback` or `messengers`, not both: a chain names its "
                                  "messengers.", "messengers")
        if data.get("fallback_within") is not None and data.get("fallback_after") != "delivered":
            raise ValidationError("Only with `fallback_after: delivered`.", "fallback_within")


class IdempotencyKeySchema(Schema):
    """The Idempotency-Key header of a send."""

    key = fields.String(
        data_key="Idempotency-Key", load_default=None, validate=validate.Length(min=1, max=255),
        metadata={"description": "Repeating a send with the same key and body within 24 h "
                                 "answers as the first time and sends nothing new."})


class FailedSchema(Schema):
    """A delivery that failed for good: the original record and why."""

    sender = answer_field()
    message = answer_field()
    contact = answer_field()
    url = answer_field()
    time = answer_field(fields.List, cls_or_instance=fields.Integer())
    delivery_id = answer_field()
    messenger = answer_field(validate=validate.OneOf(MESSENGERS))
    error = answer_field()
    attempts = answer_field(fields.Integer)
    failed_at = answer_timestamp()


class RetriedSchema(Schema):
    """The failed deliveries handed back for another round of attempts."""

    retried = answer_field(fields.List, cls_or_instance=fields.String())


class LimitsSchema(Schema):
    """What the service allows each user (0 requests a second: no rate limit)."""

    requests_per_second = answer_field(fields.Float)
    request_burst = answer_field(fields.Integer)
    recipients_per_send = answer_field(fields.Integer)
    open_deliveries = answer_field(fields.Integer)


class UsageSchema(Schema):
    """What the user has outstanding now."""

    open_deliveries = answer_field(fields.Integer, metadata={"description": "Deliveries not yet finished."})


class MeSchema(UserSchema):
    """The token's user, the token, and the user's limits and use of them."""

    token_id = answer_field()
    limits = fields.Nested(LimitsSchema, required=True)
    usage = fields.Nested(UsageSchema, required=True, allow_none=True,
                          metadata={"description": "null while the Redis store is unavailable."})


class TokenSchema(Schema):
    """An API token as listed: never the token itself."""

    id = answer_field()
    label = answer_field()
    created_at = answer_timestamp()
    expires_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


class IssuedTokenSchema(TokenSchema):
    """A token just made: the only time the token itself is shown."""

    token = answer_field()


class NewTokenSchema(Schema):
    """A token to make: a label to know it by, and when it stops working."""

    label = fields.String(load_default="", validate=Text(max=NAME_MAX),
                          metadata={"example": "laptop", "pattern": NO_CONTROL_PATTERN})
    expires_in_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1, max=TOKEN_DAYS_MAX),
                                     metadata={"description": "Omitted or null: never expires."})
