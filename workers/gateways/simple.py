"""The fake gateway's own shape: POST {base}/{messenger} with {"to", "text"}."""

from core.gateway_urls import send_url
from workers.gateways.base import Outcome, classify_http


class SimpleGateway:
    """One messenger on the fake gateway's simple endpoints."""

    def __init__(self, messenger, config, transport):
        self.messenger = messenger
        self.url = send_url(config, messenger)
        self._transport = transport

    def send(self, to, text, key) -> Outcome:
        """Post one text; the key lets the gateway drop a repeat."""
        return self._transport.post(self.url, {"to": to, "text": text}, key, classify_http)
