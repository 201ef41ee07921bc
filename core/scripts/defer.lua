-- Hand a waiting delivery back for later (its turn under a rate limit, or
-- its due time when a task came early): its entry moved and its ETA task
-- queued, unless it moved on meanwhile. KEYS: delivery, schedule, queue.
-- ARGV: ticket, moment, member, message.
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if not WAITING[d[1]] or tonumber(d[2]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[3])
redis.call('LPUSH', KEYS[3], ARGV[4])
return DONE
