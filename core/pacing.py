"""The rate limits' pacer in Lua, shared by the delivery claim and workers.ratelimit.

`TAKE_TURN` defines `take_turn(keys, now, linger, holder, user, intervals, under_way)`.
Per limit i, keys[3i-2]: its pacing hash (tat: when the next send may go;
holder: who took the last turn); keys[3i-1]: its bookings, holders scored by
their place; keys[3i]: its users' lines, each user scored by the end of their
line. `linger`: the longest wait taken in place; `holder`: who asks
(delivery|ticket, or a part's); `user`: for whom; `intervals`: each limit's
seconds between sends; `under_way`: whether the holder is a later part of a
send that has begun, which goes at the next free send like a booked one
rather than behind its user's line. Returns go (true: go in `wait` seconds; false: come
back then) and wait. `now` is Redis's clock, so workers on several hosts agree.

`PACED_KEYS` defines `paced_keys(pacing, messenger, chat)`: the keys and
intervals of a messenger's limits from `encode`'s JSON, named as
core.keys.Keys names them, for a script that learns the messenger and chat
from a delivery's record (so it needs one Redis, not a cluster).
"""

import json

TAKE_TURN = """
local function take_turn(keys, now, linger, holder, user, interval, under_way)
  local n = #keys / 3
  local tat, line = {}, {}
  local copy, booked = true, true
  for i = 1, n do
    local v = redis.call('HMGET', keys[3 * i - 2], 'tat', 'holder')
    tat[i] = tonumber(v[1]) or 0
    line[i] = tonumber(redis.call('ZSCORE', keys[3 * i], user)) or 0
    copy = copy and v[2] == holder
    booked = booked and redis.call('ZSCORE', keys[3 * i - 1], holder) ~= false
  end
  -- A copy of the task that took the last turn shares that turn (the claim
  -- lets only one of them send) rather than booking one nobody will use.
  if copy then
    local turn = now
    for i = 1, n do turn = math.max(turn, tat[i] - interval[i]) end
    return true, turn - now
  end
  -- The next free send; a newcomer also waits behind its user's bookings.
  booked = booked or under_way
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
    local pacing, bookings, lines = keys[3 * i - 2], keys[3 * i - 1], keys[3 * i]
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
  return go, turn - now
end
"""

PACED_KEYS = """
local function paced_keys(pacing, messenger, chat)
  local keys, intervals = {}, {}
  local limits = pacing.intervals[messenger]
  if not limits then return keys, intervals end
  for i, scope in ipairs({'', ':chat:' .. chat}) do
    if limits[i] > 0 then
      for _, base in ipairs(pacing.bases) do table.insert(keys, base .. messenger .. scope) end
      table.insert(intervals, limits[i])
    end
  end
  return keys, intervals
end
"""


def encode(keys, intervals: dict, linger: float) -> str:
    """The JSON that `paced_keys` and the claim read: '' when no messenger has a limit.

    `intervals`: per messenger, (overall, per chat) seconds between sends,
    None where unlimited.
    """
    if all(i is None for pair in intervals.values() for i in pair):
        return ""
    return json.dumps({
        "bases": [keys.rate_limit(""), keys.rate_limit_line(""), keys.rate_limit_users("")],
        "intervals": {m: [i or 0 for i in pair] for m, pair in intervals.items()},
        "linger": linger,
    })
