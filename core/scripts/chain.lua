-- needs: recount, finish
-- A fallback chain's later steps, given as KEYS from some index on, with
-- the finishing steps' KEYS 2-7 (message, schedule, retention, user closed,
-- events, webhook users). A step on standby has no schedule entry unless it
-- waits for the step before it to be delivered.
local function id_of(key)
  return string.match(key, 'dlv:([^:]+)$')
end
-- The later steps from KEYS[first] on that are still on standby: not needed.
local function close_chain(first, now, user, mid, keep)
  for i = first, #KEYS do
    local s = redis.call('HMGET', KEYS[i], 'status', 'ticket')
    if s[1] == STANDBY then
      redis.call('HSET', KEYS[i], 'status', NOT_NEEDED, 'updated_at', now)
      recount(KEYS[2], STANDBY, NOT_NEEDED)
      finish(KEYS[2], KEYS[3], KEYS[4], KEYS[5], id_of(KEYS[i]) .. '|' .. s[2], mid, now, keep,
             KEYS[6], KEYS[7], user)
    end
  end
end
-- The next step, KEYS[i], if on standby: queued, due now, its entry at `moment`; 1 if so.
local function activate(i, now, moment)
  if not KEYS[i] then return 0 end
  local s = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  if s[1] ~= STANDBY then return 0 end
  redis.call('HSET', KEYS[i], 'status', QUEUED, 'due', now, 'updated_at', now)
  redis.call('ZADD', KEYS[3], moment, id_of(KEYS[i]) .. '|' .. s[2])
  recount(KEYS[2], STANDBY, QUEUED)
  return 1
end
-- The next step, KEYS[i], if on standby, starts at `moment` unless a receipt closes the chain first.
local function wait_for_receipt(i, moment)
  if not KEYS[i] then return end
  local s = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  if s[1] == STANDBY then
    redis.call('ZADD', KEYS[3], moment, id_of(KEYS[i]) .. '|' .. s[2])
  end
end
