-- emit(events key, webhook users key, user, type, message id, delivery id or
-- nil, status, now): an event for the user's webhooks, if they have any.
local function emit(ekey, wkey, user, kind, mid, did, status, now)
  if redis.call('HEXISTS', wkey, user) == 0 then return end
  if did then
    redis.call('XADD', ekey, '*', 'type', kind, 'user', user, 'message_id', mid,
               'delivery_id', did, 'status', status, 'at', now)
  else
    redis.call('XADD', ekey, '*', 'type', kind, 'user', user, 'message_id', mid, 'at', now)
  end
end
