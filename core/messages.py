"""A message and its deliveries: one per (contact, messenger with an ID)."""

import time
import uuid
from dataclasses import dataclass, field

from core.config import MESSENGERS


@dataclass(frozen=True)
class Delivery:
    """One text to one contact over one messenger.

    In a fallback chain, `step` is its place (1, 2, ...) and `last` the
    number of its chain's last delivery: the chain's deliveries follow one
    another in the message, so a step's later ones are known from these two.
    """

    id: str
    contact: str
    messenger: str
    to: str
    step: int = 0
    last: int = 0

    @property
    def waits(self) -> bool:
        """Whether it waits for an earlier step of its chain (no task until then)."""
        return self.step > 1


@dataclass(frozen=True)
class Message:
    """What a user asked to send, to whom, and not before when."""

    id: str
    sender: str
    text: str
    due: float
    time: list
    created_at: float
    deliveries: list = field(default_factory=list)
    # A fallback chain's rule, when the deliveries are chains: after what
    # the next step is not needed ("sent" or "delivered"), and how long a
    # sent step waits for its delivered receipt before the next one starts.
    fallback: tuple = None


def new_message(sender, text, due, wallclock, recipients, messengers=MESSENGERS,
                fallback=None) -> Message:
    """Plan a message: a delivery for every recipient's non-empty messenger ID.

    With `fallback` ((after, within) of a chain), `messengers` is the chain's
    order, and each recipient's deliveries are one chain over those they have.
    """
    message_id = uuid.uuid4().hex
    deliveries = []
    for contact, ids in recipients.items():
        used = [m for m in messengers if ids.get(m)]
        first = len(deliveries)
        for step, messenger in enumerate(used, 1):
            chain = (step, first + len(used) - 1) if fallback else ()
            deliveries.append(
                Delivery(f"{message_id}-{len(deliveries)}", contact, messenger, ids[messenger], *chain)
            )
    return Message(message_id, sender, text, due, list(wallclock), time.time(), deliveries,
                   fallback)


def later_steps(delivery_id, last) -> list:
    """The ids of a chain step's later deliveries, given its chain's last number."""
    message_id, number = delivery_id.rsplit("-", 1)
    return [f"{message_id}-{n}" for n in range(int(number) + 1, int(last) + 1)]


def message_id_of(delivery_id: str) -> str:
    """The id of the message a delivery belongs to."""
    return delivery_id.rsplit("-", 1)[0]
