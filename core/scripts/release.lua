-- needs: recount
-- A waiting delivery goes now, to the chat id: queued under a new ticket,
-- due now. KEYS: delivery, message, schedule, awaiting set. ARGV: delivery
-- id, now, moment, chat id. Its new ticket and lane, or nothing if it no
-- longer waits.
redis.call('SREM', KEYS[4], ARGV[1])
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket', 'lane')
if d[1] ~= AWAITING_CONTACT then return false end
local ticket = tonumber(d[2]) + 1
redis.call('HSET', KEYS[1], 'status', QUEUED, 'ticket', ticket, 'to', ARGV[4], 'due', ARGV[2],
           'last_error', '', 'updated_at', ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[1] .. '|' .. d[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1] .. '|' .. ticket)
recount(KEYS[2], AWAITING_CONTACT, QUEUED)
return {ticket, d[3] or ''}
