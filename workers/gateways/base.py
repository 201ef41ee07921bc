"""What every gateway shares: the Outcome of a send and one HTTP transport."""

import json
from collections import namedtuple

import urllib3
from urllib3.connectionpool import connection_from_url

from workers.retry import parse_retry_after

# kind: sent, transient, permanent or blocked; provider_id: the messenger's
# own id of a sent message, which its receipts name.
Outcome = namedtuple("Outcome", "kind error retry_after provider_id", defaults=(None, None))
SENT = Outcome("sent", "")
TRANSIENT_STATUSES = frozenset({408, 429})


def sent(provider_id) -> Outcome:
    """Accepted; the messenger calls the message `provider_id` in its receipts."""
    return Outcome("sent", "", None, None if provider_id is None else str(provider_id))


def transient(error, retry_after=None) -> Outcome:
    """A failure worth trying again, after `retry_after` seconds if given."""
    return Outcome("transient", error, retry_after)


def permanent(error) -> Outcome:
    """A failure that trying again cannot mend."""
    return Outcome("permanent", error)


def blocked(error) -> Outcome:
    """A refusal that means the person will not receive from us on this messenger ID."""
    return Outcome("blocked", error)


def json_body(response):
    """The response's body as JSON, or None when it is not JSON."""
    try:
        return json.loads(response.data)
    except ValueError:
        return None


def retry_after_header(response):
    """Seconds named by the response's Retry-After header, or None."""
    return parse_retry_after(response.headers.get("Retry-After"))


def _error_text(response) -> str:
    body = json_body(response)
    if body is None:
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
        return transient(error, retry_after_header(response))
    return permanent(error)


def unexpected(response) -> Outcome:
    """A success status whose body is not the API's: maybe not sent, so try again."""
    return transient(f"HTTP {response.status}: unexpected answer: {_error_text(response)}")


class Transport:
    """Keep-alive HTTP connections shared by a process's gateways, with timeouts."""

    def __init__(self, config):
        self._pool_size = max(4, config.worker_concurrency)
        # `total` bounds the whole request (read alone bounds each socket
        # read), so that a send ends within the claim's lease.
        self._timeout = urllib3.Timeout(
            connect=config.http_connect_timeout, read=config.http_read_timeout,
            total=config.http_connect_timeout + config.http_read_timeout,
        )
        # Each URL's connection pool and path, made once: a PoolManager
        # parses the URL and looks the pool up again on every request.
        self._targets = {}

    def _target(self, url):
        target = self._targets.get(url)
        if target is None:
            pool = connection_from_url(url, maxsize=self._pool_size, block=False)
            target = self._targets.setdefault(url, (pool, urllib3.util.parse_url(url).request_uri))
        return target

    def post(self, url, body, key, classify, headers=None) -> Outcome:
        """POST a JSON body with the delivery's Idempotency-Key; classify the answer."""
        pool, path = self._target(url)
        try:
            response = pool.urlopen(
                "POST", path,
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Idempotency-Key": key,
                         **(headers or {})},
                timeout=self._timeout, retries=False, redirect=False, preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            return transient(f"{type(exc).__name__}: {exc}")
        return classify(response)
