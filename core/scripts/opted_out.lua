-- needs: finishing, chain, holds_attempt
-- Not sent because the person turned the bot away at this very send (a
-- Telegram block the answer told of): suppressed like the deliveries after
-- it, with no failed-store record (sent again, it would be suppressed), and
-- the contact opted out there until the person comes back. A chain's next
-- step starts (NEXT_STEP_STARTED is returned then). KEYS: the finishing ones, blocked,
-- opted out, the chain's next step. ARGV: the finishing ones, error, blocked
-- field, the ID, the next step's moment, attempt.
redis.call('HSET', KEYS[1], 'status', SUPPRESSED, 'last_error', ARGV[8], 'updated_at', ARGV[2])
redis.call('HSET', KEYS[8], ARGV[9], ARGV[10])
redis.call('HSET', KEYS[9], ARGV[9], ARGV[10])
local handed = activate(10, ARGV[2], ARGV[11])
finish_this(d[1], SUPPRESSED)
return DONE + handed
