"""The API's rate limits: RateLimit-* headers on every counted answer, 429 beyond a limit.

Per token, per user (all their tokens together), and per client address
for failed authentications.
"""

import ipaddress
import logging
import math
from functools import lru_cache

from flask import g, request
from redis.exceptions import RedisError

from api.errors import ApiError
from api.services import services
from core.logs import log_event

log = logging.getLogger("api.limits")
# Whom a refusal speaks of, by the limit that refused.
REFUSED = {
    "caller": "Too many requests",
    "token": "Too many requests with this token",
    "user": "Too many requests with this user's tokens together",
    "address": "Too many failed authentications from your address",
    "signin": "Too many sign-ins to this name",
}
# An IPv6 client may hold a whole /64: its failures count as one address's.
IPV6_CLIENT_PREFIX = 64


def charge(caller: str):
    """Count a request of a user name's where there are no tokens; 429 beyond the limit."""
    _count(lambda limiter: limiter.take(caller))


def charge_token(token_id: str, user: str):
    """Count a request made with a token, against its own limit and its user's; 429 beyond either."""
    _count(lambda limiter: limiter.take_token(token_id, user))


def charge_failure():
    """Count a failed authentication against the client's address; 429 beyond the limit."""
    # No RateLimit-* headers: they speak of the limit a token's requests are under.
    _count(lambda limiter: limiter.take_failure(client_address()), headers=False)


def refuse_failing_address():
    """429 before any work if the client's address has failed to authenticate as often as it may for now."""
    limiter = services().request_limiter
    if not limiter.enabled:
        return
    try:
        wait = limiter.failure_wait(client_address())
    except RedisError as exc:
        log_event(log, "limits.unavailable", level=logging.WARNING, error=str(exc))
        return
    if wait > 0:
        raise ApiError(429, f"{REFUSED['address']}: try again in {math.ceil(wait)} s.",
                       headers={"Retry-After": str(max(math.ceil(wait), 1))})


def charge_signin(name: str):
    """Count a console sign-in to a user name before its password is checked; 429 beyond the limit."""
    _count(lambda limiter: limiter.take_signin(name), headers=False)


def _count(take, headers=True):
    """Take one request from the limiter; 429 if a limit refuses it.

    With Redis away the request goes on uncounted: the limit protects the
    service, and a send needs Redis anyway.
    """
    limiter = services().request_limiter
    if not limiter.enabled:
        return
    try:
        verdict = take(limiter)
    except RedisError as exc:
        log_event(log, "limits.unavailable", level=logging.WARNING, error=str(exc))
        return
    if headers:
        g.rate_verdict = verdict
    if not verdict.allowed:
        raise ApiError(429, f"{REFUSED[verdict.scope]}: at most {verdict.rate:g} a second "
                            f"({verdict.limit} at once); try again in {verdict.retry_after} s.",
                       headers={"Retry-After": str(max(verdict.retry_after, 1))})


def client_address() -> str:
    """The client's address: the X-Real-IP nginx sets, if the request came from a trusted proxy."""
    peer = request.remote_addr or ""
    forwarded = request.headers.get("X-Real-IP", "").strip()
    address = forwarded if forwarded and trusted_peer(peer) else peer
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]  # a Unix socket's peer (empty): one key for them all
    if ip.version == 6 and ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(ip)


def trusted_peer(peer) -> bool:
    """Whether a peer address is one of TRUSTED_PROXIES."""
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(ip in network for network in _networks(services().config.trusted_proxies))


@lru_cache(maxsize=4)
def _networks(text):
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip())


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
