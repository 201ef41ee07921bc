"""/api/v1/webhooks: where to post the user's delivery and message events, signed."""

import time

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate

from api.auth import current_user
from api.errors import ApiError
from api.services import services
from api.v1 import blueprint
from core.webhook_posts import USER_FULL, WEBHOOK_FULL, caps_of
from core.webhook_targets import URL_MAX, TargetRefused, checked_target, url_problem
from core.webhooks import EVENTS, TEST_EVENT, WEBHOOKS_MAX, test_event, webhook_view

blp = blueprint("webhooks", "Signed HTTP posts of the user's delivery and message events.")


def _target(url):
    """A URL a webhook may post to: http(s), and (unless WEBHOOK_ALLOW_PRIVATE) a public host."""
    config = services().config
    try:
        if config.webhook_allow_private:
            problem = url_problem(url)
            if problem:
                raise TargetRefused(problem)
        else:
            checked_target(url, False, config.webhook_timeout)
    except TargetRefused as exc:
        raise ValidationError(str(exc)) from None


class NewWebhookSchema(Schema):
    """A webhook to make: where to post, and which events (default: all)."""

    url = fields.String(required=True, validate=_target, metadata={
        "example": "https://example.com/hooks/dispatcher", "maxLength": URL_MAX,
        "description": "http or https; its host may not be or resolve to a loopback, private, "
                       "link-local or reserved address."})
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), validate=validate.Length(min=1),
                         load_default=lambda: list(EVENTS), metadata={"example": ["delivery.failed"]})


class WebhookSchema(Schema):
    """A webhook as listed: never its secret."""

    id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    pending_posts = fields.Integer(required=True, metadata={
        "description": "Posts waiting to be sent or tried again; at most MAX_PENDING_POSTS_PER_WEBHOOK."})
    dropped_events = fields.Integer(required=True, metadata={
        "description": "Events not posted because the webhook's or the user's pending posts were at their cap."})


class CreatedWebhookSchema(WebhookSchema):
    """A webhook just made: the only time its signing secret is shown."""

    secret = fields.String(required=True, metadata={
        "description": "Signs each post: X-Dispatcher-Signature: t=<unix seconds>,"
                       "v1=<hex HMAC-SHA256(secret, '<t>.' + body)>."})


class AttemptSchema(Schema):
    """One attempt at posting one event."""

    event_id = fields.String(required=True)
    type = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})
    attempt = fields.Integer(required=True)
    status = fields.Integer(required=True, allow_none=True, metadata={"description": "null: no HTTP answer."})
    error = fields.String(required=True, metadata={"description": "Empty for a 2xx answer."})
    duration_ms = fields.Float(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("delivered", "retrying", "given_up")))
    next_attempt_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


class QueuedEventSchema(Schema):
    """The test event queued."""

    event_id = fields.String(required=True)


def _own(webhook_id) -> dict:
    """The user's webhook of this id; 404 for any other, another user's too."""
    record = services().webhooks.get(current_user(), webhook_id)
    if record is None:
        raise ApiError(404, f"No webhook with id {webhook_id!r}.")
    return record


@blp.route("/webhooks")
class Webhooks(MethodView):
    """The user's webhooks."""

    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        """The user's webhooks, oldest first, without their secrets."""
        store = services().webhooks
        load = store.load(current_user())
        return [webhook_view(i, record, load) for i, record in store.list_for(current_user())]

    @blp.arguments(NewWebhookSchema)
    @blp.response(201, CreatedWebhookSchema)
    def post(self, data):
        """Make a webhook; the answer is the only time its signing secret is shown."""
        made = services().webhooks.create(current_user(), data["url"], list(dict.fromkeys(data["events"])),
                                          time.time())
        if made is None:
            raise ApiError(422, f"A user may have at most {WEBHOOKS_MAX} webhooks; delete one first.")
        return webhook_view(*made, with_secret=True)


@blp.route("/webhooks/<webhook_id>")
class Webhook(MethodView):
    """One of the user's webhooks."""

    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, webhook_id):
        """The webhook, without its secret."""
        return webhook_view(webhook_id, _own(webhook_id), services().webhooks.load(current_user()))

    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, webhook_id):
        """Delete the webhook: nothing more is posted to it, not even events already waiting."""
        if not services().webhooks.delete(current_user(), webhook_id):
            raise ApiError(404, f"No webhook with id {webhook_id!r}.")


@blp.route("/webhooks/<webhook_id>/test")
class Test(MethodView):
    """A test event."""

    @blp.response(202, QueuedEventSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, webhook_id):
        """Queue a webhook.test event to this webhook alone, signed and retried as any other.

        429 while the webhook's, or the user's, posts pending are at their cap.
        """
        _own(webhook_id)
        svc, now = services(), time.time()
        event_id, body = test_event(webhook_id, now)
        outcome = svc.webhook_posts.add((current_user(), event_id, TEST_EVENT, now), {webhook_id: body}, now,
                                        caps_of(svc.config))[webhook_id]
        if outcome == WEBHOOK_FULL:
            raise ApiError(429, f"This webhook has {svc.config.max_pending_posts_per_webhook:,} posts pending, "
                                "its cap (MAX_PENDING_POSTS_PER_WEBHOOK): wait until they are sent or given up.")
        if outcome == USER_FULL:
            raise ApiError(429, f"Your webhooks have {svc.config.max_pending_posts:,} posts pending, the cap "
                                "(MAX_PENDING_POSTS): wait until they are sent or given up.")
        return {"event_id": event_id}


@blp.route("/webhooks/<webhook_id>/attempts")
class Attempts(MethodView):
    """What the webhook's posts came to."""

    @blp.response(200, AttemptSchema(many=True))
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, webhook_id):
        """The webhook's latest attempts (at most 100), newest first."""
        _own(webhook_id)
        return services().webhooks.attempts(webhook_id)
