"""Webhook posts in Redis: one per (event, webhook), in a schedule of their own, sent under a lease.

A post's id is its event's id and its webhook's id, so an event fanned out
twice (a relay that died before it acknowledged the event) makes no post
twice. The schedule (Keys.webhook_schedule) scores each post by when
someone must act on it: when due, the scheduler hands it to Celery and
moves it to the end of a lease; a worker that claims it moves it to the end
of its own lease, and when done drops it or moves it to its next attempt.
So a post whose worker died is handed over again once the lease ends, and
one whose worker still sends it never is: an attempt ends within
WEBHOOK_TIMEOUT, and the lease lasts CLAIM_MARGIN longer.

One user's posts handed over or being sent (Keys.webhook_flight) are at
most WEBHOOK_USER_CONCURRENCY: the user's next due posts wait aside
(Keys.webhook_waiting) and each post that ends lets the next one in. A
user's pending posts are counted per user and per webhook
(Keys.webhook_load), and none is recorded past MAX_PENDING_POSTS or
MAX_PENDING_POSTS_PER_WEBHOOK.
"""

import json
from collections import namedtuple

from core.keys import Keys
from core.lua import Script

# The Celery task that makes one attempt at one post (workers/tasks.py), and its queue.
WEBHOOK_TASK = "workers.post_webhook"
WEBHOOK_QUEUE = "webhooks"

# outcome: go, skip (no such post), early (its next attempt is not due),
# busy (another worker holds it) or full (its user's posts in flight are at
# the bound); the rest only with go.
Claim = namedtuple("Claim", "outcome attempt user webhook_id event_id type body at",
                   defaults=(None,) * 7)

# What became of each post `add` was given, by the code its script returns.
ADDED, EXISTS, USER_FULL, WEBHOOK_FULL = "added", "exists", "user_full", "webhook_full"
ADD_OUTCOMES = (None, ADDED, EXISTS, USER_FULL, WEBHOOK_FULL)

# Lua shared by the scripts below: a pending count down by one (gone at
# zero), and a user's next waiting post made due now.
_HELPERS = """
local function release(load, field)
  if redis.call('HINCRBY', load, field, -1) <= 0 then redis.call('HDEL', load, field) end
end
local function wake(waiting, schedule, now)
  local next = redis.call('ZPOPMIN', waiting)
  if next[1] then redis.call('ZADD', schedule, now, next[1]) end
end
"""

# Record an event's posts, each unless the user's or its webhook's pending
# posts are at their cap; with a stream entry, only if this call is the one
# that acknowledges it (and then the entry goes). KEYS: events, schedule,
# the user's load, then each post's hash. ARGV: group, entry id or '',
# user, event id, type, event time, due, user's cap, webhook's cap, '1' to
# count refused posts as dropped, then (post id, webhook id, body) per
# post. Returns 0 for an entry already acknowledged, else 1 and a code
# (ADD_OUTCOMES) per post.
_ADD = """
if ARGV[2] ~= '' then
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {0} end
  redis.call('XDEL', KEYS[1], ARGV[2])
end
local outcomes = {1}
local pending = tonumber(redis.call('HGET', KEYS[3], 'pending') or '0')
for i = 4, #KEYS do
  local j = 11 + (i - 4) * 3
  local webhook = ARGV[j + 1]
  local outcome = 1
  if redis.call('EXISTS', KEYS[i]) == 1 then
    outcome = 2
  elseif pending >= tonumber(ARGV[8]) then
    outcome = 3
  elseif tonumber(redis.call('HGET', KEYS[3], 'pending:' .. webhook) or '0') >= tonumber(ARGV[9]) then
    outcome = 4
  else
    redis.call('HSET', KEYS[i], 'user', ARGV[3], 'event', ARGV[4], 'type', ARGV[5], 'at', ARGV[6],
               'webhook', webhook, 'body', ARGV[j + 2], 'due', ARGV[7], 'lease', 0, 'attempts', 0)
    redis.call('ZADD', KEYS[2], ARGV[7], ARGV[j])
    redis.call('HINCRBY', KEYS[3], 'pending', 1)
    redis.call('HINCRBY', KEYS[3], 'pending:' .. webhook, 1)
    pending = pending + 1
  end
  if outcome > 2 and ARGV[10] == '1' then
    redis.call('HINCRBY', KEYS[3], 'dropped:' .. webhook, 1)
  end
  outcomes[#outcomes + 1] = outcome
end
return outcomes
"""

# Hand due posts over: each still as read goes to the queue and into its
# user's flight until the lease's end, if the user has room; else it waits
# aside until a post of theirs ends. KEYS: schedule, queue, then (the
# user's flight, the user's waiting posts) per post. ARGV: now, bound, then
# (post id, score as read, lease end, task message) per post. Returns how
# many went.
_HAND_OVER = _HELPERS + """
local now, bound, pushed = ARGV[1], tonumber(ARGV[2]), 0
local k = 3
for i = 3, #ARGV, 4 do
  local flight, waiting = KEYS[k], KEYS[k + 1]
  k = k + 2
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREMRANGEBYSCORE', flight, '-inf', now)
    if redis.call('ZCARD', flight) < bound then
      redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i])
      redis.call('ZADD', flight, ARGV[i + 2], ARGV[i])
      redis.call('LPUSH', KEYS[2], ARGV[i + 3])
      pushed = pushed + 1
      -- Room left: a post that waited is due too (none is left waiting
      -- should a wake-up have been lost).
      if redis.call('ZCARD', flight) < bound then wake(waiting, KEYS[1], now) end
    else
      redis.call('ZREM', KEYS[1], ARGV[i])
      redis.call('ZADD', waiting, score, ARGV[i])
    end
  end
end
return pushed
"""

# Due, not held by a live lease, and its user's posts in flight below the
# bound (or it among them): take it for lease seconds (Redis's clock, which
# every host shares). KEYS: post, schedule, the user's flight, the user's
# waiting posts. ARGV: lease seconds, post id, bound.
_CLAIM = """
local p = redis.call('HMGET', KEYS[1], 'due', 'lease', 'attempts')
if not p[1] then return {'skip'} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
if tonumber(p[1]) > now then return {'early'} end
if tonumber(p[2]) > now then return {'busy'} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if not redis.call('ZSCORE', KEYS[3], ARGV[2]) and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then
  return {'full'}
end
local attempt = tonumber(p[3]) + 1
local lease = string.format('%.6f', now + tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'lease', lease, 'attempts', attempt)
redis.call('ZADD', KEYS[2], lease, ARGV[2])
redis.call('ZADD', KEYS[3], lease, ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'user', 'webhook', 'event', 'type', 'body', 'at')
return {'go', tostring(attempt), f[1], f[2], f[3], f[4], f[5], f[6]}
"""

# What an attempt came to, if its lease was not taken over: the post done
# (next due '') or due again, its place in flight given to the user's next
# waiting post, and the attempt logged while the webhook exists. KEYS:
# post, schedule, attempt log, the user's webhooks, the user's flight,
# waiting posts and load. ARGV: post id, attempt, next due or '', log
# record, records kept, webhook id.
_RECORD = _HELPERS + """
local attempts = redis.call('HGET', KEYS[1], 'attempts')
if not attempts or tonumber(attempts) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  release(KEYS[7], 'pending')
  release(KEYS[7], 'pending:' .. ARGV[6])
else
  redis.call('HSET', KEYS[1], 'due', ARGV[3], 'lease', 0)
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
redis.call('ZREM', KEYS[5], ARGV[1])
local clock = redis.call('TIME')
wake(KEYS[6], KEYS[2], clock[1] .. '.' .. string.format('%06d', tonumber(clock[2])))
if redis.call('HEXISTS', KEYS[4], ARGV[6]) == 1 then
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
end
return 1
"""

# Forget a post, its place in flight given to the user's next waiting post.
# KEYS: post, schedule, the user's flight, waiting posts and load. ARGV:
# post id, webhook id.
_DROP = _HELPERS + """
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
release(KEYS[5], 'pending')
release(KEYS[5], 'pending:' .. ARGV[2])
if redis.call('ZREM', KEYS[3], ARGV[1]) == 1 then
  local clock = redis.call('TIME')
  wake(KEYS[4], KEYS[2], clock[1] .. '.' .. string.format('%06d', tonumber(clock[2])))
end
return 1
"""


def lease_seconds(config) -> float:
    """Seconds a worker holds a post it sends: longer than an attempt may take (WEBHOOK_TIMEOUT), by CLAIM_MARGIN."""
    return config.webhook_timeout + config.claim_margin


def post_id_of(event_id, webhook_id) -> str:
    """The id of an event's post to one webhook."""
    return f"{event_id}.{webhook_id}"


def caps_of(config) -> tuple:
    """The pending posts a user, and one webhook, may have: (MAX_PENDING_POSTS, MAX_PENDING_POSTS_PER_WEBHOOK)."""
    return config.max_pending_posts, config.max_pending_posts_per_webhook


class PostStore:
    """Webhook posts, their schedule, and their claims."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._add = Script(redis, _ADD)
        self._hand_over = Script(redis, _HAND_OVER)
        self._claim = Script(redis, _CLAIM)
        self._record = Script(redis, _RECORD)
        self._drop = Script(redis, _DROP)

    def add(self, event, posts, due, caps, entry=("", ""), count_drops=False) -> dict | None:
        """Record an event's posts, {webhook id: body}, due at `due`; what became of each, by webhook id.

        `event` is (user, event id, type, event time); `caps` the pending
        posts the user and each webhook may have (caps_of); past either, a
        post is not recorded (USER_FULL, WEBHOOK_FULL), and with
        `count_drops` counted as dropped on its webhook. `entry` is the
        stream's (consumer group, entry id) the event came from:
        acknowledged and deleted in the same step, and None with nothing
        recorded if it already was.
        """
        user, event_id, kind, at = event
        k = self._keys
        ids = [(post_id_of(event_id, webhook_id), webhook_id, body) for webhook_id, body in posts.items()]
        acked, *codes = self._add(
            keys=[k.events(), k.webhook_schedule(), k.webhook_load(user),
                  *(k.webhook_post(post_id) for post_id, _, _ in ids)],
            args=[*entry, user, event_id, kind, at, due, *caps, "1" if count_drops else "",
                  *(value for post in ids for value in post)],
        )
        if not acked:
            return None
        return {webhook_id: ADD_OUTCOMES[code] for (_, webhook_id, _), code in zip(ids, codes, strict=True)}

    def discard(self, group, entry_id):
        """Acknowledge and delete a stream entry that makes no post."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._keys.events(), group, entry_id)
            pipe.xdel(self._keys.events(), entry_id)
            pipe.execute()

    def due(self, now, limit) -> list:
        """Up to `limit` (post id, score) whose moment has come."""
        return self._redis.zrangebyscore(self._keys.webhook_schedule(), "-inf", now, 0, limit,
                                         withscores=True)

    def take(self, queue, now, bound, actions) -> int:
        """Hand due posts over: (post id, score as read, lease end, task message) each; how many went.

        A post goes only while its user has fewer than `bound` in flight;
        the others wait aside until one of the user's posts ends.
        """
        k = self._keys
        with self._redis.pipeline(transaction=False) as pipe:
            for post_id, *_ in actions:
                pipe.hget(k.webhook_post(post_id), "user")
            users = pipe.execute()
        # A post gone since it was read (done, dropped) has nothing to hand over.
        found = [(user, action) for user, action in zip(users, actions, strict=True) if user is not None]
        if not found:
            return 0
        return self._hand_over(
            keys=[k.webhook_schedule(), queue,
                  *(key for user, _ in found for key in (k.webhook_flight(user), k.webhook_waiting(user)))],
            args=[now, bound, *(value for _, action in found for value in action)],
        )

    def claim(self, post_id, lease_seconds, bound) -> Claim:
        """Take a due post for sending for `lease_seconds`, unless another worker holds it or its user's
        posts in flight are at `bound`."""
        k = self._keys
        user = self._redis.hget(k.webhook_post(post_id), "user")
        if user is None:
            return Claim("skip")
        return Claim(*self._claim(
            keys=[k.webhook_post(post_id), k.webhook_schedule(), k.webhook_flight(user), k.webhook_waiting(user)],
            args=[lease_seconds, post_id, bound],
        ))

    def record(self, post_id, claim: Claim, log: dict, kept, next_due=None) -> bool:
        """Log a claimed attempt; the post is done, or due again at `next_due`."""
        k = self._keys
        return bool(self._record(
            keys=[k.webhook_post(post_id), k.webhook_schedule(), k.webhook_attempts(claim.webhook_id),
                  k.webhooks(claim.user), k.webhook_flight(claim.user), k.webhook_waiting(claim.user),
                  k.webhook_load(claim.user)],
            args=[post_id, claim.attempt, "" if next_due is None else next_due, json.dumps(log), kept,
                  claim.webhook_id],
        ))

    def drop(self, post_id, claim: Claim) -> bool:
        """Forget a claimed post nobody may receive any more (its webhook is gone)."""
        k = self._keys
        return bool(self._drop(
            keys=[k.webhook_post(post_id), k.webhook_schedule(), k.webhook_flight(claim.user),
                  k.webhook_waiting(claim.user), k.webhook_load(claim.user)],
            args=[post_id, claim.webhook_id],
        ))
