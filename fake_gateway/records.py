"""What the fake gateway received, every attempt at it, and the callbacks it made, in memory."""

import itertools


class Records:
    """The accepted messages, all attempts, and every receipt and person's callback made, in order."""

    def __init__(self):
        self.received = []
        self.attempts = []
        self.receipts = []
        self.callbacks = []
        self._ids = itertools.count(1)

    def next_number(self):
        """A message number no other message, sent or simulated, has."""
        return next(self._ids)

    def attempt(self, messenger, to, text, key, time, status, error=None):
        """Note one request, the HTTP status it got, and the documented error it named (if any)."""
        self.attempts.append(
            {"messenger": messenger, "to": to, "text": text, "key": key,
             "time": time, "status": status, "error": error}
        )

    def accept(self, messenger, to, text, key, time, answered_id):
        """Keep one accepted message, with the id its answer names (answered_id(number)); its number."""
        number = self.next_number()
        self.received.append(
            {"messenger": messenger, "to": to, "text": text, "key": key, "time": time,
             "id": answered_id(number)}
        )
        self.attempt(messenger, to, text, key, time, 200)
        return number

    def receipt(self, messenger, to, message_id, status, time, answer, error=None):
        """Note one receipt callback: the HTTP status the API answered, or why there was none."""
        self.receipts.append(
            {"messenger": messenger, "to": to, "id": message_id, "status": status,
             "time": time, "answer": answer, "error": error}
        )

    def callback(self, messenger, to, event, time, url, body, answer, error=None):
        """Note one simulated person's callback: where it went, what, and the answer or why there was none."""
        self.callbacks.append(
            {"messenger": messenger, "to": to, "event": event, "time": time, "url": url,
             "body": body, "answer": answer, "error": error}
        )

    def clear(self):
        """Forget received messages, attempts, receipts and callbacks; ids keep counting."""
        self.received.clear()
        self.attempts.clear()
        self.receipts.clear()
        self.callbacks.clear()

    def counts(self):
        """How many messages were received and how many attempts were made."""
        return {"received": len(self.received), "attempts": len(self.attempts)}


def only(items, messenger, to=None):
    """The items for one messenger and one recipient; all of them where either is None."""
    return [item for item in items
            if (messenger is None or item["messenger"] == messenger) and (to is None or item["to"] == to)]
