-- needs: recount, finish
-- Cancel what has not started. KEYS: schedule, retention, message, user
-- closed, events, webhook users, then the deliveries. ARGV: now, message id,
-- retention seconds, user, then delivery ids.
local cancelled = {}
for i = 7, #KEYS do
  local id = ARGV[i - 2]
  local d = redis.call('HMGET', KEYS[i], 'status', 'ticket')
  if CANCELLABLE[d[1]] then
    redis.call('HSET', KEYS[i], 'status', CANCELLED, 'updated_at', ARGV[1])
    recount(KEYS[3], d[1], CANCELLED)
    finish(KEYS[3], KEYS[1], KEYS[2], KEYS[4], id .. '|' .. d[2], ARGV[2], ARGV[1], ARGV[3],
           KEYS[5], KEYS[6], ARGV[4])
    table.insert(cancelled, id)
  end
end
return cancelled
