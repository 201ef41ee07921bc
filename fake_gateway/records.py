"""What the fake gateway received and every attempt made at it, kept in memory."""

import itertools


class Records:
    """The accepted messages and all attempts, in arrival order."""

    def __init__(self):
        self.received = []
        self.attempts = []
        self._ids = itertools.count(1)

    def attempt(self, messenger, to, text, key, time, status, error=None):
        """Note one request, the HTTP status it got, and the documented error it named (if any)."""
        self.attempts.append(
            {"messenger": messenger, "to": to, "text": text, "key": key,
             "time": time, "status": status, "error": error}
        )

    def accept(self, messenger, to, text, key, time):
        """Keep one accepted message and return its id."""
        self.received.append(
            {"messenger": messenger, "to": to, "text": text, "key": key, "time": time}
        )
        self.attempt(messenger, to, text, key, time, 200)
        return next(self._ids)

    def clear(self):
        """Forget received messages and attempts; ids keep counting."""
        self.received.clear()
        self.attempts.clear()

    def counts(self):
        """How many messages were received and how many attempts were made."""
        return {"received": len(self.received), "attempts": len(self.attempts)}


def only(items, messenger, to=None):
    """The items for one messenger and one recipient; all of them where either is None."""
    return [item for item in items
            if (messenger is None or item["messenger"] == messenger) and (to is None or item["to"] == to)]
