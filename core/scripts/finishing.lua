-- needs: recount, emit, finish
-- The finishing steps' first KEYS: delivery, message, schedule, retention,
-- user closed, events, webhook users; and ARGV: ticket, now, member, message
-- id, retention seconds, user, delivery id.
local function finish_this(old, status)
  recount(KEYS[2], old, status)
  emit(KEYS[6], KEYS[7], ARGV[6], 'delivery.' .. status, ARGV[4], ARGV[7], status, ARGV[2])
  finish(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[3], ARGV[4], ARGV[2], ARGV[5], KEYS[6], KEYS[7], ARGV[6])
end
