"""WhatsApp's 24-hour customer-service window: when each number last wrote to the business.

WhatsApp delivers free text to a person only within 24 hours of their last
message to the business; outside that window only an approved message
template goes, and a text is refused with error 131047
(https://developers.facebook.com/docs/whatsapp/conversation-types#customer-service-window).
The inbound worker notes each message's own time per wa_id
(Keys.whatsapp_window, kept a little longer than the window); in real mode
the delivery worker reads it before any call, and sends outside the window
the send's template, or nothing.
"""

import math

from core.lua import Script

WINDOW = 24 * 3600
# A text goes as text only while this much of the window is left, so that
# its way to WhatsApp and clocks a little apart do not carry it past the end.
CLOSING_MARGIN = 60
# The note outlives the window by this much, then Redis drops it.
KEPT_BEYOND = 3600

# A later message moves the window on, an earlier one (handled late) never
# back. KEYS: the number's key. ARGV: the message's time, seconds to keep.
_NOTE = """
local old = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= old then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def wa_id(number) -> str:
    """A WhatsApp number as its webhooks name it: its digits."""
    return "".join(ch for ch in number if ch.isdigit())


def outside_window(config, windows, messenger, to, now) -> bool:
    """Whether a delivery may not go as free text: real-mode WhatsApp to a number whose window is closed."""
    return config.messenger_api == "real" and messenger == "whatsapp" and not windows.is_open(to, now)


class CustomerWindows:
    """When each WhatsApp number last wrote to the business."""

    def __init__(self, redis, keys):
        self._redis = redis
        self._keys = keys
        self._note = Script(redis, _NOTE)

    def opened(self, number, at, now) -> None:
        """A message from `number` sent at `at` (its own time, never later than now) opens its window."""
        at = min(at, now)
        keep = math.ceil(at + WINDOW + KEPT_BEYOND - now)
        if keep > 0:
            self._note(keys=[self._keys.whatsapp_window(wa_id(number))], args=[repr(float(at)), keep])

    def is_open(self, number, now) -> bool:
        """Whether `number` wrote within the window, with CLOSING_MARGIN of it still left."""
        last = self._redis.get(self._keys.whatsapp_window(wa_id(number)))
        return last is not None and now < float(last) + WINDOW - CLOSING_MARGIN
