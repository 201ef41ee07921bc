-- recount(message key, old status, new status): the message's counts by status.
local function recount(mkey, old, new)
  if old ~= new and redis.call('HEXISTS', mkey, 'counted') == 1 then
    redis.call('HINCRBY', mkey, 'n:' .. old, -1)
    redis.call('HINCRBY', mkey, 'n:' .. new, 1)
  end
end
