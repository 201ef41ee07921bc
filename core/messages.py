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
    # Its own text (a template's rendering) and due time (a contact's local
    # time or quiet hours), where the message's are not its; for WhatsApp,
    # the template it goes as outside the 24-hour window (JSON: name,
    # language and its parameters for this contact).
    text: str = None
    due: float = None
    whatsapp_template: str = None

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
    # What else the send asked for, as its view shows it: template,
    # local_time, quiet_hours, schedule_id (strings, kept in its record).
    asked: dict = field(default_factory=dict)


def new_message(sender, text, due, wallclock, recipients, messengers=MESSENGERS,
                fallback=None, personal=None, asked=None) -> Message:
    """Plan a message: a delivery for every recipient's non-empty messenger ID.

    With `fallback` ((after, within) of a chain), `messengers` is the chain's
    order, and each recipient's deliveries are one chain over those they have.
    `personal(name, recipient, messenger)` gives a delivery's own (text, due,
    whatsapp_template), each None for the message's (or none); the message is
    then due with its first.
    """
    message_id = uuid.uuid4().hex
    deliveries = []
    for contact, recipient in recipients.items():
        ids = recipient.ids
        used = [m for m in messengers if ids.get(m)]
        first = len(deliveries)
        for step, messenger in enumerate(used, 1):
            chain = (step, first + len(used) - 1) if fallback else (0, 0)
            own = personal(contact, recipient, messenger) if personal else ()
            deliveries.append(Delivery(f"{message_id}-{len(deliveries)}", contact, messenger,
                                       ids[messenger], *chain, *own))
    dues = [d.due for d in deliveries if d.due is not None]
    return Message(message_id, sender, text, min(dues) if dues else due, list(wallclock), time.time(),
                   deliveries, fallback, asked or {})


def later_steps(delivery_id, last) -> list:
    """The ids of a chain step's later deliveries, given its chain's last number."""
    message_id, number = delivery_id.rsplit("-", 1)
    return [f"{message_id}-{n}" for n in range(int(number) + 1, int(last) + 1)]


def message_id_of(delivery_id: str) -> str:
    """The id of the message a delivery belongs to."""
    return delivery_id.rsplit("-", 1)[0]
