"""Request rate limits, shared by every API process through Redis.

A generic cell rate algorithm (GCRA): each caller's key holds the
theoretical arrival time of its next request; a request is let through if
that time is no more than the burst ahead of now. One script, one round
trip, on the Redis server's clock so that every API host agrees.
"""

import math
from collections import namedtuple

from core.keys import Keys
from core.lua import Script

# KEYS: one key per limit. ARGV: seconds per request and burst, a pair per
# key. Every limit is checked before any is charged, so a request one limit
# refuses costs nothing under the others. Returns {the refusing limit's
# number or 0, the number of the limit reported (the refusing one, else the
# one with the fewest left), remaining, seconds until its burst is whole
# again, seconds until a refused request may be made}, numbers as strings.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local afters, windows = {}, {}
for i, key in ipairs(KEYS) do
  local interval, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local window = interval * burst
  local tat = math.max(tonumber(redis.call('GET', key) or 0), now)
  local after = tat + interval
  if after - now > window then
    return {i, i, 0, tostring(tat - now), tostring(after - now - window)}
  end
  afters[i], windows[i] = after, window
end
local reported, fewest = 1, math.huge
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  redis.call('SET', key, tostring(afters[i]), 'PX', math.ceil(windows[i] * 1000) + 1000)
  local left = math.floor((windows[i] - (afters[i] - now)) / interval)
  if left < fewest then
    reported, fewest = i, left
  end
end
return {0, reported, fewest, tostring(afters[reported] - now), '0'}
"""

# KEYS: one limit's key. ARGV: seconds per request, burst. Seconds until that
# limit takes another request (0 if it takes one now), charging nothing.
_WAIT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
return tostring(math.max(0, tat + interval - now - interval * burst))
"""

# Console sign-ins to one user name: this many at once, then one a minute
# (charged before the password is checked, so a right guess past it fails too).
SIGNIN_BURST = 10
SIGNIN_RATE = 1 / 60

# One limit on one caller: what it is for (token, user, address), rate a second, burst at once.
Limit = namedtuple("Limit", "scope caller rate burst")
Verdict = namedtuple("Verdict", "allowed limit remaining reset retry_after scope rate")


class RequestLimiter:
    """The API's request limits: per token, per user's tokens together, failed authentications per address.

    Each is `rate` requests a second, up to `burst` at once beyond that pace;
    a rate of 0 lifts that limit, and API_RATE=0 lifts all of them.
    """

    def __init__(self, redis, keys: Keys, rate: float, burst: int, user_rate: float = 0.0,
                 user_burst: int = 1, failure_rate: float = 0.0, failure_burst: int = 1):
        self._keys = keys
        self.rate = rate
        self.burst = burst
        self.user_rate = user_rate
        self.user_burst = user_burst
        self.failure_rate = failure_rate
        self.failure_burst = failure_burst
        self._take = Script(redis, _TAKE)
        self._wait = Script(redis, _WAIT)

    @classmethod
    def from_config(cls, redis, keys, config):
        """The limiter of the settings' API_RATE, API_BURST, API_USER_*, AUTH_FAILURE_*."""
        return cls(redis, keys, config.api_rate, config.api_burst, config.api_user_rate,
                   config.api_user_burst, config.auth_failure_rate, config.auth_failure_burst)

    @property
    def enabled(self) -> bool:
        """Whether requests are limited at all."""
        return self.rate > 0

    def take(self, caller: str) -> Verdict:
        """Count one request of `caller`'s (a user name, where there are no tokens)."""
        return self._take_all([Limit("caller", caller, self.rate, self.burst)])

    def take_token(self, token_id: str, user: str) -> Verdict:
        """Count one request made with a token: against the token's limit and its user's."""
        return self._take_all([Limit("token", f"token:{token_id}", self.rate, self.burst),
                               Limit("user", f"tokens-of:{user}", self.user_rate, self.user_burst)])

    def take_failure(self, address: str) -> Verdict:
        """Count one failed authentication from an address."""
        return self._take_all([Limit("address", f"failed-auth:{address}", self.failure_rate,
                                     self.failure_burst)])

    def failure_wait(self, address: str) -> float:
        """Seconds until an address may fail to authenticate again (0: now); nothing is counted."""
        if self.failure_rate <= 0:
            return 0.0
        return float(self._wait(keys=[self._keys.request_limit(f"failed-auth:{address}")],
                                args=[1 / self.failure_rate, self.failure_burst]))

    def take_signin(self, name: str) -> Verdict:
        """Count one console sign-in to a user name, right or wrong."""
        return self._take_all([Limit("signin", f"signin:{name}", SIGNIN_RATE, SIGNIN_BURST)])

    def _take_all(self, limits) -> Verdict:
        limits = [limit for limit in limits if limit.rate > 0]
        if not limits:
            return Verdict(True, 0, 0, 0, 0, "", 0.0)
        args = [value for limit in limits for value in (1 / limit.rate, limit.burst)]
        refused, reported, remaining, reset, retry = self._take(
            keys=[self._keys.request_limit(limit.caller) for limit in limits], args=args)
        limit = limits[int(reported) - 1]
        return Verdict(not int(refused), limit.burst, int(remaining), math.ceil(float(reset)),
                       math.ceil(float(retry)), limit.scope, limit.rate)
