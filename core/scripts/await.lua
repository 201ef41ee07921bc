-- needs: recount, holds_attempt
-- The claimed delivery waits: a new ticket due when the wait ends, this
-- attempt not counted. KEYS: delivery, message, schedule, awaiting set.
-- ARGV: ticket, now, when the wait ends, error, old member, new member, the
-- new member's moment, delivery id, attempt.
redis.call('HSET', KEYS[1], 'status', AWAITING_CONTACT, 'ticket', tonumber(ARGV[1]) + 1,
           'attempts', tonumber(d[3]) - 1, 'due', ARGV[3], 'last_error', ARGV[4], 'updated_at', ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[6])
redis.call('SADD', KEYS[4], ARGV[8])
recount(KEYS[2], SENDING, AWAITING_CONTACT)
return DONE
