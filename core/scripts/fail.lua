-- needs: finishing, chain, holds_attempt
-- Failed for good, with its failed-store record; when the answer means the
-- person refuses the user's messages, that messenger ID of the contact is
-- marked blocked. A chain's next step starts instead of a failed record
-- (NEXT_STEP_STARTED is returned then). KEYS: the finishing ones, failed hash, failed index,
-- blocked, the chain's next step. ARGV: the finishing ones, error, failed
-- record, blocked field ('' for none), the ID, the next step's moment,
-- attempt.
redis.call('HSET', KEYS[1], 'status', FAILED, 'last_error', ARGV[8], 'updated_at', ARGV[2])
local handed = activate(11, ARGV[2], ARGV[12])
if handed == 0 then
  redis.call('HSET', KEYS[8], ARGV[7], ARGV[9])
  redis.call('ZADD', KEYS[9], ARGV[2], ARGV[7])
  redis.call('ZADD', KEYS[4], tonumber(ARGV[2]) + tonumber(ARGV[5]), 'f:' .. ARGV[7])
end
if ARGV[10] ~= '' then redis.call('HSET', KEYS[10], ARGV[10], ARGV[11]) end
finish_this(d[1], FAILED)
return DONE + handed
