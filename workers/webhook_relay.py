"""The webhook relay, run by the scheduler: events into posts, and due posts into Celery tasks.

Events come from a Redis stream (Keys.events) read through a consumer
group, so several schedulers share them and each event is fanned out once:
a post per subscribed webhook, with its body rendered now (a retry sends the
same bytes), recorded in the same script that acknowledges and deletes the
event. An event a dead relay had read is taken over by another after
CLAIM_IDLE seconds.
"""

import json
import logging
import os
import socket
import uuid

from redis.exceptions import ResponseError

from core.logs import log_event
from core.publisher import TaskPublisher
from core.timeutil import epoch_to_iso
from core.views import delivery_view, message_view
from core.webhook_posts import ADDED, EXISTS, WEBHOOK_QUEUE, WEBHOOK_TASK, caps_of, lease_seconds

log = logging.getLogger("workers.webhook_relay")
GROUP = "webhooks"
BATCH = 100
CLAIM_IDLE = 30.0
# Seconds between looks for events a dead relay left pending.
RECLAIM_EVERY = 5.0


class Relay:
    """One scheduler's share of the webhook work."""

    def __init__(self, ctx):
        self._ctx = ctx
        self._events = ctx.keys.events()
        self._consumer = f"{socket.gethostname()}:{os.getpid()}"
        self._publisher = TaskPublisher(WEBHOOK_TASK, WEBHOOK_QUEUE)
        self._reclaimed_at = float("-inf")

    def run(self, now) -> int:
        """Fan out new events and hand every due post to Celery; how many posts were handed over."""
        for entry_id, fields in self._read(now):
            try:
                self.fan_out(entry_id, fields, now)
            except (KeyError, TypeError, ValueError) as exc:
                # Not an event as the delivery scripts write them: dropped, lest it come back forever.
                log_event(log, "webhooks.bad_event", level=logging.WARNING, entry=entry_id,
                          error=f"{type(exc).__name__}: {exc}")
                self._ctx.webhook_posts.discard(GROUP, entry_id)
        return self.hand_over(now)

    def _read(self, now) -> list:
        """The next events for this relay: new ones, and now and then those left by a dead relay."""
        redis = self._ctx.redis
        try:
            entries = []
            if now - self._reclaimed_at >= RECLAIM_EVERY:
                self._reclaimed_at = now
                entries = redis.xautoclaim(self._events, GROUP, self._consumer, int(CLAIM_IDLE * 1000),
                                           count=BATCH)[1]
            read = redis.xreadgroup(GROUP, self._consumer, {self._events: ">"}, count=BATCH)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # From the stream's start: events recorded before the group are
            # relayed too. Not before the first event: no key for nothing.
            try:
                redis.xgroup_create(self._events, GROUP, id="0")
            except ResponseError as race:
                if "BUSYGROUP" not in str(race) and "requires the key to exist" not in str(race):
                    raise
            return []
        return entries + [entry for _, batch in read for entry in batch]

    def fan_out(self, entry_id, fields, now):
        """One post per webhook of the event's user subscribed to its type, acknowledging the event."""
        ctx = self._ctx
        user, kind = fields["user"], fields["type"]
        event_id = f"evt_{entry_id}"
        webhooks = [webhook_id for webhook_id, record in ctx.webhooks.list_for(user)
                    if kind in record["events"]]
        posts = {}
        if webhooks:
            body = json.dumps({"id": event_id, "type": kind, "created_at": epoch_to_iso(float(fields["at"])),
                               "data": event_data(ctx.deliveries, fields)})
            posts = dict.fromkeys(webhooks, body)
        outcomes = ctx.webhook_posts.add((user, event_id, kind, fields["at"]), posts, now, caps_of(ctx.config),
                                         entry=(GROUP, entry_id), count_drops=True)
        dropped = {webhook_id: outcome for webhook_id, outcome in (outcomes or {}).items()
                   if outcome not in (ADDED, EXISTS)}
        if dropped:
            log_event(log, "webhooks.dropped", level=logging.WARNING, user=user, event_id=event_id,
                      webhooks=dropped)

    def hand_over(self, now) -> int:
        """Publish a task for each post whose moment came, moving it to the end of a lease.

        A post whose user has WEBHOOK_USER_CONCURRENCY posts in flight waits
        aside instead, until one of them ends.
        """
        posts, config = self._ctx.webhook_posts, self._ctx.config
        published, seen = 0, set()
        while True:
            due = [(post_id, score) for post_id, score in posts.due(now, BATCH) if post_id not in seen]
            if not due:
                return published
            seen.update(post_id for post_id, _ in due)
            until = now + lease_seconds(config)
            published += posts.take(WEBHOOK_QUEUE, now, config.webhook_user_concurrency, [
                (post_id, score, until, self._task_message(post_id)) for post_id, score in due])

    def _task_message(self, post_id) -> str:
        """A task message for one attempt at a post: an id of its own for each hand-over."""
        return self._publisher.message(f"{post_id}.{uuid.uuid4().hex[:8]}", (post_id,))


def event_data(deliveries, fields) -> dict:
    """An event's `data`: its own if it came with it, else the delivery as /api/v1 shows it, or the message."""
    if "data" in fields:
        return json.loads(fields["data"])
    message_id = fields["message_id"]
    if "delivery_id" not in fields:
        message = deliveries.message(message_id)
        if not message:
            return {"id": message_id}
        ids = deliveries.delivery_ids_of(message_id, message)
        return message_view(message_id, message, ids, deliveries.get_many(ids))
    delivery_id = fields["delivery_id"]
    delivery = deliveries.get(delivery_id)
    view = delivery_view(delivery_id, delivery) if delivery else {"id": delivery_id}
    return {**view, "message_id": message_id, "status": fields["status"]}
