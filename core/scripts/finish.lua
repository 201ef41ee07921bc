-- needs: recount, emit
-- finish(message key, schedule key, retention key, user closed key, member,
-- message id, now, retention seconds, events key, webhook users key, user):
-- the delivery needs nobody any more.
local function finish(mkey, skey, rkey, ckey, member, mid, now, keep, ekey, wkey, user)
  redis.call('ZREM', skey, member)
  if redis.call('HEXISTS', mkey, 'counted') == 1 then
    redis.call('INCR', ckey)
  end
  if redis.call('HEXISTS', mkey, 'open') == 1
     and redis.call('HINCRBY', mkey, 'open', -1) <= 0 then
    redis.call('ZADD', rkey, tonumber(now) + tonumber(keep), 'm:' .. mid)
    emit(ekey, wkey, user, 'message.completed', mid, nil, nil, now)
  end
end
