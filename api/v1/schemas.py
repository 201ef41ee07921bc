"""The bodies /api/v1 reads and answers, as marshmallow schemas (and so as OpenAPI)."""

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from api.fields import (NAME_MAX, NO_CONTROL_PATTERN, MessengerId, Names, Text, When,
                        message_text_field, name_field)
from api.services import max_recipients
from core.config import MESSENGERS
from core.statuses import STATUSES

# A message's status sums up its deliveries': the one they share, else one of these.
MESSAGE_STATUSES = (*STATUSES, "in_progress", "partial", "empty")
IMPORT_MODES = ("merge", "replace")
PAGING_ARGUMENTS = ("page", "page_size")
# The longest a token may be made to last: ten years.
TOKEN_DAYS_MAX = 3650
# What ends a fallback chain, and how long a sent step waits for its receipt.
FALLBACK_AFTER = ("sent", "delivered")
FALLBACK_WITHIN = 300.0
FALLBACK_WITHIN_MAX = 7 * 86400


def _distinct(items):
    if len(set(items)) != len(items):
        raise ValidationError("Names a messenger twice.")


def _out(field=fields.String, **kwargs):
    """A field every answer carries."""
    return field(required=True, **kwargs)


def _timestamp():
    return _out(metadata={"format": "date-time"})


class UserSchema(Schema):
    """The user a token belongs to."""

    user = _out()


class ContactIdsSchema(Schema):
    """A contact's messenger IDs; an empty or missing one means no such messenger."""

    telegram = MessengerId(metadata={"example": "ArtemZaitsev"})
    whatsapp = MessengerId(metadata={"example": "+799200828615"})
    viber = MessengerId(metadata={"example": ""})


class ContactSchema(ContactIdsSchema):
    """A contact: a name and its messenger IDs."""

    name = name_field(required=True, metadata={"example": "Artem"})

    class Meta:
        fields = ("name", *MESSENGERS)


class ContactViewSchema(ContactSchema):
    """A contact as the book holds it, with the messengers whose ID refused the user's messages."""

    blocked = _out(fields.List, cls_or_instance=fields.String(validate=validate.OneOf(MESSENGERS)),
                   allow_none=True,
                   metadata={"description": "Messengers on which this contact's ID refused the user's "
                                            "messages (blocked the bot, unsubscribed): deliveries to it "
                                            "end `suppressed`, unsent, until the ID changes or "
                                            "POST /contacts/{name}/unblock. Null while Redis, which "
                                            "keeps them, cannot be reached."})

    class Meta:
        fields = ("name", *MESSENGERS, "blocked")


class UnblockSchema(Schema):
    """Which messengers of a contact to unblock."""

    messengers = fields.List(
        fields.String(validate=validate.OneOf(MESSENGERS)), validate=validate.Length(min=1),
        load_default=list(MESSENGERS), metadata={"description": "Default: all."})


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

    added = _out(fields.Integer)
    replaced = _out(fields.Integer)
    removed = _out(fields.Integer)


class SendSchema(Schema):
    """A message to send: to whom, what, not before when, over which messengers."""

    to = Names(max_recipients, required=True, metadata={
        "description": "A contact's name or a list of names (at most MAX_RECIPIENTS, 10,000 as shipped).",
        "example": ["Artem"]})
    text = message_text_field(required=True, metadata={"example": "Hello there"})
    not_before = When(load_default=None, metadata={
        "description": "ISO 8601 with a UTC offset, or [Y, M, D, h, m, s] in the service's "
                       "time zone; now or past means at once. Default: now."})
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


class DeliverySchema(Schema):
    """One text to one contact over one messenger, and how it went."""

    id = _out()
    contact = _out()
    messenger = _out(validate=validate.OneOf(MESSENGERS))
    to = _out()
    status = _out(validate=validate.OneOf(STATUSES))
    attempts = _out(fields.Integer)
    last_error = _out()
    updated_at = _timestamp()
    step = fields.Integer(metadata={"description": "Its place in its contact's fallback chain "
                                                   "(sends with `fallback` only)."})


class MessageSchema(Schema):
    """A message with every delivery's status."""

    id = _out()
    sender = _out()
    text = _out()
    not_before = _timestamp()
    created_at = _timestamp()
    status = _out(validate=validate.OneOf(MESSAGE_STATUSES))
    deliveries = _out(fields.List, cls_or_instance=fields.Nested(DeliverySchema))


class MessageSummarySchema(Schema):
    """A message in a list: its status and how many deliveries are in each status."""

    id = _out()
    text = _out()
    not_before = _timestamp()
    created_at = _timestamp()
    status = _out(validate=validate.OneOf(MESSAGE_STATUSES))
    counts = _out(fields.Dict, keys=fields.String(validate=validate.OneOf(STATUSES)),
                  values=fields.Integer())


class CancelledSchema(Schema):
    """What a cancel stopped, and the message after it."""

    cancelled = _out(fields.List, cls_or_instance=fields.String())
    message = _out(fields.Nested, nested=MessageSchema)


class FailedSchema(Schema):
    """A delivery that failed for good: the original record and why."""

    sender = _out()
    message = _out()
    contact = _out()
    url = _out()
    time = _out(fields.List, cls_or_instance=fields.Integer())
    delivery_id = _out()
    messenger = _out(validate=validate.OneOf(MESSENGERS))
    error = _out()
    attempts = _out(fields.Integer)
    failed_at = _timestamp()


class RetriedSchema(Schema):
    """The failed deliveries handed back for another round of attempts."""

    retried = _out(fields.List, cls_or_instance=fields.String())


class LimitsSchema(Schema):
    """What the service allows each user (0 requests a second: no rate limit)."""

    requests_per_second = _out(fields.Float)
    request_burst = _out(fields.Integer)
    recipients_per_send = _out(fields.Integer)
    open_deliveries = _out(fields.Integer)


class UsageSchema(Schema):
    """What the user has outstanding now."""

    open_deliveries = _out(fields.Integer, metadata={"description": "Deliveries not yet finished."})


class MeSchema(UserSchema):
    """The token's user, the token, and the user's limits and use of them."""

    token_id = _out()
    limits = fields.Nested(LimitsSchema, required=True)
    usage = fields.Nested(UsageSchema, required=True, allow_none=True,
                          metadata={"description": "null while the Redis store is unavailable."})


class TokenSchema(Schema):
    """An API token as listed: never the token itself."""

    id = _out()
    label = _out()
    created_at = _timestamp()
    expires_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


class IssuedTokenSchema(TokenSchema):
    """A token just made: the only time the token itself is shown."""

    token = _out()


class NewTokenSchema(Schema):
    """A token to make: a label to know it by, and when it stops working."""

    label = fields.String(load_default="", validate=Text(max=NAME_MAX),
                          metadata={"example": "laptop", "pattern": NO_CONTROL_PATTERN})
    expires_in_days = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=1, max=TOKEN_DAYS_MAX),
                                     metadata={"description": "Omitted or null: never expires."})
