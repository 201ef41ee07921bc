"""The schedule: deliveries waiting to be handed to Celery, by hand-over time.

A delivery due later than the horizon waits here, not in a worker's memory,
until the scheduler publishes it (in the same transaction that removes it).
A retry enters it before its task is published, so a crash in between loses
nothing: the scheduler publishes what nobody did when its time comes.
"""

from core.keys import Keys


class Schedule:
    """A sorted set of 'delivery|ticket' members scored by hand-over time."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys

    def add(self, pipe, entries):
        """Queue the writes that add (delivery id, ticket, hand-over time) entries."""
        if entries:
            pipe.zadd(self._keys.schedule(), {
                self._keys.schedule_member(d, t): score for d, t, score in entries
            })

    def due(self, now, limit) -> list:
        """Up to `limit` (delivery id, ticket) entries whose hand-over time has come."""
        members = self._redis.zrangebyscore(self._keys.schedule(), "-inf", now, 0, limit)
        return [self._keys.parse_schedule_member(m) for m in members]

    def remove(self, entries, pipe=None):
        """Drop (delivery id, ticket) entries, through a pipeline if given."""
        if entries:
            (pipe or self._redis).zrem(
                self._keys.schedule(), *(self._keys.schedule_member(d, t) for d, t in entries)
            )

    def size(self) -> int:
        """How many entries wait in the schedule."""
        return self._redis.zcard(self._keys.schedule())
