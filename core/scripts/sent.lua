-- needs: finishing, chain, holds
-- Sent; for a messenger with receipts, its own id of the message kept, and
-- found from it for the retention period. In a chain, the later steps are
-- not needed ('close'), or the next waits for this one's receipt until a
-- moment ('wait'). KEYS: the finishing ones, the provider id's key, the
-- chain's later steps. ARGV: the finishing ones, provider id ('' for none),
-- seconds to keep it, the chain's action ('' outside chains), the moment.
redis.call('HSET', KEYS[1], 'status', SENT, 'updated_at', ARGV[2], 'sent_at', ARGV[2])
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'provider_id', ARGV[8])
  redis.call('SET', KEYS[8], ARGV[7], 'EX', ARGV[9])
end
if ARGV[10] == 'close' then
  close_chain(9, ARGV[2], ARGV[6], ARGV[4], ARGV[5])
elseif ARGV[10] == 'wait' then
  wait_for_receipt(9, ARGV[11])
end
finish_this(d[1], SENT)
return DONE
