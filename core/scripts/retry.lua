-- needs: recount, holds_attempt
-- KEYS: delivery, schedule, message. ARGV: ticket, now, due, error, old
-- member, new member, the new member's moment, attempt.
redis.call('HSET', KEYS[1], 'status', RETRYING, 'ticket', tonumber(ARGV[1]) + 1,
           'due', ARGV[3], 'last_error', ARGV[4], 'updated_at', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[7], ARGV[6])
recount(KEYS[3], SENDING, RETRYING)
return DONE
