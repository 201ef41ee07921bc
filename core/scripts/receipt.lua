-- needs: chain
-- A messenger's receipt moves a finished delivery on, never back
-- (RECEIPT_STEPS). In a chain, delivered or read makes the later steps not
-- needed, and a late failure starts the next step (NEXT_STEP_STARTED is returned then);
-- otherwise a late failure gets a failed-store record. KEYS: delivery,
-- message, schedule, retention, user closed, events, webhook users, failed
-- hash, failed index, the chain's later steps. ARGV: new status, now,
-- delivery id, the receipt's time, failed record ('' unless failed), error,
-- retention seconds, the next step's moment, the provider id it names. A
-- receipt for an id the delivery no longer holds (one of a send before a
-- resend) changes nothing.
local d = redis.call('HMGET', KEYS[1], 'status', 'sender', 'message_id', 'provider_id')
local from = RECEIPT_STEPS[ARGV[1]]
if not d[1] or not from or not from[d[1]] or d[4] ~= ARGV[9] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2], ARGV[1] .. '_at', ARGV[4])
local handed = 0
if ARGV[1] == FAILED then
  redis.call('HSET', KEYS[1], 'last_error', ARGV[6])
  handed = activate(10, ARGV[2], ARGV[8])
  if handed == 0 then
    redis.call('HSET', KEYS[8], ARGV[3], ARGV[5])
    redis.call('ZADD', KEYS[9], ARGV[2], ARGV[3])
    redis.call('ZADD', KEYS[4], tonumber(ARGV[2]) + tonumber(ARGV[7]), 'f:' .. ARGV[3])
  end
else
  close_chain(10, ARGV[2], d[2], d[3], ARGV[7])
end
recount(KEYS[2], d[1], ARGV[1])
emit(KEYS[6], KEYS[7], d[2], 'delivery.' .. ARGV[1], d[3], ARGV[3], ARGV[1], ARGV[2])
return DONE + handed
