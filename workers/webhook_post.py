"""One attempt at one webhook post: claim it, check where it goes, POST it signed, record the outcome."""

import hashlib
import hmac
import logging
import time

import pycurl

from core.logs import log_event
from core.timeutil import epoch_to_iso
from core.webhook_posts import lease_seconds
from core.webhook_targets import TargetRefused, checked_target
from core.webhooks import ATTEMPTS_KEPT
from workers.retry import backoff_delay

log = logging.getLogger("workers.webhooks")
USER_AGENT = "dispatcher-webhooks"
# Backoff between attempts: from BACKOFF seconds, doubling, at most BACKOFF_MAX, jittered.
BACKOFF = 1.0
BACKOFF_MAX = 3600.0
# How much of a refusing receiver's answer the attempt log keeps.
ANSWER_BYTES = 200
SKIPPED = {"skip": "no such post (done, or its webhook is gone)",
           "early": "its next attempt is not due yet",
           "busy": "another worker is sending it",
           "full": "its user's posts in flight are at WEBHOOK_USER_CONCURRENCY: it waits its turn"}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Dispatcher-Signature header: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def attempt_post(ctx, post_id: str) -> str:
    """Make one attempt at a webhook post; what happened, for the task's result."""
    config = ctx.config
    # From before the claim: the attempt ends within its lease, with the whole margin to record it.
    deadline = time.monotonic() + config.webhook_timeout
    claim = ctx.webhook_posts.claim(post_id, lease_seconds(config), config.webhook_user_concurrency)
    if claim.outcome != "go":
        return f"{claim.outcome}: {SKIPPED[claim.outcome]}"
    webhook = ctx.webhooks.get(claim.user, claim.webhook_id)
    if webhook is None:
        ctx.webhook_posts.drop(post_id, claim)
        return "dropped: its webhook was deleted"
    attempt = int(claim.attempt)
    started = time.time()
    status, error = send(config, webhook, claim.event_id, claim.body.encode(), deadline)
    now = time.time()
    next_due = None
    if error:
        due = now + backoff_delay(attempt, BACKOFF, BACKOFF_MAX)
        if due <= float(claim.at) + config.webhook_retry_hours * 3600:
            next_due = due
    outcome = "delivered" if not error else "retrying" if next_due else "given_up"
    ctx.webhook_posts.record(post_id, claim, {
        "event_id": claim.event_id, "type": claim.type, "at": epoch_to_iso(started), "attempt": attempt,
        "status": status, "error": error, "duration_ms": round((now - started) * 1000, 1),
        "outcome": outcome, "next_attempt_at": None if next_due is None else epoch_to_iso(next_due),
    }, ATTEMPTS_KEPT, next_due)
    log_event(log, f"webhook.{outcome}", level=logging.WARNING if outcome == "given_up" else logging.INFO,
              webhook_id=claim.webhook_id, event_id=claim.event_id, attempt=attempt, status=status,
              error=error)
    return f"{outcome} on attempt {attempt}" + (f": {error}" if error else "")


def send(config, webhook, event_id, body: bytes, deadline=None):
    """POST a body to a webhook, signed: (HTTP status or None, error or '' for a 2xx).

    The whole exchange (the DNS check, connect, send, the answer) ends by
    `deadline` (time.monotonic(); by default WEBHOOK_TIMEOUT from now): a
    receiver that answers a byte at a time is cut off all the same.
    """
    deadline = time.monotonic() + config.webhook_timeout if deadline is None else deadline
    try:
        target = checked_target(webhook["url"], config.webhook_allow_private, _left(deadline))
    except TargetRefused as exc:
        return None, f"refused: {exc}"
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Dispatcher-Event-Id": event_id,
        "X-Dispatcher-Signature": signature(webhook["secret"], int(time.time()), body),
        # The body at once, without waiting for a 100 Continue.
        "Expect": "",
    }
    answer = _Answer()
    curl = pycurl.Curl()
    try:
        left_ms = max(1, round(_left(deadline) * 1000))
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, left_ms)
        # libcurl's timeout bounds the whole transfer, not each read.
        curl.setopt(pycurl.TIMEOUT_MS, left_ms)
        curl.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        curl.setopt(pycurl.PROXY, "")
        curl.setopt(pycurl.URL, f"{target.scheme}://{target.netloc}{target.target}")
        # To the address just checked, whatever host the URL names: no window
        # for DNS to point it elsewhere. Host and TLS still go by the name.
        address = f"[{target.address}]" if ":" in target.address else target.address
        curl.setopt(pycurl.CONNECT_TO, [f"::{address}:{target.port}"])
        curl.setopt(pycurl.HTTPHEADER, [f"{name}: {value}" if value else f"{name}:"
                                        for name, value in headers.items()])
        curl.setopt(pycurl.POSTFIELDS, body)
        curl.setopt(pycurl.HEADERFUNCTION, answer.header)
        curl.setopt(pycurl.WRITEFUNCTION, answer.write)
        try:
            curl.perform()
        except pycurl.error as exc:
            if not answer.enough:
                code, message = exc.args
                return None, f"{message} (curl error {code})"
    except Exception as exc:  # an unexpected error must still end in a recorded attempt
        log.exception("webhook post of %s", event_id)
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        curl.close()
    if 200 <= answer.status < 300:
        return answer.status, ""
    text = bytes(answer.body).decode("utf-8", "replace").strip()
    return answer.status, f"HTTP {answer.status}" + (f": {text}" if text else "")


def _left(deadline) -> float:
    """Seconds until a time.monotonic() deadline, never below zero."""
    return max(0.0, deadline - time.monotonic())


class _Answer:
    """A receiver's answer, read no further than needed: its final status, the first ANSWER_BYTES of its body."""

    def __init__(self):
        self.status, self.body, self.enough = 0, bytearray(), False

    def header(self, line: bytes):
        """libcurl's header callback: the status line, and the end of a 2xx's header (all a 2xx needs)."""
        if line.startswith(b"HTTP/"):
            fields = line.split(None, 2)
            self.status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
        elif line in (b"\r\n", b"\n") and 200 <= self.status < 300:
            self.enough = True
            # Not the line's length: libcurl stops the transfer.
            return 0
        return None

    def write(self, data: bytes):
        """libcurl's body callback: keep up to ANSWER_BYTES, then stop the transfer."""
        self.body += data[:ANSWER_BYTES - len(self.body)]
        if len(self.body) >= ANSWER_BYTES:
            self.enough = True
            return 0
        return None
