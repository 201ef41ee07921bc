"""Request rate limits per caller, shared by every API process through Redis.

A generic cell rate algorithm (GCRA): each caller's key holds the
theoretical arrival time of its next request; a request is let through if
that time is no more than the burst ahead of now. One script, one key, one
round trip, on the Redis server's clock so that every API host agrees.
"""

import math
from collections import namedtuple

from core.keys import Keys
from core.lua import Script

# KEYS: the caller's key. ARGV: seconds per request, burst. Returns
# {allowed 0/1, remaining, seconds until the burst is whole again, seconds
# until a refused request may be made}, numbers as strings.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local window = interval * burst
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local after = tat + interval
if after - now > window then
  return {0, 0, tostring(tat - now), tostring(after - now - window)}
end
redis.call('SET', KEYS[1], tostring(after), 'PX', math.ceil(window * 1000) + 1000)
return {1, math.floor((window - (after - now)) / interval), tostring(after - now), '0'}
"""

Verdict = namedtuple("Verdict", "allowed limit remaining reset retry_after")


class RequestLimiter:
    """`rate` requests a second per caller, up to `burst` at once; rate 0 lets everything through."""

    def __init__(self, redis, keys: Keys, rate: float, burst: int):
        self._keys = keys
        self.rate = rate
        self.burst = burst
        self._take = Script(redis, _TAKE)

    @classmethod
    def from_config(cls, redis, keys, config):
        """The limiter of the settings' API_RATE and API_BURST."""
        return cls(redis, keys, config.api_rate, config.api_burst)

    @property
    def enabled(self) -> bool:
        """Whether requests are limited at all."""
        return self.rate > 0

    def take(self, caller: str) -> Verdict:
        """Count one request of `caller`'s: whether it may go on, and what is left."""
        allowed, remaining, reset, retry = self._take(
            keys=[self._keys.request_limit(caller)], args=[1 / self.rate, self.burst])
        return Verdict(bool(allowed), self.burst, int(remaining), math.ceil(float(reset)),
                       math.ceil(float(retry)))
