-- needs: finishing, chain
-- A waiting delivery to a blocked messenger ID ends suppressed, unsent; a
-- chain's next step starts (NEXT_STEP_STARTED is returned then). KEYS: the finishing ones,
-- the chain's next step. ARGV: the finishing ones, error, the next step's
-- moment.
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket')
if not WAITING[d[1]] or tonumber(d[2]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'status', SUPPRESSED, 'last_error', ARGV[8], 'updated_at', ARGV[2])
local handed = activate(8, ARGV[2], ARGV[9])
finish_this(d[1], SUPPRESSED)
return DONE + handed
