"""Celery tasks: thin wrappers that call the delivery functions."""

from celery import shared_task
from redis.exceptions import RedisError

from core.dispatch import DELIVER_TASK
from workers.attempts import DeliveryFailed, conclude
from workers.context import worker_context
from workers.delivery import attempt_delivery


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
        raise self.retry(exc=exc, countdown=2, kwargsrepr=self.request.get("kwargsrepr"))
    return conclude(attempt)
