-- needs: recount, blocked_field
-- A task may send only with the delivery's current ticket, from a waiting
-- state and not before the delivery is due; a copy that finds another
-- holder's live lease leaves it to the holder (or, if the holder dies, to
-- the schedule entry at the lease's end). A lease that ran out is taken over
-- as a new attempt. Due times and leases are compared with the Redis
-- server's clock, the one clock every host shares: a worker whose own clock
-- runs ahead is told how long to wait, and never sends early. A waiting
-- delivery to a messenger ID that refused the user before is not taken:
-- 'blocked' (DeliveryStore.suppress ends it). KEYS: delivery, message,
-- schedule, blocked. ARGV: ticket, lease seconds, schedule member, the rate
-- limits (core.pacing.encode; their keys follow from the delivery's record).
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket', 'lease', 'attempts', 'due',
                     'messenger', 'to', 'sender', 'contact', 'lane', 'step', 'last', 'text',
                     'parts')
if not d[1] then return {CLAIM_SKIP, 'missing'} end
if tonumber(d[2]) ~= tonumber(ARGV[1]) then return {CLAIM_SKIP, 'stale'} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
if d[1] == SENDING then
  if tonumber(d[3]) > now then return {CLAIM_BUSY, d[3]} end
elseif WAITING[d[1]] then
  local wait = tonumber(d[5]) - now
  if wait > 0 then
    return {CLAIM_EARLY, string.format('%.6f', wait), d[6], d[7], d[8], d[9], false, false, '0', d[5], d[10]}
  end
  if redis.call('HGET', KEYS[4], blocked_field(d[6], d[8], d[9])) == d[7] then
    return {CLAIM_BLOCKED, d[7], d[6], d[7], d[8], d[9], false, false, '0', d[5], d[10], d[11], d[12]}
  end
else
  return {CLAIM_SKIP, d[1]}
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
      return {CLAIM_THROTTLED, string.format('%.6f', wait), d[6], d[7], d[8], d[9], false, false, '0', d[5],
              d[10]}
    end
  end
end
local attempts = tonumber(d[4]) + 1
local lease = string.format('%.6f', now + wait + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'status', SENDING, 'lease', lease,
           'attempts', attempts, 'updated_at', string.format('%.6f', now))
redis.call('ZADD', KEYS[3], lease, ARGV[3])
recount(KEYS[2], d[1], SENDING)
local m = redis.call('HMGET', KEYS[2], 'text', 'time', 'fallback_after', 'fallback_within')
return {CLAIM_GO, string.format('%.6f', wait), d[6], d[7], d[8], d[9], d[13] or m[1], m[2],
        tostring(attempts), d[5], d[10], d[11], d[12], m[3], m[4], d[14] or '0', d[1]}
