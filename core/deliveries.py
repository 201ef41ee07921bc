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

For a user with webhooks, each step also records what happened in the
events stream (delivery.sent, .delivered, .read, .failed, .suppressed and
message.completed), in the same script: no status changes without its event.
"""

import json
import math
from collections import Counter, namedtuple

from core.blocked import blocked_field
from core.keys import Keys
from core.lua import Script
from core.messages import message_id_of
from core.pacing import PACED_KEYS, TAKE_TURN
from core.statuses import (
    CANCELLABLE,
    CANCELLED,
    FAILED,
    NOT_NEEDED,
    QUEUED,
    RECEIPT_STEPS,
    RETRYING,
    SENDING,
    SENT,
    STANDBY,
    SUPPRESSED,
    WAITING,
    lua_set,
    waiting_status,
)

# step, last: its place in a fallback chain and the chain's last delivery's
# number (None outside chains); after, within: the message's fallback rule.
# text is the delivery's own (a template's rendering) or else the message's;
# parts, how many of a long text's parts the messenger has accepted; was,
# the status a 'go' claim took the delivery from.
Claim = namedtuple("Claim", "outcome detail messenger to sender contact text time attempts due lane "
                            "step last after within parts was")
# The messengers whose receipts name their own message ids (kept for them only).
RECEIPT_MESSENGERS = ("whatsapp", "viber")
# What a finishing step does to its fallback chain: the ids of its later
# steps, the action ("close": not needed; "wait": the next one starts at
# `moment` unless a delivered receipt comes first), and the moment the next
# step's schedule entry gets if it starts.
Chain = namedtuple("Chain", "later action moment", defaults=((), "", 0))
# A delivery outside any chain: nothing to close or start.
NO_CHAIN = Chain()

# emit(events key, webhook users key, user, type, message id, delivery id or
# nil, status, now): an event for the user's webhooks, if they have any.
_EMIT = """
local function emit(ekey, wkey, user, kind, mid, did, status, now)
  if redis.call('HEXISTS', wkey, user) == 0 then return end
  if did then
    redis.call('XADD', ekey, '*', 'type', kind, 'user', user, 'message_id', mid,
               'delivery_id', did, 'status', status, 'at', now)
  else
    redis.call('XADD', ekey, '*', 'type', kind, 'user', user, 'message_id', mid, 'at', now)
  end
end
"""

# recount(message key, old status, new status): the message's counts by status.
_RECOUNT = """
local function recount(mkey, old, new)
  if old ~= new and redis.call('HEXISTS', mkey, 'counted') == 1 then
    redis.call('HINCRBY', mkey, 'n:' .. old, -1)
    redis.call('HINCRBY', mkey, 'n:' .. new, 1)
  end
end
"""

# finish(message key, schedule key, retention key, user closed key, member,
# message id, now, retention seconds, events key, webhook users key, user):
# the delivery needs nobody any more.
_FINISH = _RECOUNT + _EMIT + """
local function finish(mkey, skey, rkey, ckey, member, mid, now, keep, ekey, wkey, user)
  redis.call('ZREM', skey, member)
  if redis.call('HEXISTS', mkey, 'counted') == 1 then
    redis.call('INCR', ckey)
  end
  if redis.call('HEXISTS', mkey, 'open') == 1
     and redis.call('HINCRBY', mkey, 'open', -1) <= 0 then
    redis.call('ZADD', rkey, tonumber(now) + tonumber(keep), 'm:' .. mid)
    emit(ekey, wkey, user, 'message.completed', mid, nil, nil, now)
  end
end
"""

# The blocked hash's field for a user's contact on a messenger (lengths keep
# any user and contact name apart): as BlockedIds.field builds it.
_BLOCKED_FIELD = """
local function blocked_field(messenger, user, contact)
  return messenger .. ':' .. #user .. ':' .. user .. ':' .. contact
end
"""

# A task may send only with the delivery's current ticket, from a waiting
# state and not before the delivery is due; a copy that finds another
# holder's live lease leaves it to the holder (or, if the holder dies, to
# the schedule entry at the lease's end). A lease that ran out is taken over
# as a new attempt. Due times and leases are compared with the Redis
# server's clock, the one clock every host shares: a worker whose own clock
# runs ahead is told how long to wait, and never sends early. A waiting
# delivery to a messenger ID that refused the user before is not taken:
# 'blocked' (DeliveryStore.suppress ends it). KEYS: delivery, message,
# schedule, blocked. ARGV: ticket, lease seconds, schedule member, the rate
# limits (core.pacing.encode; their keys follow from the delivery's record).
_CLAIM = _RECOUNT + _BLOCKED_FIELD + TAKE_TURN + PACED_KEYS + lua_set("WAITING", WAITING) + f"""
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket', 'lease', 'attempts', 'due',
                     'messenger', 'to', 'sender', 'contact', 'lane', 'step', 'last', 'text',
                     'parts')
if not d[1] then return {{'skip', 'missing'}} end
if tonumber(d[2]) ~= tonumber(ARGV[1]) then return {{'skip', 'stale'}} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
if d[1] == '{SENDING}' then
  if tonumber(d[3]) > now then return {{'busy', d[3]}} end
elseif WAITING[d[1]] then
  local wait = tonumber(d[5]) - now
  if wait > 0 then
    return {{'early', string.format('%.6f', wait), d[6], d[7], d[8], d[9], false, false, '0', d[5], d[10]}}
  end
  if redis.call('HGET', KEYS[4], blocked_field(d[6], d[8], d[9])) == d[7] then
    return {{'blocked', d[7], d[6], d[7], d[8], d[9], false, false, '0', d[5], d[10], d[11], d[12]}}
  end
else
  return {{'skip', d[1]}}
end
-- Under its messenger's limits, the send takes its turn here: at once, or
-- after a wait the lease covers, or the delivery comes back at its place.
local wait = 0
if ARGV[4] ~= '' then
  local pacing = cjson.decode(ARGV[4])
  local keys, interval = paced_keys(pacing, d[6], d[7])
  if #keys > 0 then
    local go
    go, wait = take_turn(keys, now, pacing.linger, ARGV[3], d[8], interval, false)
    if not go then
      return {{'throttled', string.format('%.6f', wait), d[6], d[7], d[8], d[9], false, false, '0', d[5],
              d[10]}}
    end
  end
end
local attempts = tonumber(d[4]) + 1
local lease = string.format('%.6f', now + wait + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'status', '{SENDING}', 'lease', lease,
           'attempts', attempts, 'updated_at', string.format('%.6f', now))
redis.call('ZADD', KEYS[3], lease, ARGV[3])
recount(KEYS[2], d[1], '{SENDING}')
local m = redis.call('HMGET', KEYS[2], 'text', 'time', 'fallback_after', 'fallback_within')
return {{'go', string.format('%.6f', wait), d[6], d[7], d[8], d[9], d[13] or m[1], m[2],
        tostring(attempts), d[5], d[10], d[11], d[12], m[3], m[4], d[14] or '0', d[1]}}
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

# The finishing steps' first KEYS: delivery, message, schedule, retention,
# user closed, events, webhook users; and ARGV: ticket, now, member, message
# id, retention seconds, user, delivery id.
_FINISHING = """
local function finish_this(old, status)
  recount(KEYS[2], old, status)
  emit(KEYS[6], KEYS[7], ARGV[6], 'delivery.' .. status, ARGV[4], ARGV[7], status, ARGV[2])
  finish(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4], ARGV[2], ARGV[5], KEYS[6], KEYS[7], ARGV[6])
end
"""

# A fallback chain's later steps, given as KEYS from some index on, with
# the finishing steps' KEYS 2-7 (message, schedule, retention, user closed,
# events, webhook users). A step on standby has no schedule entry unless it
# waits for the step before it to be delivered.
_CHAIN = f"""
local function id_of(key)
  return string.match(key, 'dlv:([^:]+)$')
end
-- The later steps from KEYS[first] on that are still on standby: not needed.
local function close_chain(first, now, user, mid, keep)
  for i = first, #KEYS do
    local s = redis.call('HMGET', KEYS[i], 'status', 'ticket')
    if s[1] == '{STANDBY}' then
      redis.call('HSET', KEYS[i], 'status', '{NOT_NEEDED}', 'updated_at', now)
      recount(KEYS[2], '{STANDBY}', '{NOT_NEEDED}')
      finish(KEYS[2], KEYS[3], KEYS[4], KEYS[5], id_of(KEYS[i]) .. '|' .. s[2], mid, now, keep,
             KEYS[6], KEYS[7], user)
    end
  end
end
-- The next step, KEYS[i], if on standby: queued, due now, its entry at `moment`; 1 if so.
local function activate(i, now, moment)
  if not KEYS[i] then return 0 end
  local s = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  if s[1] ~= '{STANDBY}' then return 0 end
  redis.call('HSET', KEYS[i], 'status', '{QUEUED}', 'due', now, 'updated_at', now)
  redis.call('ZADD', KEYS[3], moment, id_of(KEYS[i]) .. '|' .. s[2])
  recount(KEYS[2], '{STANDBY}', '{QUEUED}')
  return 1
end
-- The next step, KEYS[i], if on standby, starts at `moment` unless a receipt closes the chain first.
local function wait_for_receipt(i, moment)
  if not KEYS[i] then return end
  local s = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  if s[1] == '{STANDBY}' then
    redis.call('ZADD', KEYS[3], moment, id_of(KEYS[i]) .. '|' .. s[2])
  end
end
"""

# Sent; for a messenger with receipts, its own id of the message kept, and
# found from it for the retention period. In a chain, the later steps are
# not needed ('close'), or the next waits for this one's receipt until a
# moment ('wait'). KEYS: the finishing ones, the provider id's key, the
# chain's later steps. ARGV: the finishing ones, provider id ('' for none),
# seconds to keep it, the chain's action ('' outside chains), the moment.
_SENT = _FINISH + _FINISHING + _CHAIN + _HOLDS + f"""
redis.call('HSET', KEYS[1], 'status', '{SENT}', 'updated_at', ARGV[2], 'sent_at', ARGV[2])
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'provider_id', ARGV[8])
  redis.call('SET', KEYS[8], ARGV[7], 'EX', ARGV[9])
end
if ARGV[10] == 'close' then
  close_chain(9, ARGV[2], ARGV[6], ARGV[4], ARGV[5])
elseif ARGV[10] == 'wait' then
  wait_for_receipt(9, ARGV[11])
end
finish_this(d[1], '{SENT}')
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

# Failed for good, with its failed-store record; when the answer means the
# person refuses the user's messages, that messenger ID of the contact is
# marked blocked. A chain's next step starts instead of a failed record
# (2 is returned then). KEYS: the finishing ones, failed hash, failed index,
# blocked, the chain's next step. ARGV: the finishing ones, error, failed
# record, blocked field ('' for none), the ID, the next step's moment,
# attempt.
_FAIL = _FINISH + _FINISHING + _CHAIN + _HOLDS_ATTEMPT + f"""
redis.call('HSET', KEYS[1], 'status', '{FAILED}', 'last_error', ARGV[8], 'updated_at', ARGV[2])
local handed = activate(11, ARGV[2], ARGV[12])
if handed == 0 then
  redis.call('HSET', KEYS[8], ARGV[7], ARGV[9])
  redis.call('ZADD', KEYS[9], ARGV[2], ARGV[7])
  redis.call('ZADD', KEYS[4], tonumber(ARGV[2]) + tonumber(ARGV[5]), 'f:' .. ARGV[7])
end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[10], ARGV[10], ARGV[11]) end
finish_this(d[1], '{FAILED}')
return 1 + handed
"""

# A waiting delivery to a blocked messenger ID ends suppressed, unsent; a
# chain's next step starts (2 is returned then). KEYS: the finishing ones,
# the chain's next step. ARGV: the finishing ones, error, the next step's
# moment.
_SUPPRESS = _FINISH + _FINISHING + _CHAIN + lua_set("WAITING", WAITING) + f"""
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if not WAITING[d[1]] or tonumber(d[2]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'status', '{SUPPRESSED}', 'last_error', ARGV[8], 'updated_at', ARGV[2])
local handed = activate(8, ARGV[2], ARGV[9])
finish_this(d[1], '{SUPPRESSED}')
return 1 + handed
"""

# Not sent because the person turned the bot away at this very send (a
# Telegram block the answer told of): suppressed like the deliveries after
# it, with no failed-store record (sent again, it would be suppressed), and
# the contact opted out there until the person comes back. A chain's next
# step starts (2 is returned then). KEYS: the finishing ones, blocked,
# opted out, the chain's next step. ARGV: the finishing ones, error, blocked
# field, the ID, the next step's moment, attempt.
_OPTED_OUT = _FINISH + _FINISHING + _CHAIN + _HOLDS_ATTEMPT + f"""
redis.call('HSET', KEYS[1], 'status', '{SUPPRESSED}', 'last_error', ARGV[8], 'updated_at', ARGV[2])
redis.call('HSET', KEYS[8], ARGV[9], ARGV[10])
redis.call('HSET', KEYS[9], ARGV[9], ARGV[10])
local handed = activate(10, ARGV[2], ARGV[11])
finish_this(d[1], '{SUPPRESSED}')
return 1 + handed
"""

# A chain step whose entry came while on standby (its step before was sent
# but got no delivered receipt in time): it starts now (a step on standby
# keeps its first ticket). KEYS: delivery, message, schedule. ARGV: ticket,
# now, moment.
_ACTIVATE = _FINISH + _CHAIN + """
return activate(1, ARGV[2], ARGV[3])
"""

# A messenger's receipt moves a finished delivery on, never back
# (RECEIPT_STEPS). In a chain, delivered or read makes the later steps not
# needed, and a late failure starts the next step (2 is returned then);
# otherwise a late failure gets a failed-store record. KEYS: delivery,
# message, schedule, retention, user closed, events, webhook users, failed
# hash, failed index, the chain's later steps. ARGV: new status, now,
# delivery id, the receipt's time, failed record ('' unless failed), error,
# retention seconds, the next step's moment, the provider id it names. A
# receipt for an id the delivery no longer holds (one of a send before a
# resend) changes nothing.
_RECEIPT = _FINISH + _CHAIN + "local STEPS = {" + ", ".join(
    f"{new} = {{{', '.join(f'{old} = true' for old in olds)}}}" for new, olds in RECEIPT_STEPS.items()
) + "}\n" + f"""
local d = redis.call('HMGET', KEYS[1], 'status', 'sender', 'message_id', 'provider_id')
local from = STEPS[ARGV[1]]
if not d[1] or not from or not from[d[1]] or d[4] ~= ARGV[9] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2], ARGV[1] .. '_at', ARGV[4])
local handed = 0
if ARGV[1] == '{FAILED}' then
  redis.call('HSET', KEYS[1], 'last_error', ARGV[6])
  handed = activate(10, ARGV[2], ARGV[8])
  if handed == 0 then
    redis.call('HSET', KEYS[8], ARGV[3], ARGV[5])
    redis.call('ZADD', KEYS[9], ARGV[2], ARGV[3])
    redis.call('ZADD', KEYS[4], tonumber(ARGV[2]) + tonumber(ARGV[7]), 'f:' .. ARGV[3])
  end
else
  close_chain(10, ARGV[2], d[2], d[3], ARGV[7])
end
recount(KEYS[2], d[1], ARGV[1])
emit(KEYS[6], KEYS[7], d[2], 'delivery.' .. ARGV[1], d[3], ARGV[3], ARGV[1], ARGV[2])
return 1 + handed
"""

# Hand a failed delivery back: a fresh round of attempts under a new ticket,
# in the schedule in the same step it leaves the failed store; its message
# is open again, and counts towards its user's open deliveries. A long
# text goes again whole, from its first part: a failed receipt may have
# come after every part was accepted (a retry within a round, instead,
# resumes at the first part not accepted). The messenger's id of the
# message sent before is dropped with its receipts' times: receipts for it
# no longer apply. KEYS:
# delivery, message, schedule, retention, user usage, failed hash, failed
# index. ARGV: delivery id, now, moment, message id.
_RESEND = _RECOUNT + f"""
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if d[1] ~= '{FAILED}' then return 0 end
local ticket = tonumber(d[2]) + 1
redis.call('HSET', KEYS[1], 'status', '{QUEUED}', 'ticket', ticket, 'attempts', 0,
           'due', ARGV[2], 'updated_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'parts', 'provider_id', 'delivered_at', 'read_at')
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
# closed, events, webhook users, then the deliveries. ARGV: now, message id,
# retention seconds, user, then delivery ids.
_CANCEL = _FINISH + lua_set("CANCELLABLE", CANCELLABLE) + f"""
local cancelled = {{}}
for i = 7, #KEYS do
  local id = ARGV[i - 2]
  local d = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  if CANCELLABLE[d[1]] then
    redis.call('HSET', KEYS[i], 'status', '{CANCELLED}', 'updated_at', ARGV[1])
    recount(KEYS[3], d[1], '{CANCELLED}')
    finish(KEYS[3], KEYS[1], KEYS[2], KEYS[4], id .. '|' .. d[2], ARGV[2], ARGV[1], ARGV[3],
           KEYS[5], KEYS[6], ARGV[4])
    table.insert(cancelled, id)
  end
end
return cancelled
"""


def open_count(reader, keys, user) -> int:
    """A user's unfinished deliveries: opened less closed, read through `reader` (a client or a watching pipeline).

    Closed is read first: finishes in between only make the count higher than
    it is, never lower.
    """
    closed = int(reader.get(keys.user_closed(user)) or 0)
    return int(reader.hget(keys.user_usage(user), "open") or 0) - closed


class DeliveryStore:
    """Messages, deliveries and their status transitions."""

    def __init__(self, redis, keys: Keys, retention_seconds: float):
        self._redis = redis
        self._keys = keys
        self._keep = retention_seconds
        self._claim = Script(redis, _CLAIM)
        self._sent = Script(redis, _SENT)
        self._retry = Script(redis, _RETRY)
        self._fail = Script(redis, _FAIL)
        self._suppress = Script(redis, _SUPPRESS)
        self._opted_out = Script(redis, _OPTED_OUT)
        self._activate = Script(redis, _ACTIVATE)
        self._receipt = Script(redis, _RECEIPT)
        self._resend = Script(redis, _RESEND)
        self._defer = Script(redis, _DEFER)
        self._cancel = Script(redis, _CANCEL)

    @classmethod
    def from_config(cls, redis, keys, config):
        """The store, keeping finished records for the settings' retention period."""
        return cls(redis, keys, config.retention_days * 86400)

    def write(self, pipe, message, now: float, lane=None):
        """Queue the writes that record a new message and its deliveries (in `lane`, if not the main one)."""
        k = self._keys
        # A delivery is due when the message (or its own time) is, or on
        # receipt if that is past: its lateness, in the latency metric too,
        # never counts from a date long gone.
        dues = [max(message.due if d.due is None else d.due, now) for d in message.deliveries]
        statuses = [STANDBY if d.waits else waiting_status(due, now)
                    for d, due in zip(message.deliveries, dues, strict=True)]
        count = len(message.deliveries)
        counts = {f"n:{s}": n for s, n in Counter(statuses).items()}
        chain = {}
        if message.fallback:
            chain = dict(zip(("fallback_after", "fallback_within"), message.fallback, strict=True))
        pipe.hset(k.message(message.id), mapping={
            "sender": message.sender, "text": message.text, "time": json.dumps(message.time),
            "due": message.due, "created_at": message.created_at,
            "count": count, "open": count, "counted": 1, **counts, **chain, **message.asked,
        })
        pipe.hincrby(k.user_usage(message.sender), "open", count)
        pipe.zadd(k.user_messages(message.sender), {message.id: message.created_at})
        if not message.deliveries:
            pipe.zadd(k.retention(), {k.retention_message(message.id): now + self._keep})
        extra = {} if lane is None else {"lane": lane}
        for d, due, status in zip(message.deliveries, dues, statuses, strict=True):
            own = {"step": d.step, "last": d.last} if d.step else {}
            if d.text is not None:
                own["text"] = d.text
            if d.whatsapp_template is not None:
                own["whatsapp_template"] = d.whatsapp_template
            pipe.hset(k.delivery(d.id), mapping={
                "message_id": message.id, "sender": message.sender, "contact": d.contact,
                "messenger": d.messenger, "to": d.to, "status": status,
                "attempts": 0, "ticket": 1, "due": due, "due_at": due, "lease": 0, "last_error": "",
                "updated_at": now, **extra, **own,
            })

    def claim(self, delivery_id, ticket, lease_seconds, pacing="") -> Claim:
        """Take a delivery for sending for `lease_seconds`, if this ticket may send it now.

        `pacing` (workers.ratelimit.RateLimiter.pacing): the rate limits,
        under which the claim also takes the send's turn. A 'go' claim's
        detail is the seconds to wait for that turn (the lease begins after
        it); a 'throttled' one's, the seconds until its booked place, for
        which it is to be handed back unclaimed. An 'early' claim's detail
        is the seconds until it is due (to be handed back for as long, as
        a throttled one); a 'busy' one's, the end of the
        holder's lease; a 'blocked' one's, the messenger ID that refused
        the sender (see suppress).
        """
        k = self._keys
        reply = self._claim(
            keys=[k.delivery(delivery_id), k.message(message_id_of(delivery_id)), k.schedule(),
                  k.blocked()],
            args=[ticket, lease_seconds, k.schedule_member(delivery_id, ticket), pacing],
        )
        reply += [None] * (len(Claim._fields) - len(reply))
        return Claim(*reply)

    def mark_sent(self, delivery_id, ticket, now, sender, messenger=None, provider_id=None,
                  chain=NO_CHAIN) -> bool:
        """Record a delivery of `sender`'s that the gateway accepted (as `provider_id`, if it said).

        A chain step's later steps are not needed (`chain.action` "close"),
        or the next one starts at `chain.moment` unless this one's delivered
        receipt comes first ("wait").
        """
        keys, args = self._finishing(delivery_id, ticket, sender)
        kept = provider_id if provider_id and messenger in RECEIPT_MESSENGERS else ""
        return bool(self._sent(
            keys=[*keys, self._keys.provider_message(messenger, kept), *self._steps(chain.later)],
            args=[ticket, now, *args, kept, math.ceil(self._keep), chain.action, chain.moment],
        ))

    def mark_retrying(self, delivery_id, ticket, attempt, now, error, due, moment) -> bool:
        """Record an attempt's transient failure; the next ticket's schedule entry acts at `moment`."""
        k = self._keys
        return bool(self._retry(
            keys=[k.delivery(delivery_id), k.schedule(), k.message(message_id_of(delivery_id))],
            args=[ticket, now, due, error, k.schedule_member(delivery_id, ticket),
                  k.schedule_member(delivery_id, ticket + 1), moment, attempt],
        ))

    def mark_failed(self, delivery_id, ticket, attempt, now, error, sender, record: dict,
                    blocked_id=None, chain=NO_CHAIN) -> int:
        """Record a delivery whose attempt failed for good: 0 if this ticket no longer held it.

        `blocked_id`: the messenger ID whose answer means the person refuses
        the sender's messages; later deliveries to it are suppressed. 1: its
        failed-store record written; 2: instead, its chain's next step
        started, due now, its schedule entry at `chain.moment`.
        """
        keys, args = self._finishing(delivery_id, ticket, sender)
        field = "" if blocked_id is None else blocked_field(record["messenger"], sender, record["contact"])
        return self._fail(
            keys=[*keys, self._keys.failed(sender), self._keys.failed_index(sender),
                  self._keys.blocked(), *self._steps(chain.later[:1])],
            args=[ticket, now, *args, error, json.dumps(record), field, blocked_id or "",
                  chain.moment, attempt],
        )

    def suppress(self, delivery_id, ticket, now, sender, error, chain=NO_CHAIN) -> int:
        """End a waiting delivery to a blocked messenger ID, unsent (2: its chain's next step started)."""
        keys, args = self._finishing(delivery_id, ticket, sender)
        return self._suppress(keys=[*keys, *self._steps(chain.later[:1])],
                              args=[ticket, now, *args, error, chain.moment])

    def mark_opted_out(self, delivery_id, ticket, attempt, now, error, sender, messenger, contact, to,
                       chain=NO_CHAIN) -> int:
        """End a delivery the person refused at its send: suppressed, `to` opted out (2: next step started)."""
        keys, args = self._finishing(delivery_id, ticket, sender)
        return self._opted_out(
            keys=[*keys, self._keys.blocked(), self._keys.opted_out(), *self._steps(chain.later[:1])],
            args=[ticket, now, *args, error, blocked_field(messenger, sender, contact), to, chain.moment, attempt],
        )

    def activate(self, delivery_id, ticket, now, moment) -> bool:
        """Start a chain step on standby whose wait for the step before it's receipt ran out."""
        k = self._keys
        return bool(self._activate(
            keys=[k.delivery(delivery_id), k.message(message_id_of(delivery_id)), k.schedule()],
            args=[ticket, now, moment],
        ))

    def apply_receipt(self, delivery_id, fields, provider_id, status, now, at, error="", record=None,
                      chain=NO_CHAIN) -> int:
        """Move a delivery (its `fields`) on to a receipt's status: 0 if that would go back.

        0 too if the delivery no longer holds `provider_id`, the messenger's
        id the receipt names (it was sent again since).

        In a chain, delivered or read makes the later steps not needed; a
        late failure starts the next one instead of a failed record (2).
        """
        k = self._keys
        sender = fields["sender"]
        return self._receipt(
            keys=[k.delivery(delivery_id), k.message(fields["message_id"]), k.schedule(),
                  k.retention(), k.user_closed(sender), k.events(), k.webhook_users(),
                  k.failed(sender), k.failed_index(sender), *self._steps(chain.later)],
            args=[status, now, delivery_id, at, json.dumps(record) if record else "", error,
                  self._keep, chain.moment, provider_id],
        )

    def _steps(self, delivery_ids) -> list:
        return [self._keys.delivery(d) for d in delivery_ids]

    def by_provider_id(self, messenger, provider_id):
        """The id of the delivery a messenger's own message id belongs to, or None."""
        return self._redis.get(self._keys.provider_message(messenger, provider_id))

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
                k.user_closed(sender), k.events(), k.webhook_users()]
        return keys, [k.schedule_member(delivery_id, ticket), message_id, self._keep, sender,
                      delivery_id]

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
        keys = [k.schedule(), k.retention(), k.message(message_id), k.user_closed(sender),
                k.events(), k.webhook_users(), *(k.delivery(d) for d in delivery_ids)]
        return self._cancel(keys=keys, args=[now, message_id, self._keep, sender, *delivery_ids])

    def get(self, delivery_id) -> dict:
        """A delivery's fields, or an empty dict."""
        return self._redis.hgetall(self._keys.delivery(delivery_id))

    def whatsapp_template(self, delivery_id):
        """The WhatsApp template a delivery goes as outside the 24-hour window ({name, language, params}), or None."""
        kept = self._redis.hget(self._keys.delivery(delivery_id), "whatsapp_template")
        return None if kept is None else json.loads(kept)

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
        return open_count(self._redis, self._keys, user)

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
