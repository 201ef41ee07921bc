"""Messages and their deliveries' status in Redis, changed only by atomic steps."""

import json
from collections import namedtuple

from core.keys import Keys

STATUSES = ("scheduled", "queued", "sending", "retrying", "sent", "failed", "cancelled")
FINAL = ("sent", "failed", "cancelled")

Claim = namedtuple("Claim", "outcome detail messenger to sender contact text time attempts due")

# A task may send only with the delivery's current ticket, and only from a
# waiting state; a copy that finds another holder's live lease waits it out.
_CLAIM = """
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket', 'lease', 'attempts')
if not d[1] then return {'skip', 'missing'} end
if tonumber(d[2]) ~= tonumber(ARGV[1]) then return {'skip', 'stale'} end
local attempts = tonumber(d[4])
if d[1] == 'sending' then
  if tonumber(d[3]) > tonumber(ARGV[2]) then return {'busy', d[3]} end
elseif d[1] == 'queued' or d[1] == 'scheduled' or d[1] == 'retrying' then
  attempts = attempts + 1
else
  return {'skip', d[1]}
end
redis.call('HSET', KEYS[1], 'status', 'sending', 'lease', ARGV[3],
           'attempts', attempts, 'updated_at', ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'messenger', 'to', 'sender', 'contact', 'due')
local m = redis.call('HMGET', KEYS[2], 'text', 'time')
return {'go', '', f[1], f[2], f[3], f[4], m[1], m[2], tostring(attempts), f[5]}
"""

_HOLDS = """
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if d[1] ~= 'sending' or tonumber(d[2]) ~= tonumber(ARGV[1]) then return 0 end
"""

_SENT = _HOLDS + """
redis.call('HSET', KEYS[1], 'status', 'sent', 'updated_at', ARGV[2], 'sent_at', ARGV[2])
return 1
"""

_RETRY = _HOLDS + """
redis.call('HSET', KEYS[1], 'status', 'retrying', 'ticket', tonumber(ARGV[1]) + 1,
           'due', ARGV[3], 'last_error', ARGV[4], 'updated_at', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
return 1
"""

_FAIL = _HOLDS + """
redis.call('HSET', KEYS[1], 'status', 'failed', 'last_error', ARGV[3], 'updated_at', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[4])
return 1
"""

# Hand a failed delivery back: a fresh round of attempts under a new ticket,
# written to the schedule's outbox in the same step it leaves the failed store.
_RESEND = """
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if d[1] ~= 'failed' then return 0 end
local ticket = tonumber(d[2]) + 1
redis.call('HSET', KEYS[1], 'status', 'queued', 'ticket', ticket, 'attempts', 0,
           'due', ARGV[2], 'updated_at', ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1] .. '|' .. ticket)
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return ticket
"""

# Cancel what has not started: waiting deliveries leave the schedule too.
_CANCEL = """
local cancelled = {}
for i = 2, #KEYS do
  local d = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  if d[1] == 'scheduled' or d[1] == 'queued' then
    redis.call('HSET', KEYS[i], 'status', 'cancelled', 'updated_at', ARGV[1])
    redis.call('ZREM', KEYS[1], ARGV[i] .. '|' .. d[2])
    table.insert(cancelled, ARGV[i])
  end
end
return cancelled
"""


class DeliveryStore:
    """Messages, deliveries and their status transitions."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._claim = redis.register_script(_CLAIM)
        self._sent = redis.register_script(_SENT)
        self._retry = redis.register_script(_RETRY)
        self._fail = redis.register_script(_FAIL)
        self._resend = redis.register_script(_RESEND)
        self._cancel = redis.register_script(_CANCEL)

    def write(self, pipe, message, now: float):
        """Queue the writes that record a new message and its deliveries."""
        k = self._keys
        pipe.hset(k.message(message.id), mapping={
            "sender": message.sender, "text": message.text, "time": json.dumps(message.time),
            "due": message.due, "created_at": message.created_at,
            "count": len(message.deliveries),
        })
        pipe.zadd(k.user_messages(message.sender), {message.id: message.created_at})
        status = "scheduled" if message.due > now else "queued"
        for d in message.deliveries:
            pipe.hset(k.delivery(d.id), mapping={
                "message_id": message.id, "sender": message.sender, "contact": d.contact,
                "messenger": d.messenger, "to": d.to, "status": status, "attempts": 0,
                "ticket": 1, "due": message.due, "lease": 0, "last_error": "",
                "updated_at": now,
            })

    def claim(self, delivery_id, message_id, ticket, now, lease_until) -> Claim:
        """Take a delivery for sending, if this ticket may send it now."""
        reply = self._claim(
            keys=[self._keys.delivery(delivery_id), self._keys.message(message_id)],
            args=[ticket, now, lease_until],
        )
        reply += [None] * (len(Claim._fields) - len(reply))
        return Claim(*reply)

    def mark_sent(self, delivery_id, ticket, now) -> bool:
        """Record a delivery the gateway accepted."""
        return bool(self._sent(keys=[self._keys.delivery(delivery_id)], args=[ticket, now]))

    def mark_retrying(self, delivery_id, ticket, now, error, due, schedule_score) -> bool:
        """Record a transient failure and put the next attempt in the schedule."""
        member = self._keys.schedule_member(delivery_id, ticket + 1)
        return bool(self._retry(
            keys=[self._keys.delivery(delivery_id), self._keys.schedule()],
            args=[ticket, now, due, error, member, schedule_score],
        ))

    def mark_failed(self, delivery_id, ticket, now, error, sender, record: dict) -> bool:
        """Record a delivery that failed for good, and its failed-store record."""
        return bool(self._fail(
            keys=[self._keys.delivery(delivery_id), self._keys.failed(sender),
                  self._keys.failed_index(sender)],
            args=[ticket, now, error, delivery_id, json.dumps(record)],
        ))

    def resend(self, delivery_id, sender, now, schedule_score):
        """Hand a failed delivery back to the schedule; its new ticket, or None."""
        ticket = self._resend(
            keys=[self._keys.delivery(delivery_id), self._keys.failed(sender),
                  self._keys.failed_index(sender), self._keys.schedule()],
            args=[delivery_id, now, schedule_score],
        )
        return ticket or None

    def cancel(self, delivery_ids, now) -> list:
        """Cancel those deliveries that have not started; the ids cancelled."""
        if not delivery_ids:
            return []
        keys = [self._keys.schedule()] + [self._keys.delivery(d) for d in delivery_ids]
        return self._cancel(keys=keys, args=[now, *delivery_ids])

    def get(self, delivery_id) -> dict:
        """A delivery's fields, or an empty dict."""
        return self._redis.hgetall(self._keys.delivery(delivery_id))

    def get_many(self, delivery_ids) -> list:
        """Several deliveries' fields, in order (empty dicts for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for d in delivery_ids:
                pipe.hgetall(self._keys.delivery(d))
            return pipe.execute()

    def message(self, message_id) -> dict:
        """A message's fields, or an empty dict."""
        return self._redis.hgetall(self._keys.message(message_id))

    def message_ids_for(self, user, offset=0, limit=None) -> list:
        """The ids of a user's messages, newest first."""
        stop = -1 if limit is None else offset + limit - 1
        return self._redis.zrevrange(self._keys.user_messages(user), offset, stop)

    def message_count_for(self, user) -> int:
        """How many messages a user has sent."""
        return self._redis.zcard(self._keys.user_messages(user))

    def messages(self, message_ids) -> list:
        """Several messages' fields, in order (empty dicts for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for m in message_ids:
                pipe.hgetall(self._keys.message(m))
            return pipe.execute()

    def statuses(self, delivery_ids) -> list:
        """Several deliveries' statuses, in order (None for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for d in delivery_ids:
                pipe.hget(self._keys.delivery(d), "status")
            return pipe.execute()

    @staticmethod
    def delivery_ids_of(message_id, message: dict) -> list:
        """The ids of a message's deliveries, given the message's fields."""
        return [f"{message_id}-{i}" for i in range(int(message.get("count", 0)))]
