-- needs: chain
-- A chain step whose entry came while on standby (its step before was sent
-- but got no delivered receipt in time): it starts now (a step on standby
-- keeps its first ticket). KEYS: delivery, message, schedule. ARGV: ticket,
-- now, moment.
return activate(1, ARGV[2], ARGV[3])
