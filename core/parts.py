"""Long texts: each messenger's text limit, splitting a text into parts, and which parts went.

A text longer than its messenger takes goes as ordered parts of one
delivery. The delivery hash's `parts` field counts the parts the messenger
has accepted, so a later attempt resumes at the first one not yet accepted:
no part arrives twice, none out of order.

Length is counted in UTF-16 code units everywhere. Telegram measures entity
offsets in UTF-16 units and its documentation does not say which unit its
text limit is in (reports differ); WhatsApp's and Viber's documentation say
"characters" only. A UTF-16 count is never below the code point count, so a
part within a limit in UTF-16 units is within it under either reading.
"""

import re
import unicodedata
from bisect import bisect_right
from itertools import accumulate

from core.lua import Script
from core.statuses import SENDING

# The most a messenger takes in one text message:
# - Telegram sendMessage `text`: 1-4096 characters after entities parsing,
#   https://core.telegram.org/bots/api#sendmessage
# - WhatsApp Cloud API text object `body`: at most 4096 characters,
#   https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
# - Viber REST bot API text message `text`: at most 7000 characters,
#   https://developers.viber.com/docs/api/rest-bot-api/#text-message
TEXT_LIMITS = {"telegram": 4096, "whatsapp": 4096, "viber": 7000}

# Runs of whitespace a text may be split at: the no-break spaces join what
# they stand between.
_SPACE = re.compile(r"[^\S\u00a0\u2007\u202f]+")
# A part ending so ends a sentence (closing quotes and brackets may follow).
_SENTENCE_END = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\u201d\u2019\u00bb)\]]*$")
_LINE_BREAKS = "\n\r\u2028\u2029\x0b\x0c\x85"
# Split-point ranks, best first considered: a blank line, a line break, a sentence's end, a space.
_PARAGRAPH, _LINE, _SENTENCE, _WORD = 3, 2, 1, 0
ZWJ = "\u200d"


def text_length(text: str) -> int:
    """A text's length as limits count it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split(text: str, limit: int) -> list:
    """The text as ordered parts of at most `limit` UTF-16 units, split where it reads best.

    A part ends at whitespace: of the split points that leave it at least
    half the limit, the best (a blank line, then a line break, then a
    sentence's end, then any space; the last of equals); only if none
    does, the best of the shorter ones. The whitespace at a split point
    (and a long text's leading whitespace) is dropped. A word longer than
    the limit alone is split between two characters people see as one
    each (see `breakable`). A text within the limit is its only part; one
    of whitespace only, too long for one, goes as it is, cut anywhere:
    never no part at all, which would be sent as nothing.
    """
    # units[i]: the UTF-16 length of text[:i].
    units = [0, *accumulate(2 if ord(c) > 0xFFFF else 1 for c in text)]
    end = len(text)
    if units[end] <= limit:
        return [text]
    # Leading whitespace counts as a split point's: each part starts with a visible character.
    lead = _SPACE.match(text)
    blank = lead is not None and lead.end() == end
    parts, pos = [], lead.end() if lead and not blank else 0
    while pos < end:
        if units[end] - units[pos] <= limit:
            parts.append(text[pos:])
            break
        # The furthest a part from pos may reach, at least one character on.
        hard = max(pos + 1, bisect_right(units, units[pos] + limit, pos) - 1)
        cut = None if blank else _split_point(text, pos, hard, units, limit)
        if cut is None:
            cut = next((i for i in range(hard, pos, -1) if breakable(text, i)), hard)
            resume = cut
        else:
            resume = _SPACE.match(text, cut).end()
        parts.append(text[pos:cut])
        pos = resume
    return parts


def _split_point(text, pos, hard, units, limit):
    """Where the best whitespace run after text[pos] and by text[hard] starts, or None if none."""
    half = units[pos] + limit // 2
    best = best_long = None
    for run in _SPACE.finditer(text, pos + 1, hard + 1):
        start = run.start()
        candidate = (_rank(text, pos, start), start)
        best = max(best or candidate, candidate)
        if units[start] >= half:
            best_long = max(best_long or candidate, candidate)
    chosen = best_long or best
    return None if chosen is None else chosen[1]


def _rank(text, pos, start):
    """How good a split at the whitespace run starting at `start` reads."""
    run = _SPACE.match(text, start).group()
    breaks = sum(run.count(c) for c in _LINE_BREAKS) - run.count("\r\n")
    if breaks >= 2 or "\u2029" in run:
        return _PARAGRAPH
    if breaks:
        return _LINE
    return _SENTENCE if _SENTENCE_END.search(text, max(pos, start - 8), start) else _WORD


def _regional(c) -> bool:
    return "\U0001f1e6" <= c <= "\U0001f1ff"


def breakable(text: str, i: int) -> bool:
    """Whether a part may end before text[i] without splitting what people see as one character.

    Conservative grapheme rules: never before a combining mark, a variation
    selector, an emoji modifier (skin tone) or tag, never next to a
    zero-width joiner, never inside a regional-indicator pair (a flag) or a
    CR LF.
    """
    before, after = text[i - 1], text[i]
    if ZWJ in (before, after) or (before, after) == ("\r", "\n"):
        return False
    if unicodedata.category(after) in ("Mn", "Mc", "Me"):
        return False
    if ("\ufe00" <= after <= "\ufe0f" or "\U000e0100" <= after <= "\U000e01ef"
            or "\U0001f3fb" <= after <= "\U0001f3ff" or "\U000e0020" <= after <= "\U000e007f"):
        return False
    if _regional(before) and _regional(after):
        run = i
        while run > 0 and _regional(text[run - 1]):
            run -= 1
        return (i - run) % 2 == 0
    return True


# Record how many parts the messenger accepted, only while the caller still
# holds the delivery (sending, its ticket, its attempt: a holder whose lease
# another attempt took over may not write). The hold is renewed for one more
# request, as the claim gave it (Redis's clock; the schedule entry moves
# with it): a claim's lease covers one request, and a long text makes
# several. KEYS: delivery, schedule. ARGV: ticket, attempt, count, lease
# seconds, schedule member.
_RECORD = f"""
local d = redis.call('HMGET', KEYS[1], 'status', 'ticket', 'attempts')
if d[1] ~= '{SENDING}' or tonumber(d[2]) ~= tonumber(ARGV[1])
   or tonumber(d[3]) ~= tonumber(ARGV[2]) then return 0 end
local clock = redis.call('TIME')
local lease = string.format('%.6f', tonumber(clock[1]) + tonumber(clock[2]) / 1000000 + tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'parts', ARGV[3], 'lease', lease)
redis.call('ZADD', KEYS[2], 'XX', lease, ARGV[5])
return 1
"""


class PartProgress:
    """How many parts of a long text each delivery's messenger has accepted."""

    def __init__(self, redis, keys, lease_seconds: float):
        self._keys = keys
        self._lease = lease_seconds
        self._record = Script(redis, _RECORD)

    def record(self, delivery_id, ticket, attempt, count) -> bool:
        """Note `count` parts accepted and renew the hold; False if this attempt no longer holds it."""
        k = self._keys
        return bool(self._record(
            keys=[k.delivery(delivery_id), k.schedule()],
            args=[ticket, attempt, count, self._lease, k.schedule_member(delivery_id, ticket)],
        ))
