"""A person's opt-outs and returns, applied in their messenger's order whatever order the workers take them in.

Each update is its own Celery task, so a STOP and the START right after it
may be handled by two workers at once, or the START first. Each change is
applied to the contacts holding the person's id in one script that also
keeps it as the sender's last change (Keys.opt_change), with its place in
the messenger's order: a change older than the last one applied changes
nothing. The blocked and opted-out hashes are core/blocked.py's.
"""

from core.blocked import blocked_field
from core.lua import Script

# How long a sender's last change is kept to order the ones after it: far
# longer than the workers take to handle a burst (or to retry one while a
# store is away), and shorter than the week of silence after which Telegram
# numbers a bot's updates afresh, at random
# (https://core.telegram.org/bots/api#getting-updates).
ORDER_SECONDS = 24 * 3600

# KEYS: the sender's last change, blocked, opted out. ARGV: the change's
# place, '1' for out or '0' for back in, 'bind' for a contact that has just
# bound the id, seconds kept, then each holding contact's blocked field and
# the id as it holds it. A newly bound contact takes the newest change,
# older than this one or not. 1 if this change was the newest, else 0.
_APPLY = """
local last = redis.call('HMGET', KEYS[1], 'at', 'out')
local out, newest = ARGV[2], 1
if last[1] and last[1] > ARGV[1] then
  if ARGV[3] ~= 'bind' then return 0 end
  out, newest = last[2], 0
else
  redis.call('HSET', KEYS[1], 'at', ARGV[1], 'out', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
for i = 5, #ARGV, 2 do
  if out == '1' then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  else
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
  end
end
return newest
"""


def place(messenger, event) -> str:
    """An event's place in its messenger's order, as text that sorts as the places do.

    Telegram numbers a bot's updates in order (update_id); Viber and
    WhatsApp give a time (Viber's in milliseconds, WhatsApp's in seconds),
    and events of one time go in the order the API received them.
    """
    first = int(event["key"]) if messenger == "telegram" else event["at"]
    return f"{first:024.6f}:{event.get('received_at', 0):020.6f}"


class OptChanges:
    """People opting out of the bot's messages and back in, in order."""

    def __init__(self, redis, keys):
        self._keys = keys
        self._apply = Script(redis, _APPLY)

    def apply(self, messenger, event, out: bool, holders, bind=False) -> bool:
        """Opt the contacts holding the event's sender ((user, name, id as held) each) out or back in.

        False, changing nothing, if a later change of the sender's was
        applied already; with `bind` (the contacts just bound the id by an
        invite), they take that later change instead.
        """
        pairs = [item for user, name, held in holders for item in (blocked_field(messenger, user, name), held)]
        k = self._keys
        return bool(self._apply(
            keys=[k.opt_change(messenger, event["sender"]), k.blocked(), k.opted_out()],
            args=[place(messenger, event), "1" if out else "0", "bind" if bind else "", ORDER_SECONDS, *pairs],
        ))
