"""Per-messenger rate limits, shared by every worker process through Redis.

Each limit is a GCRA pacer (a token bucket holding one token): a send may go
once `interval` has passed since the previous one, so no 1-second window ever
holds more than the rate. A delivery whose turn is near waits for it in place.
One whose turn is further off books the next free place in line and is handed
back to Celery until then: delayed, never failed, and with no attempt used up.
A crowd of deliveries thus comes back spread out, one per place, rather than
all at once. A booked delivery back for its place goes before any newcomer of
its user; one back too late for it books a new place at the end of the line.

Each user has a line of their own, so one user's fan-out, booked minutes
ahead, never holds back another user's message: that one goes at the next
free send. While several users have deliveries booked, each books places
spaced by the interval times the number of such users, so the limit is
shared among them in about equal parts, however much each has waiting.
"""

import logging
import time
from collections import namedtuple

from core.config import MESSENGERS
from core.dispatch import Job
from core.logs import log_event
from core.lua import Script
from core.statuses import WAITING

log = logging.getLogger("workers.ratelimit")

Turn = namedtuple("Turn", "go wait")

# Per limit i, KEYS[3i-2]: its pacing hash (tat: when the next send may go;
# holder: who took the last turn); KEYS[3i-1]: its bookings, holders scored
# by their place; KEYS[3i]: its users' lines, each user scored by the end of
# their line. ARGV: the longest wait taken in place, who asks
# (delivery|ticket), for whom (the user), then each limit's seconds between
# sends. Returns {1, wait}: go in `wait` seconds; {0, wait}: come back then.
# Redis's clock, so workers on several hosts agree.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local linger, holder, user = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local n = #KEYS / 3
local tat, line, interval = {}, {}, {}
local copy, booked = true, true
for i = 1, n do
  local v = redis.call('HMGET', KEYS[3 * i - 2], 'tat', 'holder')
  tat[i] = tonumber(v[1]) or 0
  line[i] = tonumber(redis.call('ZSCORE', KEYS[3 * i], user)) or 0
  interval[i] = tonumber(ARGV[i + 3])
  copy = copy and v[2] == holder
  booked = booked and redis.call('ZSCORE', KEYS[3 * i - 1], holder) ~= false
end
-- A copy of the task that took the last turn shares that turn (the claim
-- lets only one of them send) rather than booking one nobody will use.
if copy then
  local turn = now
  for i = 1, n do turn = math.max(turn, tat[i] - interval[i]) end
  return {1, tostring(turn - now)}
end
-- The next free send; a newcomer also waits behind its user's bookings.
local turn = now
for i = 1, n do
  turn = math.max(turn, tat[i])
  if not booked then turn = math.max(turn, line[i]) end
end
local go = turn - now <= linger
if not go then
  for i = 1, n do turn = math.max(turn, line[i]) end
end
for i = 1, n do
  local pacing, bookings, lines = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  redis.call('ZREMRANGEBYSCORE', lines, '-inf', now)
  if go then
    tat[i] = turn + interval[i]
    redis.call('HSET', pacing, 'holder', holder)
    redis.call('ZREM', bookings, holder)
  else
    -- Spaced so that every user with bookings gets an equal share.
    local users = redis.call('ZCARD', lines)
    if line[i] <= now then users = users + 1 end
    local place = math.max(now, tat[i], line[i])
    redis.call('ZADD', lines, place + interval[i] * users, user)
    redis.call('ZADD', bookings, place, holder)
  end
  redis.call('HSET', pacing, 'tat', tat[i])
  -- Forget bookings whose holder never came back (cancelled, say).
  redis.call('ZREMRANGEBYSCORE', bookings, '-inf', now - 60)
  local last = redis.call('ZRANGE', lines, -1, -1, 'WITHSCORES')[2]
  local until_ = math.max(tat[i], tonumber(last) or 0, now)
  local ttl = math.ceil((until_ - now) * 1000) + 1000
  redis.call('PEXPIRE', pacing, ttl)
  redis.call('PEXPIRE', lines, ttl)
  redis.call('PEXPIRE', bookings, ttl + 60000)
end
return {go and 1 or 0, tostring(turn - now)}
"""


class RateLimiter:
    """Paces each messenger's sends overall and per chat, across all workers."""

    def __init__(self, redis, keys, limits: dict, headroom=0.0, linger=0.25):
        self._keys = keys
        self._take = Script(redis, _TAKE)
        self._linger = linger
        # Seconds between sends: (overall, per chat), None where unlimited.
        self._intervals = {
            messenger: tuple(
                1.0 / (rate * (1.0 - headroom)) if rate > 0 else None for rate in rates
            )
            for messenger, rates in limits.items()
        }

    @classmethod
    def from_config(cls, redis, keys, config):
        """A limiter with the rates, headroom and linger of the settings."""
        limits = {
            m: (getattr(config, f"{m}_rate"), getattr(config, f"{m}_chat_rate"))
            for m in MESSENGERS
        }
        return cls(redis, keys, limits, config.rate_limit_headroom, config.rate_limit_linger)

    @property
    def enabled(self) -> bool:
        """Whether any messenger has a limit at all."""
        return any(i is not None for pair in self._intervals.values() for i in pair)

    def take(self, messenger, chat, holder, user) -> Turn:
        """A turn for `holder`, one of `user`'s deliveries, to send to a chat: go after `wait` s, or come back then."""
        overall, per_chat = self._intervals.get(messenger, (None, None))
        keys, intervals = [], []
        for scope, interval in ((None, overall), (chat, per_chat)):
            if interval is not None:
                keys += [self._keys.rate_limit(messenger, scope),
                         self._keys.rate_limit_line(messenger, scope),
                         self._keys.rate_limit_users(messenger, scope)]
                intervals.append(interval)
        if not keys:
            return Turn(True, 0.0)
        go, wait = self._take(keys=keys, args=[self._linger, holder, user, *intervals])
        return Turn(bool(go), max(0.0, float(wait)))


def await_turn(ctx, delivery_id, ticket):
    """Wait for a delivery's turn under its messenger's limits.

    None when it may go on; else the seconds it was handed back for.
    """
    if not ctx.limiter.enabled:
        return None
    fields = ctx.deliveries.get(delivery_id)
    # Only a ticket that may send takes a turn: duplicates and finished
    # deliveries go on to the claim, which turns them away.
    if fields.get("status") not in WAITING or int(fields.get("ticket", 0)) != ticket:
        return None
    turn = ctx.limiter.take(fields["messenger"], fields["to"], f"{delivery_id}|{ticket}",
                            fields["sender"])
    if turn.go:
        if turn.wait:
            time.sleep(turn.wait)
        return None
    job = Job(delivery_id, ticket, time.time() + turn.wait, (fields["messenger"], fields["contact"]),
              fields.get("lane"))
    ctx.dispatcher.defer(ctx.deliveries, job)
    log_event(log, "delivery.throttled", delivery_id=delivery_id, ticket=ticket,
              messenger=fields["messenger"], wait=round(turn.wait, 3))
    return turn.wait
