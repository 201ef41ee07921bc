"""The messengers' published send rate limits, and the sliding windows that enforce them.

While the fault setting `enforce_limits` is on, the gateway counts the sends it
accepted in the last WINDOW seconds, per messenger and per chat, and refuses
one more past a limit as that messenger's API does (fake_gateway.apis: each
shape's `throttled`). A refused or faulted send uses up nothing. The fake
serves one account per messenger (one bot token, one WhatsApp phone number
id), so a messenger's overall limit is that account's.

- Telegram: at most 30 messages a second in bulk, and one a second to one
  chat, https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
  (its 20 a minute to one group is not imitated).
- WhatsApp Cloud API: 80 messages a second per business phone number, the
  default throughput,
  https://developers.facebook.com/docs/whatsapp/cloud-api/overview#throughput
- Viber: none; it publishes no rate for send_message.
"""

import math
import time
from collections import deque

from fake_gateway.faults import MESSENGERS

WINDOW = 1.0
PER_WINDOW = {"telegram": 30, "whatsapp": 80}
PER_CHAT_PER_WINDOW = {"telegram": 1}


class Limits:
    """The sends accepted in the last WINDOW seconds, per messenger and per chat, and the refusals."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.clear()

    def clear(self):
        """Empty every window and zero the refusal counts."""
        self._windows = {}
        # Every noted send as (time, window key), oldest first: expiring from
        # here keeps only live windows, however many chats came and went.
        self._noted = deque()
        self.refused = dict.fromkeys(MESSENGERS, 0)

    def retry_after(self, messenger, to):
        """None if one more send to `to` is within the limits now; else whole seconds until it is, at least 1."""
        now = self.clock()
        self._expire(now)
        waits = []
        for key, limit in self._limits(messenger, to):
            times = self._windows.get(key, ())
            if len(times) >= limit:
                # Free once the send `limit` places back leaves the window.
                waits.append(times[-limit] + WINDOW - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def refuse(self, messenger):
        """Count one send refused for going past a limit."""
        self.refused[messenger] += 1

    def note(self, messenger, to):
        """Count one accepted send in its windows."""
        now = self.clock()
        for key, _ in self._limits(messenger, to):
            self._windows.setdefault(key, deque()).append(now)
            self._noted.append((now, key))

    def _limits(self, messenger, to):
        """(window key, most sends in it) for each limit a send to `to` counts against."""
        limits = []
        if messenger in PER_WINDOW:
            limits.append(((messenger,), PER_WINDOW[messenger]))
        if messenger in PER_CHAT_PER_WINDOW:
            limits.append(((messenger, to), PER_CHAT_PER_WINDOW[messenger]))
        return limits

    def _expire(self, now):
        """Drop the sends older than WINDOW, and the windows left empty."""
        while self._noted and self._noted[0][0] <= now - WINDOW:
            _, key = self._noted.popleft()
            times = self._windows[key]
            times.popleft()
            if not times:
                del self._windows[key]
