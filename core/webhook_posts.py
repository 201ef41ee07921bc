"""Webhook posts in Redis: one per (event, webhook), in a schedule of their own, sent under a lease.

A post's id is its event's id and its webhook's id, so an event fanned out
twice (a relay that died before it acknowledged the event) makes no post
twice. The schedule (Keys.webhook_schedule) scores each post by when
someone must act on it: when due, the scheduler hands it to Celery and
moves it to the end of a lease; a worker that claims it moves it to the end
of its own lease, and when done drops it or moves it to its next attempt.
So a post whose worker died is handed over again once the lease ends.
"""

import json
from collections import namedtuple

from core.keys import Keys
from core.lua import Script
from core.schedule import TAKE

# The Celery task that makes one attempt at one post (workers/tasks.py), and its queue.
WEBHOOK_TASK = "workers.post_webhook"
WEBHOOK_QUEUE = "webhooks"

# outcome: go, skip (no such post), early (its next attempt is not due) or
# busy (another worker holds it); the rest only with go.
Claim = namedtuple("Claim", "outcome attempt user webhook_id event_id type body at",
                   defaults=(None,) * 7)

# Record an event's posts; with a stream entry, only if this call is the one
# that acknowledges it (and then the entry goes). KEYS: events, schedule,
# then each post's hash. ARGV: group, entry id or '', user, event id, type,
# event time, due, then (post id, webhook id, body) per post.
_ADD = """
if ARGV[2] ~= '' then
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
  redis.call('XDEL', KEYS[1], ARGV[2])
end
for i = 3, #KEYS do
  local j = 8 + (i - 3) * 3
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], 'user', ARGV[3], 'event', ARGV[4], 'type', ARGV[5], 'at', ARGV[6],
               'webhook', ARGV[j + 1], 'body', ARGV[j + 2], 'due', ARGV[7], 'lease', 0, 'attempts', 0)
    redis.call('ZADD', KEYS[2], ARGV[7], ARGV[j])
  end
end
return 1
"""


# Due, and not held by a live lease: take it for lease seconds (Redis's
# clock, which every host shares). KEYS: post, schedule. ARGV: lease
# seconds, post id.
_CLAIM = """
local p = redis.call('HMGET', KEYS[1], 'due', 'lease', 'attempts')
if not p[1] then return {'skip'} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
if tonumber(p[1]) > now then return {'early'} end
if tonumber(p[2]) > now then return {'busy'} end
local attempt = tonumber(p[3]) + 1
local lease = string.format('%.6f', now + tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'lease', lease, 'attempts', attempt)
redis.call('ZADD', KEYS[2], lease, ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'user', 'webhook', 'event', 'type', 'body', 'at')
return {'go', tostring(attempt), f[1], f[2], f[3], f[4], f[5], f[6]}
"""

# What an attempt came to, if its lease was not taken over: the post done
# (next due '') or due again, and the attempt logged while the webhook
# exists. KEYS: post, schedule, attempt log, the user's webhooks. ARGV:
# post id, attempt, next due or '', log record, records kept, webhook id.
_RECORD = """
local attempts = redis.call('HGET', KEYS[1], 'attempts')
if not attempts or tonumber(attempts) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[1], 'due', ARGV[3], 'lease', 0)
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
if redis.call('HEXISTS', KEYS[4], ARGV[6]) == 1 then
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
end
return 1
"""


def lease_seconds(config) -> float:
    """Seconds a worker holds a post it sends: the post's timeout and the claims' margin."""
    return config.webhook_timeout + config.claim_margin


def post_id_of(event_id, webhook_id) -> str:
    """The id of an event's post to one webhook."""
    return f"{event_id}.{webhook_id}"


class PostStore:
    """Webhook posts, their schedule, and their claims."""

    def __init__(self, redis, keys: Keys):
        self._redis = redis
        self._keys = keys
        self._add = Script(redis, _ADD)
        self._take = Script(redis, TAKE)
        self._claim = Script(redis, _CLAIM)
        self._record = Script(redis, _RECORD)

    def add(self, event, posts, due, entry=("", "")) -> bool:
        """Record an event's posts, {webhook id: body}, due at `due`.

        `event` is (user, event id, type, event time); `entry` the stream's
        (consumer group, entry id) the event came from: acknowledged and
        deleted in the same step, and nothing recorded if it already was.
        """
        user, event_id, kind, at = event
        k = self._keys
        ids = [(post_id_of(event_id, webhook_id), webhook_id, body) for webhook_id, body in posts.items()]
        return bool(self._add(
            keys=[k.events(), k.webhook_schedule(), *(k.webhook_post(post_id) for post_id, _, _ in ids)],
            args=[*entry, user, event_id, kind, at, due, *(value for post in ids for value in post)],
        ))

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

    def take(self, queue, actions) -> int:
        """Hand due posts over: (post id, score as read, next moment, task message) each; how many went."""
        args = [value for action in actions for value in action]
        if not args:
            return 0
        return self._take(keys=[self._keys.webhook_schedule(), queue], args=args)

    def claim(self, post_id, lease_seconds) -> Claim:
        """Take a due post for sending for `lease_seconds`, unless another worker holds it."""
        k = self._keys
        return Claim(*self._claim(keys=[k.webhook_post(post_id), k.webhook_schedule()],
                                  args=[lease_seconds, post_id]))

    def record(self, post_id, claim: Claim, log: dict, kept, next_due=None) -> bool:
        """Log a claimed attempt; the post is done, or due again at `next_due`."""
        k = self._keys
        return bool(self._record(
            keys=[k.webhook_post(post_id), k.webhook_schedule(), k.webhook_attempts(claim.webhook_id),
                  k.webhooks(claim.user)],
            args=[post_id, claim.attempt, "" if next_due is None else next_due, json.dumps(log), kept,
                  claim.webhook_id],
        ))

    def drop(self, post_id):
        """Forget a post nobody may receive any more (its webhook is gone)."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.webhook_post(post_id))
            pipe.zrem(self._keys.webhook_schedule(), post_id)
            pipe.execute()
