"""Messenger gateways behind one interface: `send(to, text, key) -> Outcome`."""

import json
from collections import namedtuple

import urllib3

from core.config import MESSENGERS
from workers.retry import parse_retry_after

Outcome = namedtuple("Outcome", "kind error retry_after")
SENT = Outcome("sent", "", None)
TRANSIENT_STATUSES = frozenset({408, 429})


def transient(error, retry_after=None) -> Outcome:
    """A failure worth trying again, after `retry_after` seconds if given."""
    return Outcome("transient", error, retry_after)


def permanent(error) -> Outcome:
    """A failure that trying again cannot mend."""
    return Outcome("permanent", error, None)


def _error_text(response) -> str:
    try:
        body = json.loads(response.data)
    except ValueError:
        return response.data[:200].decode("utf-8", "replace")
    if isinstance(body, dict):
        return str(body.get("error") or body.get("description") or body)
    return str(body)


def classify_http(response) -> Outcome:
    """Sort an HTTP answer into sent, transient (5xx, 408, 429) or permanent (other 4xx)."""
    if 200 <= response.status < 300:
        return SENT
    error = f"HTTP {response.status}: {_error_text(response)}"
    if response.status >= 500 or response.status in TRANSIENT_STATUSES:
        return transient(error, parse_retry_after(response.headers.get("Retry-After")))
    return permanent(error)


class SimpleGateway:
    """The fake gateway's plain shape: POST {base}/{messenger} with {"to", "text"}."""

    def __init__(self, messenger, base_url, http, timeout):
        self.messenger = messenger
        self.url = f"{base_url.rstrip('/')}/{messenger}"
        self._http = http
        self._timeout = timeout

    def send(self, to, text, key) -> Outcome:
        """Post one text; the key lets the gateway drop a repeat."""
        try:
            response = self._http.request(
                "POST", self.url,
                body=json.dumps({"to": to, "text": text}).encode(),
                headers={"Content-Type": "application/json", "Idempotency-Key": key},
                timeout=self._timeout, retries=False, preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            return transient(f"{type(exc).__name__}: {exc}")
        return classify_http(response)


def build_gateways(config) -> dict:
    """One gateway per messenger, sharing a pool of keep-alive connections."""
    http = urllib3.PoolManager(maxsize=max(4, config.worker_concurrency), block=False)
    timeout = urllib3.Timeout(connect=config.http_connect_timeout, read=config.http_read_timeout)
    return {m: SimpleGateway(m, config.gateway_url, http, timeout) for m in MESSENGERS}
