"""What every gateway shares: the Outcome of a send and one HTTP transport."""

import io
import json
import threading
from collections import namedtuple

import pycurl

from workers.retry import parse_retry_after

# kind: sent, transient, permanent, blocked or opted_out; provider_id: the messenger's
# own id of a sent message, which its receipts name.
Outcome = namedtuple("Outcome", "kind error retry_after provider_id", defaults=(None, None))
SENT = Outcome("sent", "")
# An HTTP answer: its status, body (bytes) and header fields by lower-case name.
Response = namedtuple("Response", "status data headers")
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


def opted_out(error) -> Outcome:
    """A refusal that says the person turned the bot away (blocked it): an opt-out, as if they said STOP."""
    return Outcome("opted_out", error)


def json_body(response):
    """The response's body as JSON, or None when it is not JSON."""
    try:
        return json.loads(response.data)
    except ValueError:
        return None


def retry_after_header(response):
    """Seconds named by the response's Retry-After header, or None."""
    return parse_retry_after(response.headers.get("retry-after"))


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
    """Keep-alive HTTP connections for a process's gateways, with timeouts, through libcurl.

    Each thread has its own curl handle (a handle is not to be shared
    between threads), which keeps its connections open from one send to
    the next. libcurl parses the answer in C: a send costs the worker a
    third of the CPU it did through urllib3 (BENCHMARKS.md, issue 15).
    """

    def __init__(self, config):
        self._connect_ms = round(config.http_connect_timeout * 1000)
        # The whole request is bounded, so that a send ends within the claim's lease.
        self._total_ms = round((config.http_connect_timeout + config.http_read_timeout) * 1000)
        self._local = threading.local()

    def _curl(self):
        curl = getattr(self._local, "curl", None)
        if curl is None:
            curl = self._local.curl = pycurl.Curl()
            curl.setopt(pycurl.NOSIGNAL, 1)
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, self._connect_ms)
            curl.setopt(pycurl.TIMEOUT_MS, self._total_ms)
            curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
            # The gateways' URLs are the settings', never a proxy from the environment.
            curl.setopt(pycurl.PROXY, "")
        return curl

    def post(self, url, body, key, classify, headers=None) -> Outcome:
        """POST a JSON body with the delivery's Idempotency-Key; classify the answer."""
        curl = self._curl()
        data, lines = io.BytesIO(), []
        # "Expect:" sends the body at once, without waiting for a 100 Continue.
        fields = {"Content-Type": "application/json", "Idempotency-Key": key, "Expect": "",
                  **(headers or {})}
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.HTTPHEADER, [f"{name}: {value}" if value else f"{name}:"
                                        for name, value in fields.items()])
        curl.setopt(pycurl.POSTFIELDS, json.dumps(body))
        curl.setopt(pycurl.WRITEDATA, data)
        curl.setopt(pycurl.HEADERFUNCTION, lines.append)
        try:
            curl.perform()
        except pycurl.error as exc:
            code, message = exc.args
            return transient(f"no answer: {message} (curl error {code})")
        return classify(Response(curl.getinfo(pycurl.RESPONSE_CODE), data.getvalue(), _headers(lines)))


def _headers(lines) -> dict:
    """An answer's header fields by lower-case name, from the raw lines libcurl hands over."""
    fields = {}
    for line in lines:
        name, colon, value = line.decode("latin-1").partition(":")
        if line.startswith(b"HTTP/"):
            fields = {}
        elif colon:
            fields[name.strip().lower()] = value.strip()
    return fields
