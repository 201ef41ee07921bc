"""/api/v1/messages: send, list, follow and cancel messages."""

from flask import g, request
from flask.views import MethodView

from api.auth import current_user
from api.services import services
from api.v1 import blueprint
from api.v1.message_schemas import CancelledSchema, MessageSchema, MessageSummarySchema, PreviewSchema
from api.v1.schemas import IdempotencyKeySchema, SendSchema
from api.v1.views import cancel_message, message_summaries, own_message
from core.sending.request import ACCEPTED, preview, send

blp = blueprint("messages", "Messages and the status of each of their deliveries.")


@blp.route("/messages")
class Messages(MethodView):
    """The user's messages."""

    @blp.response(200, MessageSummarySchema(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    def get(self, pagination_parameters):
        """The user's messages, newest first, each with its deliveries counted by status."""
        page = pagination_parameters
        store = services().deliveries
        page.item_count = store.message_count_for(current_user())
        if page.first_item >= page.item_count:
            # Past the last page (Redis refuses offsets beyond 64 bits).
            return []
        ids = store.message_ids_for(current_user(), page.first_item, page.page_size)
        return message_summaries(services(), ids)

    @blp.arguments(IdempotencyKeySchema, location="headers", as_kwargs=True)
    @blp.arguments(SendSchema)
    @blp.response(202, MessageSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, data, key):
        """Send a text to contacts over each messenger they have an ID for, not before a time."""
        # The send's deadline counts from the request's start (api/metrics.py).
        answer, replayed = send(services(), current_user(), data, key, request.get_json(), g.get("started"))
        if replayed is None:
            return answer, ACCEPTED
        return answer, replayed, {"Idempotent-Replayed": "true"}


@blp.route("/messages/preview")
class Preview(MethodView):
    """A send tried out."""

    @blp.arguments(SendSchema)
    @blp.response(200, PreviewSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, data):
        """Each delivery a send of this body would make, with its text and due time; nothing is sent."""
        return preview(services(), current_user(), data)


@blp.route("/messages/<message:message_id>")
class Message(MethodView):
    """One message."""

    @blp.response(200, MessageSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, message_id):
        """The message with each delivery's status, attempts and last error."""
        return own_message(services(), current_user(), message_id)


@blp.route("/messages/<message:message_id>/cancel")
class Cancel(MethodView):
    """Stop what has not started."""

    @blp.response(200, CancelledSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, message_id):
        """Cancel every delivery of the message not yet started; says which."""
        return cancel_message(services(), current_user(), message_id)
