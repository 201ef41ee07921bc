"""/api/v1 invites: links that bind a person's messenger ids to a contact when they follow one."""

import csv
import io
import time
import unicodedata

from flask import Response
from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from api.auth import current_user
from api.errors import ApiError
from api.fields import ContactName
from api.services import max_recipients, services
from api.v1 import blueprint
from core.config import MESSENGERS
from core.csv_cells import neutralised

blp = blueprint("invites", "Invite links: a person follows one and their messenger id is bound to the contact.")
CSV_TYPE = "text/csv"


class InviteSchema(Schema):
    """A contact's invite: a link per messenger, each single-use, all expiring together."""

    name = fields.String(required=True)
    links = fields.Dict(keys=fields.String(validate=validate.OneOf(MESSENGERS)), values=fields.String(),
                        required=True, metadata={"example": {
                            "telegram": "https://t.me/fake_dispatcher_bot?start=inv_3q2-PAuN0XwYwJ8c1k5hEo7d",
                            "viber": "viber://pa?chatURI=fakedispatcher&context=inv_Zb8Z1v0Jm3m3c2x4yK9QpR-a",
                            "whatsapp": "https://wa.me/15550000001?text=inv_T0m8F3n2q1w4e5r6t7y8u9i0"}})
    expires_at = fields.String(required=True, metadata={"format": "date-time"})


class BulkInvitesSchema(Schema):
    """Contacts to invite at once, and how to get their links."""

    names = fields.List(ContactName(), required=True, validate=validate.Length(min=1),
                        metadata={"example": ["Artem", "Anna"],
                                  "description": "At most MAX_RECIPIENTS (10,000) names."})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "json: a list of invites; csv: name, one column "
                                                    "per messenger's link, expires_at."})


def existing_contact(user, name):
    """The stored name of the user's contact called name (as sent, or in its NFC form), or None."""
    book = services().contacts
    for form in dict.fromkeys((unicodedata.normalize("NFC", name), name)):
        if book.get(user, form) is not None:
            return form
    return None


@blp.route("/contacts/<contact:name>/invites", merge_slashes=False)
class ContactInvites(MethodView):
    """A new invite for one contact."""

    @blp.response(201, InviteSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, name):
        """Make an invite for the contact: a link per messenger that binds the id of whoever follows it first.

        Each code is single-use and expires after INVITE_TTL_DAYS (14). An
        earlier invite of the contact keeps working until used or expired.
        """
        user = current_user()
        stored = existing_contact(user, name)
        if stored is None:
            raise ApiError(404, f"No contact named {name!r}.")
        [invite] = services().invites.create(user, [stored], time.time())
        return invite


@blp.route("/invites")
class Invites(MethodView):
    """Invites for many contacts at once."""

    @blp.arguments(BulkInvitesSchema, unknown=RAISE)
    @blp.response(201, InviteSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.doc(responses={"201": {"content": {CSV_TYPE: {"schema": {"type": "string"}, "example": (
        "name,telegram,viber,whatsapp,expires_at\n"
        "Artem,https://t.me/fake_dispatcher_bot?start=inv_...,viber://pa?chatURI=...,"
        "https://wa.me/15550000001?text=inv_...,2026-12-21T17:00:00Z\n")}}}})
    def post(self, body):
        """Make an invite for each contact named, as JSON or CSV; a 404 names those that do not exist."""
        names = list(dict.fromkeys(body["names"]))
        if len(names) > max_recipients():
            raise ApiError(422, f"At most {max_recipients()} names at once.",
                           {"json": {"names": [f"Longer than {max_recipients()}."]}})
        user = current_user()
        found = services().contacts.recipients(user, names)
        missing = [name for name in names if name not in found]
        if missing:
            raise ApiError(404, f"No contacts named {', '.join(map(repr, missing[:10]))}"
                                f"{' and more' if len(missing) > 10 else ''}.",
                           {"json": {"names": [f"No contact named {name!r}." for name in missing[:1000]]}})
        invites = services().invites.create(user, names, time.time())
        if body["format"] == "csv":
            return Response(_csv(invites), status=201, mimetype=CSV_TYPE)
        return invites


def _csv(invites) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", *MESSENGERS, "expires_at"])
    for invite in invites:
        writer.writerow([neutralised(invite["name"]), *(invite["links"][m] for m in MESSENGERS),
                         invite["expires_at"]])
    return out.getvalue()
