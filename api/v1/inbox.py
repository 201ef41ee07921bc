"""/api/v1 inbox: the texts people sent the bot, per contact and across the user's contacts."""

import time
from datetime import timezone

from flask.views import MethodView
from marshmallow import RAISE, Schema, fields, validate

from api.auth import current_user
from api.errors import ApiError
from api.services import services
from api.v1 import blueprint
from api.v1.invites import existing_contact
from core.config import MESSENGERS
from core.inbox import message_view

blp = blueprint("inbox", "Texts people sent the bot: a contact's latest, or all since a time.")


class InboxMessageSchema(Schema):
    """A text a person sent the bot."""

    id = fields.String(required=True)
    messenger = fields.String(required=True, validate=validate.OneOf(MESSENGERS))
    contact = fields.String(metadata={"description": "The contact it came to (GET /inbox only)."})
    sender = fields.String(required=True, attribute="from", data_key="from", metadata={
        "description": "The sender's id: Telegram chat id, Viber user id, WhatsApp number's digits."})
    text = fields.String(required=True)
    received_at = fields.String(required=True, metadata={"format": "date-time"})


class SinceSchema(Schema):
    """Which texts: those received after `since`, a page at a time."""

    since = fields.AwareDateTime(load_default=None, default_timezone=timezone.utc, metadata={
        "description": "ISO 8601; the texts received after it (default: all kept). "
                       "Pass the last text's received_at to get the ones after it."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


@blp.route("/contacts/<contact:name>/inbox", merge_slashes=False)
class ContactInbox(MethodView):
    """One contact's texts."""

    @blp.response(200, InboxMessageSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, name):
        """The contact's latest texts (INBOX_KEEP, 100), newest first, from each messenger id it holds.

        What its ids sent before the contact held them shows too: the bot
        keeps each sender's texts by their id.
        """
        user = current_user()
        stored = existing_contact(user, name)
        if stored is None:
            raise ApiError(404, f"No contact named {name!r}.")
        ids = services().contacts.get(user, stored)
        return [message_view(m) for m in services().inbox.for_contact(ids, time.time())]


@blp.route("/inbox")
class Inbox(MethodView):
    """Texts across the user's contacts."""

    @blp.arguments(SinceSchema, location="query", unknown=RAISE)
    @blp.response(200, InboxMessageSchema(many=True))
    def get(self, args):
        """Texts to the user's contacts received after `since`, oldest first, at most `limit`.

        Each is listed for every user whose contact held the sender's id
        when it came; the latest USER_INBOX_MAX (10,000) within the retention.
        """
        since = args["since"].timestamp() if args["since"] else float("-inf")
        found = services().inbox.for_user(current_user(), since, args["limit"], time.time())
        return [message_view(m, m["contact"]) for m in found]
