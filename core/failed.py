"""Deliveries that could not be made, kept per user so they can be sent again."""

import json

from core.keys import Keys


class FailedStore:
    """A user's failed-delivery records, newest first."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    def list_for(self, user, offset=0, limit=None) -> list:
        """The user's failed records, newest first."""
        stop = -1 if limit is None else offset + limit - 1
        ids = self._redis.zrevrange(self._keys.failed_index(user), offset, stop)
        if not ids:
            return []
        raw = self._redis.hmget(self._keys.failed(user), ids)
        return [json.loads(r) for r in raw if r]

    def count_for(self, user) -> int:
        """How many failed records the user has."""
        return self._redis.zcard(self._keys.failed_index(user))

    def ids_for(self, user) -> list:
        """The delivery ids of the user's failed records, newest first."""
        return self._redis.zrevrange(self._keys.failed_index(user), 0, -1)

    def get(self, user, delivery_id):
        """One of the user's failed records, or None."""
        raw = self._redis.hget(self._keys.failed(user), delivery_id)
        return json.loads(raw) if raw else None

    def dismiss(self, user, delivery_id) -> bool:
        """Drop a failed record without sending it again."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._keys.failed(user), delivery_id)
            pipe.zrem(self._keys.failed_index(user), delivery_id)
            removed, _ = pipe.execute()
        return bool(removed)
