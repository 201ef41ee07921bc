"""A message and its deliveries: one per (contact, messenger with an ID)."""

import time
import uuid
from dataclasses import dataclass, field

from core.config import MESSENGERS


@dataclass(frozen=True)
class Delivery:
    """One text to one contact over one messenger."""

    id: str
    contact: str
    messenger: str
    to: str


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


def new_message(sender, text, due, wallclock, recipients, messengers=MESSENGERS) -> Message:
    """Plan a message: a delivery for every recipient's non-empty messenger ID."""
    message_id = uuid.uuid4().hex
    deliveries = []
    for contact, ids in recipients.items():
        for messenger in messengers:
            if ids.get(messenger):
                deliveries.append(
                    Delivery(f"{message_id}-{len(deliveries)}", contact, messenger, ids[messenger])
                )
    return Message(message_id, sender, text, due, list(wallclock), time.time(), deliveries)


def message_id_of(delivery_id: str) -> str:
    """The id of the message a delivery belongs to."""
    return delivery_id.rsplit("-", 1)[0]
