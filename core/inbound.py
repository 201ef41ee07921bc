"""Handing what people send the bot to Celery, once per update, from the webhooks and the poller alike.

Each event is handed over with its messenger's own id of the update
(Telegram update_id, Viber message_token, WhatsApp message id), marked
seen in the same script that queues its task: a redelivered update, or one
that both a webhook and the poller heard, queues nothing.
"""

import json
import time
import uuid

from core.lua import Script
from core.publisher import TaskPublisher

INBOUND_TASK = "workers.handle_inbound"
# Longer than any messenger redelivers an update: Meta tries for 7 days.
SEEN_SECONDS = 8 * 24 * 3600

# KEYS: the update's seen key, the queue. ARGV: seconds kept, task message.
_HAND_OVER = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
"""


class InboundQueue:
    """Events of people's updates, into the inbound queue once each."""

    def __init__(self, redis, keys, config):
        self._keys = keys
        self._publisher = TaskPublisher(INBOUND_TASK, config.inbound_queue)
        self._hand_over = Script(redis, _HAND_OVER)

    def hand_over(self, messenger, events) -> int:
        """Queue a task for each event not handed over before; how many were new."""
        new = 0
        for event in events:
            # When it came, which orders a sender's texts however the workers take them.
            event = {**event, "received_at": round(time.time(), 3)}
            message = self._publisher.message(uuid.uuid4().hex, (messenger, json.dumps(event)))
            new += self._hand_over(keys=[self._keys.inbound_seen(messenger, event["key"]), self._publisher.queue],
                                   args=[SEEN_SECONDS, message])
        return new
