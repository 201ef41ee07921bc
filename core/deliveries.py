"""Messages and their deliveries' status in Redis, changed only by atomic steps.

Every delivery that is not finished has one entry in the schedule (see
core/schedule.py): the moment someone must act on it next. Each step below
that changes a delivery's status moves or removes that entry in the same
script, so no crash between two writes can leave a delivery with nobody to
act on it. A message counts its open deliveries, and its deliveries by
status (so a list of messages reads no delivery); when the last one
finishes, the message is put in the retention index, to be deleted after
the retention period with its deliveries. A user counts their open
deliveries, for the quota on them. Messages recorded before these counts
existed carry no `counted` field and are counted by reading.
"""

import json
from collections import namedtuple

from core.keys import Keys
from core.messages import message_id_of
from core.statuses import (
    CANCELLABLE, CANCELLED, FAILED, QUEUED, RETRYING, SENDING, SENT, WAITING, lua_set,
    waiting_status,
)

Claim = namedtuple("Claim", "outcome detail messenger to sender contact text time attempts due lane")

# recount(message key, old status, new status): the message's counts by status.
_RECOUNT = """
local function recount(mkey, old, new)
  if old ~= new and redis.call('HEXISTS', mkey, 'counted') == 1 then
    redis.call('HINCRBY', mkey, 'n:' .. old, -1)
    redis.call('HINCRBY', mkey, 'n:' .. new, 1)
  end
end
"""

# finish(message key, schedule key, retention key, user usage key, member,
# message id, now, retention seconds): the delivery needs nobody any more.
_FINISH = _RECOUNT + """
local function finish(mkey, skey, rkey, ukey, member, mid, now, keep)
  redis.call('ZREM', skey, member)
  if redis.call('HEXISTS', mkey, 'counted') == 1 then
    redis.call('HINCRBY', ukey, 'open', -1)
  end
  if redis.call('HEXISTS', mkey, 'open') == 1
     and redis.call('HINCRBY', mkey, 'open', -1) <= 0 then
    redis.call('ZADD', rkey, tonumber(now) + tonumber(keep), 'm:' .. mid)
  end
end
"""

# A task may send only with the delivery's current ticket, from a waiting
# state and not before the delivery is due; a copy that finds another
# holder's live lease leaves it to the holder (or, if the holder dies, to
# the schedule entry at the lease's end). A lease that ran out is taken over
# as a new attempt. Due times and leases are compared with the Redis
# server's clock, the one clock every host shares: a worker whose own clock
# runs ahead is told how long to wait, and never sends early. KEYS:
# delivery, message, schedule. ARGV: ticket, lease seconds, schedule member.
_CLAIM = _RECOUNT + lua_set("WAITING", WAITING) + f"""
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket', 'lease', 'attempts', 'due')
if not d[1] then return {{'skip', 'missing'}} end
if tonumber(d[2]) ~= tonumber(ARGV[1]) then return {{'skip', 'stale'}} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
if d[1] == '{SENDING}' then
  if tonumber(d[3]) > now then return {{'busy', d[3]}} end
elseif WAITING[d[1]] then
  local wait = tonumber(d[5]) - now
  if wait > 0 then return {{'early', string.format('%.6f', wait)}} end
else
  return {{'skip', d[1]}}
end
local attempts = tonumber(d[4]) + 1
local lease = string.format('%.6f', now + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'status', '{SENDING}', 'lease', lease,
           'attempts', attempts, 'updated_at', string.format('%.6f', now))
redis.call('ZADD', KEYS[3], lease, ARGV[3])
recount(KEYS[2], d[1], '{SENDING}')
local f = redis.call('HMGET', KEYS[1], 'messenger', 'to', 'sender', 'contact', 'lane')
local m = redis.call('HMGET', KEYS[2], 'text', 'time')
return {{'go', '', f[1], f[2], f[3], f[4], m[1], m[2], tostring(attempts), d[5], f[5]}}
"""

_HOLDS = f"""
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket', 'attempts')
if d[1] ~= '{SENDING}' or tonumber(d[2]) ~= tonumber(ARGV[1]) then return 0 end
"""
# For a failure, also the attempt (the last ARGV): a holder whose lease was
# taken over by another attempt may not undo what the new holder does.
_HOLDS_ATTEMPT = _HOLDS + """
if tonumber(d[3]) ~= tonumber(ARGV[#ARGV]) then return 0 end
"""

# KEYS: delivery, message, schedule, retention, user usage. ARGV: ticket,
# now, member, message id, retention seconds.
_SENT = _FINISH + _HOLDS + f"""
redis.call('HSET', KEYS[1], 'status', '{SENT}', 'updated_at', ARGV[2], 'sent_at', ARGV[2])
recount(KEYS[2], '{SENDING}', '{SENT}')
finish(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4], ARGV[2], ARGV[5])
return 1
"""

# KEYS: delivery, schedule, message. ARGV: ticket, now, due, error, old
# member, new member, the new member's moment, attempt.
_RETRY = _RECOUNT + _HOLDS_ATTEMPT + f"""
redis.call('HSET', KEYS[1], 'status', '{RETRYING}', 'ticket', tonumber(ARGV[1]) + 1,
           'due', ARGV[3], 'last_error', ARGV[4], 'updated_at', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[6])
recount(KEYS[3], '{SENDING}', '{RETRYING}')
return 1
"""

# KEYS: delivery, message, schedule, retention, user usage, failed hash,
# failed index. ARGV: ticket, now, member, message id, retention seconds,
# error, delivery id, failed record, attempt.
_FAIL = _FINISH + _HOLDS_ATTEMPT + f"""
redis.call('HSET', KEYS[1], 'status', '{FAILED}', 'last_error', ARGV[6], 'updated_at', ARGV[2])
recount(KEYS[2], '{SENDING}', '{FAILED}')
finish(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4], ARGV[2], ARGV[5])
redis.call('HSET', KEYS[6], ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[7], ARGV[2], ARGV[7])
redis.call('ZADD', KEYS[4], tonumber(ARGV[2]) + tonumber(ARGV[5]), 'f:' .. ARGV[7])
return 1
"""

# Hand a failed delivery back: a fresh round of attempts under a new ticket,
# in the schedule in the same step it leaves the failed store; its message
# is open again, and counts towards its user's open deliveries. KEYS:
# delivery, message, schedule, retention, user usage, failed hash, failed
# index. ARGV: delivery id, now, moment, message id.
_RESEND = _RECOUNT + f"""
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if d[1] ~= '{FAILED}' then return 0 end
local ticket = tonumber(d[2]) + 1
redis.call('HSET', KEYS[1], 'status', '{QUEUED}', 'ticket', ticket, 'attempts', 0,
           'due', ARGV[2], 'updated_at', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1] .. '|' .. ticket)
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('ZREM', KEYS[4], 'f:' .. ARGV[1], 'm:' .. ARGV[4])
if redis.call('HEXISTS', KEYS[2], 'open') == 1 then
  redis.call('HINCRBY', KEYS[2], 'open', 1)
end
if redis.call('HEXISTS', KEYS[2], 'counted') == 1 then
  redis.call('HINCRBY', KEYS[5], 'open', 1)
end
recount(KEYS[2], '{FAILED}', '{QUEUED}')
return ticket
"""

# Hand a waiting delivery back for later (its turn under a rate limit, or
# its due time when a task came early): its entry moved and its ETA task
# queued, unless it moved on meanwhile. KEYS: delivery, schedule, queue.
# ARGV: ticket, moment, member, message.
_DEFER = lua_set("WAITING", WAITING) + """
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if not WAITING[d[1]] or tonumber(d[2]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[3])
redis.call('LPUSH', KEYS[3], ARGV[4])
return 1
"""

# Cancel what has not started. KEYS: schedule, retention, message, user
# usage, then the deliveries. ARGV: now, message id, retention seconds, then
# delivery ids.
_CANCEL = _FINISH + lua_set("CANCELLABLE", CANCELLABLE) + f"""
local cancelled = {{}}
for i = 5, #KEYS do
  local id = ARGV[i - 1]
  local d = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  if CANCELLABLE[d[1]] then
    redis.call('HSET', KEYS[i], 'status', '{CANCELLED}', 'updated_at', ARGV[1])
    recount(KEYS[3], d[1], '{CANCELLED}')
    finish(KEYS[3], KEYS[1], KEYS[2], KEYS[4], id .. '|' .. d[2], ARGV[2], ARGV[1], ARGV[3])
    table.insert(cancelled, id)
  end
end
return cancelled
"""


class DeliveryStore:
    """Messages, deliveries and their status transitions."""

    def __init__(self, redis, keys: Keys, retention_seconds: float):
        self._redis = redis
        self._keys = keys
        self._keep = retention_seconds
        self._claim = redis.register_script(_CLAIM)
        self._sent = redis.register_script(_SENT)
        self._retry = redis.register_script(_RETRY)
        self._fail = redis.register_script(_FAIL)
        self._resend = redis.register_script(_RESEND)
        self._defer = redis.register_script(_DEFER)
        self._cancel = redis.register_script(_CANCEL)

    @classmethod
    def from_config(cls, redis, keys, config):
        """The store, keeping finished records for the settings' retention period."""
        return cls(redis, keys, config.retention_days * 86400)

    def write(self, pipe, message, now: float, lane=None):
        """Queue the writes that record a new message and its deliveries (in `lane`, if not the main one)."""
        k = self._keys
        status = waiting_status(message.due, now)
        count = len(message.deliveries)
        pipe.hset(k.message(message.id), mapping={
            "sender": message.sender, "text": message.text, "time": json.dumps(message.time),
            "due": message.due, "created_at": message.created_at,
            "count": count, "open": count, "counted": 1, f"n:{status}": count,
        })
        pipe.hincrby(k.user_usage(message.sender), "open", count)
        pipe.zadd(k.user_messages(message.sender), {message.id: message.created_at})
        if not message.deliveries:
            pipe.zadd(k.retention(), {k.retention_message(message.id): now + self._keep})
        # A delivery is due when the message is, or on receipt if that is past: its
        # lateness, in the latency metric too, never counts from a date long gone.
        due = max(message.due, now)
        extra = {} if lane is None else {"lane": lane}
        for d in message.deliveries:
            pipe.hset(k.delivery(d.id), mapping={
                "message_id": message.id, "sender": message.sender, "contact": d.contact,
                "messenger": d.messenger, "to": d.to, "status": status, "attempts": 0,
                "ticket": 1, "due": due, "lease": 0, "last_error": "",
                "updated_at": now, **extra,
            })

    def claim(self, delivery_id, ticket, lease_seconds) -> Claim:
        """Take a delivery for sending for `lease_seconds`, if this ticket may send it now.

        An 'early' claim's detail is the seconds still to wait; a 'busy'
        one's, the end of the holder's lease.
        """
        k = self._keys
        reply = self._claim(
            keys=[k.delivery(delivery_id), k.message(message_id_of(delivery_id)), k.schedule()],
            args=[ticket, lease_seconds, k.schedule_member(delivery_id, ticket)],
        )
        reply += [None] * (len(Claim._fields) - len(reply))
        return Claim(*reply)

    def mark_sent(self, delivery_id, ticket, now, sender) -> bool:
        """Record a delivery of `sender`'s that the gateway accepted."""
        keys, args = self._finishing(delivery_id, ticket, sender)
        return bool(self._sent(keys=keys, args=[ticket, now, *args]))

    def mark_retrying(self, delivery_id, ticket, attempt, now, error, due, moment) -> bool:
        """Record an attempt's transient failure; the next ticket's schedule entry acts at `moment`."""
        k = self._keys
        return bool(self._retry(
            keys=[k.delivery(delivery_id), k.schedule(), k.message(message_id_of(delivery_id))],
            args=[ticket, now, due, error, k.schedule_member(delivery_id, ticket),
                  k.schedule_member(delivery_id, ticket + 1), moment, attempt],
        ))

    def mark_failed(self, delivery_id, ticket, attempt, now, error, sender, record: dict) -> bool:
        """Record a delivery whose attempt failed for good, and its failed-store record."""
        keys, args = self._finishing(delivery_id, ticket, sender)
        return bool(self._fail(
            keys=[*keys, self._keys.failed(sender), self._keys.failed_index(sender)],
            args=[ticket, now, *args, error, delivery_id, json.dumps(record), attempt],
        ))

    def defer(self, delivery_id, ticket, moment, queue, message) -> bool:
        """Hand a waiting delivery's task back for later: `message` queued, its entry at `moment`."""
        k = self._keys
        return bool(self._defer(
            keys=[k.delivery(delivery_id), k.schedule(), queue],
            args=[ticket, moment, k.schedule_member(delivery_id, ticket), message],
        ))

    def _finishing(self, delivery_id, ticket, sender):
        k = self._keys
        message_id = message_id_of(delivery_id)
        keys = [k.delivery(delivery_id), k.message(message_id), k.schedule(), k.retention(),
                k.user_usage(sender)]
        return keys, [k.schedule_member(delivery_id, ticket), message_id, self._keep]

    def resend(self, delivery_id, sender, now, moment):
        """Hand a failed delivery back to the schedule; its new ticket, or None."""
        k = self._keys
        message_id = message_id_of(delivery_id)
        ticket = self._resend(
            keys=[k.delivery(delivery_id), k.message(message_id), k.schedule(), k.retention(),
                  k.user_usage(sender), k.failed(sender), k.failed_index(sender)],
            args=[delivery_id, now, moment, message_id],
        )
        return ticket or None

    def cancel(self, message_id, sender, delivery_ids, now) -> list:
        """Cancel those of `sender`'s message's deliveries that have not started; the ids cancelled."""
        if not delivery_ids:
            return []
        k = self._keys
        keys = [k.schedule(), k.retention(), k.message(message_id), k.user_usage(sender),
                *(k.delivery(d) for d in delivery_ids)]
        return self._cancel(keys=keys, args=[now, message_id, self._keep, *delivery_ids])

    def get(self, delivery_id) -> dict:
        """A delivery's fields, or an empty dict."""
        return self._redis.hgetall(self._keys.delivery(delivery_id))

    def get_many(self, delivery_ids) -> list:
        """Several deliveries' fields, in order (empty dicts for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for d in delivery_ids:
                pipe.hgetall(self._keys.delivery(d))
            return pipe.execute()

    def heads(self, delivery_ids) -> list:
        """Several deliveries' (status, ticket, due, lease, updated_at, lane), in order (Nones for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for d in delivery_ids:
                pipe.hmget(self._keys.delivery(d), "status", "ticket", "due", "lease", "updated_at", "lane")
            return pipe.execute()

    def message(self, message_id) -> dict:
        """A message's fields, or an empty dict."""
        return self._redis.hgetall(self._keys.message(message_id))

    def message_ids_for(self, user, offset=0, limit=None) -> list:
        """The ids of a user's messages, newest first."""
        stop = -1 if limit is None else offset + limit - 1
        return self._redis.zrevrange(self._keys.user_messages(user), offset, stop)

    def open_count_for(self, user) -> int:
        """How many of a user's deliveries are not finished (those recorded since counts were kept)."""
        return int(self._redis.hget(self._keys.user_usage(user), "open") or 0)

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
