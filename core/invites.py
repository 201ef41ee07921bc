"""Invite links: single-use codes that bind a person's messenger id to one user's contact.

A contact's invite is a code per messenger, each 144 random bits
(`inv_` and 24 URL-safe characters, which a Telegram start payload
allows), kept in Redis under its hash (Keys.invite) with its user, contact
and expiry for INVITE_TTL_DAYS. The first person to follow it takes it,
and it keeps their id until it expires: followed again by them (a redelivered
or retried update, a second tap), it binds again; by anyone else, or used,
expired or unknown, it binds nothing.
"""

import json
import secrets
from urllib.parse import quote

from core.config import MESSENGERS
from core.lua import Script
from core.timeutil import epoch_to_iso

CODE_PREFIX = "inv_"
CODE_BYTES = 18

# KEYS: the invite. ARGV: who follows it. The record, if free or theirs already.
_TAKE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local record = cjson.decode(raw)
if record.taken_by then
  if record.taken_by == ARGV[1] then return raw end
  return false
end
record.taken_by = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return raw
"""


def links(config, codes) -> dict:
    """Each messenger's link for its code: the deep links that open the bot with the code."""
    made = {
        "telegram": lambda code: f"https://t.me/{config.telegram_bot_username}?start={code}",
        "viber": lambda code: f"viber://pa?chatURI={quote(config.viber_chat_uri, safe='')}&context={code}",
        "whatsapp": lambda code: f"https://wa.me/{config.whatsapp_number.lstrip('+')}?text={code}",
    }
    return {messenger: made[messenger](code) for messenger, code in codes.items()}


class InviteStore:
    """Invite codes of users' contacts: made, and taken once."""

    def __init__(self, redis, keys, config):
        self._redis = redis
        self._keys = keys
        self._config = config
        self._take = Script(redis, _TAKE)

    @property
    def ttl(self) -> float:
        """Seconds an invite lasts."""
        return self._config.invite_ttl_days * 24 * 3600

    def create(self, user, names, now) -> list:
        """A fresh invite for each of the user's contacts named: {name, links, expires_at}, in one round trip."""
        expires = now + self.ttl
        invites = []
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            codes = {m: CODE_PREFIX + secrets.token_urlsafe(CODE_BYTES) for m in MESSENGERS}
            record = json.dumps({"user": user, "contact": name, "expires_at": expires})
            for messenger, code in codes.items():
                pipe.set(self._keys.invite(messenger, code), record, ex=max(1, round(self.ttl)))
            invites.append({"name": name, "links": links(self._config, codes),
                            "expires_at": epoch_to_iso(expires)})
        pipe.execute()
        return invites

    def take(self, messenger, code, sender, now):
        """The (user, contact) a code followed on messenger by sender binds; None if it binds nothing."""
        raw = self._take([self._keys.invite(messenger, code)], [str(sender)])
        if raw is None:
            return None
        record = json.loads(raw)
        # Redis's own expiry rounds; the record's time is the rule.
        if record["expires_at"] <= now:
            return None
        return record["user"], record["contact"]
