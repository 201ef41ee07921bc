"""Schemas of the original API's request bodies (its own field spellings)."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validates_schema

from api.fields import ContactName, MessengerId, Names, message_text_field, name_field, wallclock_field
from api.services import max_recipients

LEGACY_TO_MESSENGER = {"telegram": "telegram", "whatsApp": "whatsapp", "viber": "viber"}


class _Tolerant(Schema):
    class Meta:
        unknown = EXCLUDE


class MessangersSchema(_Tolerant):
    """Messenger IDs as the original spells them."""

    telegram = MessengerId()
    whatsApp = MessengerId()
    viber = MessengerId()

    @post_load
    def _to_messengers(self, data, **_):
        return {LEGACY_TO_MESSENGER[k]: v for k, v in data.items()}


class LegacyContactSchema(_Tolerant):
    """A contact: name and messenger IDs."""

    name = ContactName(required=True)
    messangers = fields.Nested(MessangersSchema, required=True)


class UserSchema(_Tolerant):
    """A body that only names the user."""

    user_name = name_field(required=True)


class AddContactSchema(UserSchema):
    """POST /api/contacts."""

    contact = fields.Nested(LegacyContactSchema, required=True)


class RemoveContactSchema(UserSchema):
    """DELETE /api/contacts."""

    contact = ContactName(required=True)


class SendSchema(UserSchema):
    """PUT /api/contacts: `contact` or `contacts`, `message`, optional `time`."""

    contact = Names(max_recipients)
    contacts = Names(max_recipients)
    message = message_text_field(required=True)
    time = wallclock_field(load_default=None)

    @validates_schema
    def _has_recipients(self, data, **_):
        if "contact" not in data and "contacts" not in data:
            raise ValidationError("Name the recipients in 'contact' (or 'contacts').", "contact")

    @post_load
    def _merge_recipients(self, data, **_):
        data["names"] = list(dict.fromkeys(data.pop("contact", []) + data.pop("contacts", [])))
        return data
