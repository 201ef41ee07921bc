"""Deleting what the service keeps no longer: finished messages and old failed records.

The delivery steps (core/deliveries.py) put a message in the retention index
when its last delivery finishes, and a failed record when it is written,
each scored by when it may go. The scheduler calls `purge` with the rest of
its rounds; deleting twice is harmless, so several schedulers may.
"""

from redis.exceptions import WatchError

from core.keys import Keys
from core.messages import message_id_of


class Retention:
    """Deletes expired messages (with their deliveries) and failed records."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    def purge(self, now, limit=500) -> int:
        """Delete up to `limit` entries whose time has come; how many went."""
        k = self._keys
        members = self._redis.zrangebyscore(k.retention(), "-inf", now, 0, limit)
        if not members:
            return 0
        messages = [m[2:] for m in members if m.startswith("m:")]
        failed = [m[2:] for m in members if m.startswith("f:")]
        with self._redis.pipeline(transaction=True) as deleting:
            # A resend changes its message and delivery: then this round
            # deletes nothing, and the next one reads the index anew.
            deleting.watch(*(k.message(m) for m in messages),
                           *(k.message(message_id_of(d)) for d in failed),
                           *(k.delivery(d) for d in failed))
            with self._redis.pipeline(transaction=False) as reading:
                for message_id in messages:
                    reading.hmget(k.message(message_id), "sender", "count")
                for delivery_id in failed:
                    reading.hget(k.delivery(delivery_id), "sender")
                found = reading.execute()
            deleting.multi()
            for message_id, (sender, count) in zip(messages, found[:len(messages)], strict=True):
                doomed = [k.message(message_id)]
                doomed += [k.delivery(f"{message_id}-{i}") for i in range(int(count or 0))]
                deleting.unlink(*doomed)
                if sender is not None:
                    deleting.zrem(k.user_messages(sender), message_id)
            for delivery_id, sender in zip(failed, found[len(messages):], strict=True):
                if sender is not None:
                    deleting.hdel(k.failed(sender), delivery_id)
                    deleting.zrem(k.failed_index(sender), delivery_id)
            deleting.zrem(k.retention(), *members)
            try:
                deleting.execute()
            except WatchError:
                return 0
        return len(members)
