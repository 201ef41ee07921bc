"""What the fake gateway received, every attempt at it and the receipts it sent, in memory."""

import itertools


class Records:
    """The accepted messages, all attempts and every receipt callback made, in order."""

    def __init__(self):
        self.received = []
        self.attempts = []
        self.receipts = []
        self._ids = itertools.count(1)

    def attempt(self, messenger, to, text, key, time, status, error=None):
        """Note one request, the HTTP status it got, and the documented error it named (if any)."""
        self.attempts.append(
            {"messenger": messenger, "to": to, "text": text, "key": key,
             "time": time, "status": status, "error": error}
        )

    def accept(self, messenger, to, text, key, time, answered_id):
        """Keep one accepted message, with the id its answer names (answered_id(number)); its number."""
        number = next(self._ids)
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

    def clear(self):
        """Forget received messages, attempts and receipts; ids keep counting."""
        self.received.clear()
        self.attempts.clear()
        self.receipts.clear()

    def counts(self):
        """How many messages were received and how many attempts were made."""
        return {"received": len(self.received), "attempts": len(self.attempts)}


def only(items, messenger, to=None):
    """The items for one messenger and one recipient; all of them where either is None."""
    return [item for item in items
            if (messenger is None or item["messenger"] == messenger) and (to is None or item["to"] == to)]
