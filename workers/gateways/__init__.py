"""Messenger gateways behind one interface: `send(to, text, key) -> Outcome`.

`MESSENGER_API` picks the family from the registry: "simple" posts to the fake
gateway's own endpoints, "real" speaks each messenger's API.
"""

from functools import partial

from core.config import MESSENGERS
from workers.gateways.base import SENT, Outcome, Transport, permanent, transient
from workers.gateways.simple import SimpleGateway
from workers.gateways.telegram import TelegramGateway
from workers.gateways.viber import ViberGateway
from workers.gateways.whatsapp import WhatsAppGateway

REGISTRY = {
    "simple": {m: partial(SimpleGateway, m) for m in MESSENGERS},
    "real": {"telegram": TelegramGateway, "whatsapp": WhatsAppGateway, "viber": ViberGateway},
}

__all__ = ["SENT", "Outcome", "build_gateways", "permanent", "transient"]


def build_gateways(config) -> dict:
    """One gateway per messenger, of the family MESSENGER_API names, sharing one transport."""
    # Config accepts only the MESSENGER_APIS this registry holds.
    family = REGISTRY[config.messenger_api]
    transport = Transport(config)
    return {m: family[m](config, transport) for m in MESSENGERS}
