"""The system under soak: the whole local stack at its shipped defaults, a user, contacts."""

from dataclasses import dataclass

import pymongo
import requests

from core.config import MESSENGERS, Config
from core.users import UserStore
from stack import ORDER, Stack
from stack.ports import free_ports

USER = "soak"
TIMEOUT = 10.0
# Flower only watches; the gateway holds the record the soak accounts from.
PARTS = tuple(name for name in ORDER if name != "flower")


def soak_config(data_dir):
    """The shipped defaults with free ports, data under data_dir and token auth.

    Built from the defaults, not the environment: a developer's REDIS_URL or
    MONGO_URL must never point a soak (which kills its stores) at their servers.
    """
    api, gateway, flower, redis_port, mongo = free_ports(5)
    return Config(api_port=api, gateway_port=gateway, flower_port=flower, redis_port=redis_port,
                  mongo_port=mongo, data_dir=str(data_dir), auth_mode="token")


@dataclass(frozen=True)
class Contact:
    """A contact of the soak's user and its messenger IDs."""

    name: str
    telegram: str
    whatsapp: str
    viber: str

    def messengers(self):
        """The messengers a send to this contact goes over, in the service's order."""
        return [m for m in MESSENGERS if getattr(self, m)]


def make_contacts(count):
    """count contacts with Telegram and WhatsApp IDs; every third has a Viber ID too."""
    return [Contact(f"c{i:03d}", f"@soak{i}", f"+7900{i:07d}", f"viber{i}" if i % 3 == 0 else "")
            for i in range(count)]


class Client:
    """HTTP calls to the API as the soak's user, and to the fake gateway; one per thread."""

    def __init__(self, stack, token):
        self.api_url = stack.api_url
        self.gateway_url = stack.gateway_url
        self.session = requests.Session()
        # Local services only: a proxy from the environment must not sit in between.
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {token}"

    def api(self, method, path, body=None, params=None, timeout=TIMEOUT):
        """One request to the API with a JSON body; the response."""
        return self.session.request(method, self.api_url + path, json=body, params=params,
                                    timeout=timeout)

    def gateway(self, path, timeout=TIMEOUT):
        """GET one of the fake gateway's record lists; its JSON."""
        reply = self.session.get(self.gateway_url + path, timeout=timeout)
        reply.raise_for_status()
        return reply.json()

    def close(self):
        """Close the connections."""
        self.session.close()


class System:
    """The stack started for a soak, with its user's token and contacts."""

    def __init__(self, data_dir):
        self.config = soak_config(data_dir)
        self.stack = Stack(self.config, PARTS, memory_mongo=False)
        self.token = None

    @property
    def parts(self):
        """Every process of the stack ('worker', 'worker2', ..., 'scheduler', ...)."""
        return list(self.stack.names)

    def start(self):
        """Start every part, each until ready, and make the soak's user."""
        self.stack.start()
        mongo = pymongo.MongoClient(self.config.mongo_url, serverSelectionTimeoutMS=int(TIMEOUT * 1000))
        try:
            self.token = UserStore(mongo[self.config.mongo_db]).create_user(USER)
        finally:
            mongo.close()

    def client(self):
        """A new HTTP client as the soak's user."""
        return Client(self.stack, self.token)

    def add_contacts(self, contacts):
        """Add the contacts through /api/v1 (before any chaos: each must be accepted)."""
        client = self.client()
        try:
            for contact in contacts:
                reply = client.api("POST", "/api/v1/contacts", {
                    "name": contact.name, **{m: getattr(contact, m) for m in MESSENGERS}})
                if reply.status_code != 201:
                    raise RuntimeError(f"adding contact {contact.name}: {reply.status_code} {reply.text}")
        finally:
            client.close()

    def stop(self):
        """Stop every process started."""
        self.stack.stop()
