-- needs: recount
-- Hand a failed delivery back: a fresh round of attempts under a new ticket,
-- in the schedule in the same step it leaves the failed store; its message
-- is open again, and counts towards its user's open deliveries. A long
-- text goes again whole, from its first part: a failed receipt may have
-- come after every part was accepted (a retry within a round, instead,
-- resumes at the first part not accepted). The messenger's id of the
-- message sent before is dropped with its receipts' times: receipts for it
-- no longer apply. KEYS:
-- delivery, message, schedule, retention, user usage, failed hash, failed
-- index. ARGV: delivery id, now, moment, message id.
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if d[1] ~= FAILED then return 0 end
local ticket = tonumber(d[2]) + 1
redis.call('HSET', KEYS[1], 'status', QUEUED, 'ticket', ticket, 'attempts', 0,
           'due', ARGV[2], 'updated_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'parts', 'provider_id', 'delivered_at', 'read_at')
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1] .. '|' .. ticket)
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('ZREM', KEYS[4], 'f:' .. ARGV[1], 'm:' .. ARGV[4])
if redis.call('HEXISTS', KEYS[2], 'open') == 1 then
  redis.call('HINCRBY', KEYS[2], 'open', 1)
end
if redis.call('HEXISTS', KEYS[2], 'counted') == 1 then
  redis.call('HINCRBY', KEYS[5], 'open', 1)
end
recount(KEYS[2], FAILED, QUEUED)
return ticket
