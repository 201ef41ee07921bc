"""The schedule: for every unfinished delivery, the moment someone must act on it next.

Each delivery that is not finished has one entry, its 'delivery|ticket'
scored by that moment, written in the same atomic step as each status
change (core/deliveries.py):

- due later than the horizon: when to publish its task (the horizon before
  it is due), so a far-future delivery never sits in a worker's memory;
- its task published: its due time plus a grace; a worker claims it before
  then unless the worker holding the task died;
- claimed by a worker: the end of the claim's lease;
- finished: no entry.

The scheduler (workers/scheduler.py) hands each delivery whose moment has
passed back to Celery and sets its next moment, in one script that acts only
on an entry nobody changed since it was read, so several schedulers can run
and each entry is acted on once. Extra copies of a task are harmless: a
delivery's ticket lets only one of them send.
"""

from core.keys import Keys
from core.lua import Script

# KEYS: schedule, queue. ARGV: groups of (member, score as read, next
# moment, task message or ''). An entry whose score changed since it was
# read was acted on by someone else, or its delivery moved on: left alone.
# The webhook posts' schedule (core/webhook_posts.py) is taken the same way.
TAKE = """
local pushed = 0
for i = 1, #ARGV, 4 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i])
    if ARGV[i + 3] ~= '' then
      redis.call('LPUSH', KEYS[2], ARGV[i + 3])
      pushed = pushed + 1
    end
  end
end
return pushed
"""


class Schedule:
    """A sorted set of 'delivery|ticket' members scored by the moment to act on them."""

    def __init__(self, redis, keys: Keys, horizon: float, grace: float):
        self._redis = redis
        self._keys = keys
        self.horizon = horizon
        self.grace = grace
        self._take = Script(redis, TAKE)

    def moment(self, due: float, now: float) -> float:
        """When to act on a delivery due at `due`, unless a worker has claimed it by then."""
        if due - now > self.horizon:
            return due - self.horizon
        return max(due, now) + self.grace

    def add(self, pipe, entries):
        """Queue the writes that set (delivery id, ticket, moment) entries."""
        if entries:
            pipe.zadd(self._keys.schedule(), {
                self._keys.schedule_member(d, t): moment for d, t, moment in entries
            })

    def due(self, now, limit) -> list:
        """Up to `limit` (delivery id, ticket, score) entries whose moment has come."""
        members = self._redis.zrangebyscore(
            self._keys.schedule(), "-inf", now, 0, limit, withscores=True
        )
        return [(*self._keys.parse_schedule_member(m), score) for m, score in members]

    def take(self, queue, actions) -> int:
        """Act on entries read by `due`: (delivery id, ticket, score, next moment, message or '').

        Each entry still as read moves to its next moment and its message (if
        any) goes to the queue, atomically; how many messages went.
        """
        args = []
        for delivery_id, ticket, score, moment, message in actions:
            args += [self._keys.schedule_member(delivery_id, ticket), score, moment, message]
        if not args:
            return 0
        return self._take(keys=[self._keys.schedule(), queue], args=args)

    def remove(self, entries):
        """Drop (delivery id, ticket) entries of deliveries that need nobody any more."""
        if entries:
            self._redis.zrem(
                self._keys.schedule(), *(self._keys.schedule_member(d, t) for d, t in entries)
            )
