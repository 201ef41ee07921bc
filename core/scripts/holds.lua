local d = redis.call('HMGET', KEYS[1], 'status', 'ticket', 'attempts')
if d[1] ~= SENDING or tonumber(d[2]) ~= tonumber(ARGV[1]) then return 0 end
