"""One attempt at one webhook post: claim it, check where it goes, POST it signed, record the outcome."""

import hashlib
import hmac
import logging
import time

import urllib3

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
           "busy": "another worker is sending it"}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Dispatcher-Signature header: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def attempt_post(ctx, post_id: str) -> str:
    """Make one attempt at a webhook post; what happened, for the task's result."""
    config = ctx.config
    claim = ctx.webhook_posts.claim(post_id, lease_seconds(config))
    if claim.outcome != "go":
        return f"{claim.outcome}: {SKIPPED[claim.outcome]}"
    webhook = ctx.webhooks.get(claim.user, claim.webhook_id)
    if webhook is None:
        ctx.webhook_posts.drop(post_id)
        return "dropped: its webhook was deleted"
    attempt = int(claim.attempt)
    started = time.time()
    status, error = send(config, webhook, claim.event_id, claim.body.encode())
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


def send(config, webhook, event_id, body: bytes):
    """POST a body to a webhook, signed: (HTTP status or None, error or '' for a 2xx)."""
    deadline = time.monotonic() + config.webhook_timeout
    try:
        target = checked_target(webhook["url"], config.webhook_allow_private, config.webhook_timeout)
    except TargetRefused as exc:
        return None, f"refused: {exc}"
    headers = {
        "Host": target.netloc,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Dispatcher-Event-Id": event_id,
        "X-Dispatcher-Signature": signature(webhook["secret"], int(time.time()), body),
    }
    # To the address just checked, not to the name again: no window for
    # DNS to point it elsewhere. TLS still checks the certificate for the name.
    tls = {"server_hostname": target.host, "assert_hostname": target.host} if target.scheme == "https" else {}
    pool_class = urllib3.HTTPSConnectionPool if tls else urllib3.HTTPConnectionPool
    pool = pool_class(target.address, target.port, maxsize=1, retries=False,
                      timeout=urllib3.Timeout(total=max(0.1, deadline - time.monotonic())), **tls)
    try:
        response = pool.urlopen("POST", target.target, body=body, headers=headers, redirect=False,
                                assert_same_host=False, preload_content=False)
        try:
            if 200 <= response.status < 300:
                return response.status, ""
            answer = response.read(ANSWER_BYTES).decode("utf-8", "replace").strip()
            return response.status, f"HTTP {response.status}" + (f": {answer}" if answer else "")
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # an unexpected error must still end in a recorded attempt
        log.exception("webhook post of %s", event_id)
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        pool.close()
