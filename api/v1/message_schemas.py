"""The messages /api/v1 answers with, as marshmallow schemas (and so as OpenAPI)."""

from marshmallow import Schema, fields, validate

from api.send_fields import WhatsAppTemplateSchema
from api.v1.schemas import answer_field, answer_timestamp
from core.config import MESSENGERS
from core.statuses import STATUSES

# A message's status sums up its deliveries': the one they share, else one of these.
MESSAGE_STATUSES = (*STATUSES, "in_progress", "partial", "empty")


class DeliverySchema(Schema):
    """One text to one contact over one messenger, and how it went."""

    id = answer_field()
    contact = answer_field()
    messenger = answer_field(validate=validate.OneOf(MESSENGERS))
    to = answer_field()
    status = answer_field(validate=validate.OneOf(STATUSES))
    attempts = answer_field(fields.Integer)
    last_error = answer_field()
    updated_at = answer_timestamp()
    step = fields.Integer(metadata={"description": "Its place in its contact's fallback chain "
                                                   "(sends with `fallback` only)."})
    due_at = answer_field(metadata={"format": "date-time", "description": "When it is due (UTC): the "
                                                                 "message's time, or its contact's "
                                                                 "local time out of quiet hours."})
    text = fields.String(metadata={"description": "Its own text, a template's rendering for its "
                                                  "contact (sends with `template` only)."})
    whatsapp_template = fields.Nested(WhatsAppTemplateSchema, metadata={
        "description": "What it goes as outside WhatsApp's 24-hour window, its params rendered "
                       "for its contact (WhatsApp deliveries of sends with `whatsapp_template`)."})


class MessageSchema(Schema):
    """A message with every delivery's status."""

    id = answer_field()
    sender = answer_field()
    text = answer_field()
    not_before = answer_timestamp()
    created_at = answer_timestamp()
    status = answer_field(validate=validate.OneOf(MESSAGE_STATUSES))
    template = fields.Boolean(metadata={"description": "Whether `text` is a template (then each "
                                                       "delivery shows its own)."})
    local_time = fields.String(metadata={"description": "The wall time asked for, in each "
                                                        "contact's zone."})
    quiet_hours = fields.List(fields.String(), metadata={"description": "The quiet window asked for."})
    whatsapp_template = fields.Nested(WhatsAppTemplateSchema, metadata={
        "description": "The WhatsApp template asked for, as given."})
    schedule_id = fields.String(metadata={"description": "The recurring send that made it."})
    deliveries = answer_field(fields.List, cls_or_instance=fields.Nested(DeliverySchema))


class PreviewDeliverySchema(Schema):
    """One delivery a send would make: to whom, over what, its text and when."""

    contact = answer_field()
    messenger = answer_field(validate=validate.OneOf(MESSENGERS))
    to = answer_field()
    text = answer_field()
    due_at = answer_timestamp()
    whatsapp_template = fields.Nested(WhatsAppTemplateSchema, metadata={
        "description": "What it would go as outside WhatsApp's 24-hour window, its params rendered."})


class PreviewSchema(Schema):
    """What a send would deliver, nothing sent."""

    deliveries = answer_field(fields.List, cls_or_instance=fields.Nested(PreviewDeliverySchema))


class MessageSummarySchema(Schema):
    """A message in a list: its status and how many deliveries are in each status."""

    id = answer_field()
    text = answer_field()
    not_before = answer_timestamp()
    created_at = answer_timestamp()
    status = answer_field(validate=validate.OneOf(MESSAGE_STATUSES))
    counts = answer_field(fields.Dict, keys=fields.String(validate=validate.OneOf(STATUSES)),
                  values=fields.Integer())
    schedule_id = fields.String(metadata={"description": "The recurring send that made it, if one did."})


class CancelledSchema(Schema):
    """What a cancel stopped, and the message after it."""

    cancelled = answer_field(fields.List, cls_or_instance=fields.String())
    message = answer_field(fields.Nested, nested=MessageSchema)
