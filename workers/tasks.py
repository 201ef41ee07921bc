"""Celery tasks: thin wrappers that call the delivery, webhook and inbound functions."""

import json
import time

from celery import shared_task
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from core.dispatch import DELIVER_TASK
from core.inbound import INBOUND_TASK
from core.webhook_posts import WEBHOOK_TASK
from workers.attempts import DeliveryFailed, conclude
from workers.context import worker_context
from workers.delivery import attempt_delivery
from workers.inbound import handle
from workers.webhook_post import attempt_post


# throws: a delivery failed for good is an expected end, logged by the
# delivery itself, not a crash for Celery to log with its traceback.
@shared_task(name=DELIVER_TASK, bind=True, max_retries=None, throws=(DeliveryFailed,))
def deliver(self, delivery_id: str, ticket: int):
    """Make one attempt at one delivery (idempotent on its id and ticket)."""
    try:
        attempt = attempt_delivery(worker_context(self.app.dispatcher_config), delivery_id, ticket)
    except RedisError as exc:
        # The store is away: try this same ticket again soon. Should this
        # retry be lost too, the delivery's schedule entry brings it back.
        raise self.retry(exc=exc, countdown=2, kwargsrepr=self.request.get("kwargsrepr")) from exc
    return conclude(attempt)


@shared_task(name=WEBHOOK_TASK, bind=True)
def post_webhook(self, post_id: str):
    """Make one attempt at one webhook post (its lease lets one worker at a time send it)."""
    try:
        return attempt_post(worker_context(self.app.dispatcher_config), post_id)
    except RedisError as exc:
        # The post's schedule entry, at the end of its lease, brings it back.
        return f"store unavailable: handed over again when its lease ends ({exc})"


@shared_task(name=INBOUND_TASK, bind=True, max_retries=None)
def handle_inbound(self, messenger: str, event: str):
    """Act on one thing a person sent the bot (handed over once per update, core/inbound.py)."""
    try:
        return handle(worker_context(self.app.dispatcher_config), messenger, json.loads(event), time.time())
    except (RedisError, PyMongoError) as exc:
        raise self.retry(exc=exc, countdown=2) from exc
