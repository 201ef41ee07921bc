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

A delivery's first send takes its turn in the claim itself (core.deliveries,
one round trip for both); each later part of a long text takes its own here.
"""

from collections import namedtuple

from core import pacing
from core.config import MESSENGERS
from core.lua import Script
from core.pacing import PACED_KEYS, TAKE_TURN

Turn = namedtuple("Turn", "go wait")

# ARGV: the limits (core.pacing.encode), messenger, chat, who asks, for
# whom, the longest wait taken in place ('' for the limits' own), whether
# under way ('1' or ''). Returns {1, wait}: go in `wait` seconds; {0, wait}:
# come back then.
_TAKE = TAKE_TURN + PACED_KEYS + """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local pacing = cjson.decode(ARGV[1])
local keys, interval = paced_keys(pacing, ARGV[2], ARGV[3])
if #keys == 0 then return {1, '0'} end
local linger = tonumber(ARGV[6]) or pacing.linger
local go, wait = take_turn(keys, now, linger, ARGV[4], ARGV[5], interval, ARGV[7] == '1')
return {go and 1 or 0, tostring(wait)}
"""


class RateLimiter:
    """Paces each messenger's sends overall and per chat, across all workers."""

    def __init__(self, redis, keys, limits: dict, headroom=0.0, linger=0.25):
        self._take = Script(redis, _TAKE)
        # Seconds between sends: (overall, per chat), None where unlimited.
        intervals = {
            messenger: tuple(
                1.0 / (rate * (1.0 - headroom)) if rate > 0 else None for rate in rates
            )
            for messenger, rates in limits.items()
        }
        self._limited = {messenger for messenger, pair in intervals.items() if any(pair)}
        # What the delivery claim needs to take the first send's turn itself.
        self.pacing = pacing.encode(keys, intervals, linger)

    @classmethod
    def from_config(cls, redis, keys, config):
        """A limiter with the rates, headroom and linger of the settings."""
        limits = {
            m: (getattr(config, f"{m}_rate"), getattr(config, f"{m}_chat_rate"))
            for m in MESSENGERS
        }
        return cls(redis, keys, limits, config.rate_limit_headroom, config.rate_limit_linger)

    def take(self, messenger, chat, holder, user, linger=None, under_way=False) -> Turn:
        """A turn for `holder`, one of `user`'s sends, to a chat: go after `wait` s, or come back then.

        A wait up to `linger` (else the limiter's) is one to take in place.
        `under_way`: a later part of a send begun, which goes at the next
        free send rather than behind its user's other bookings.
        """
        if messenger not in self._limited:
            return Turn(True, 0.0)
        go, wait = self._take(args=[self.pacing, messenger, chat, holder, user,
                                    "" if linger is None else linger, "1" if under_way else ""])
        return Turn(bool(go), max(0.0, float(wait)))
