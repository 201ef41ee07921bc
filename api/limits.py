"""The API's rate limit per caller: RateLimit-* headers on every answer, 429 beyond it."""

import logging

from flask import g
from redis.exceptions import RedisError

from api.errors import ApiError
from api.services import services
from core.logs import log_event

log = logging.getLogger("api.limits")


def charge(caller: str):
    """Count a request of `caller`'s (a token, or a user name without tokens); 429 beyond the limit.

    With Redis away the request goes on uncounted: the limit protects the
    service, and a send needs Redis anyway.
    """
    limiter = services().request_limiter
    if not limiter.enabled:
        return
    try:
        verdict = limiter.take(caller)
    except RedisError as exc:
        log_event(log, "limits.unavailable", level=logging.WARNING, error=str(exc))
        return
    g.rate_verdict = verdict
    if not verdict.allowed:
        raise ApiError(429, f"Too many requests: at most {limiter.rate:g} a second "
                            f"({limiter.burst} at once); try again in {verdict.retry_after} s.",
                       headers={"Retry-After": str(max(verdict.retry_after, 1))})


def add_headers(response):
    """The RateLimit-* headers of the request's verdict, if it was counted."""
    verdict = g.get("rate_verdict")
    if verdict is not None:
        response.headers["RateLimit-Limit"] = str(verdict.limit)
        response.headers["RateLimit-Remaining"] = str(verdict.remaining)
        response.headers["RateLimit-Reset"] = str(verdict.reset)
    return response


def init_app(app):
    """Add the headers to every answer."""
    app.after_request(add_headers)
