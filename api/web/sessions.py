"""Who is signed in to the console: the session cookie, and the CSRF token every form and console request carries."""

import hmac
import secrets

from flask import g, request

from api.errors import ApiError
from api.limits import trusted_peer
from api.services import services

SESSION_COOKIE = "dispatcher_session"
# Before sign-in there is no session: the sign-in form's token is checked
# against this cookie's copy instead (a double submit).
SIGNIN_COOKIE = "dispatcher_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_cookie() -> str:
    """The session id the request's cookie holds, or ''."""
    return request.cookies.get(SESSION_COOKIE, "")


def current_session():
    """The request's console session, or None (no cookie, or one whose session ended); looked up once a request."""
    if "console_session" not in g:
        cookie = session_cookie()
        found = services().console_sessions.find(cookie) if cookie else None
        # Signed in with an API token: over once the token is revoked or expires
        # (for good: a token id is never issued again).
        if found is not None and found.token_id and not services().users.token_active(found.token_id, found.user):
            found, g.session_ended = None, "revoked"
        g.console_session = found
    return g.console_session


def check_csrf(expected: str, sent: str):
    """403 unless the request carries the CSRF token it must, compared in constant time."""
    if not (sent and expected and hmac.compare_digest(sent.encode(), expected.encode())):
        raise ApiError(403, f"This form's CSRF token is missing or out of date: reload the page and try again "
                            f"(console requests send it as {CSRF_HEADER}).",
                       errors={"form": {CSRF_FIELD: ["Missing or wrong."]}})


def signin_token() -> str:
    """The sign-in form's CSRF token: the one the browser already holds, else a new one."""
    if "signin_token" not in g:
        g.signin_token = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
    return g.signin_token


def over_tls() -> bool:
    """Whether the browser reached us over HTTPS (directly, or through a trusted proxy that says so)."""
    if request.is_secure:
        return True
    return request.headers.get("X-Forwarded-Proto") == "https" and trusted_peer(request.remote_addr or "")


def set_cookie(response, name: str, value: str, max_age: int):
    """A cookie only the server reads (HttpOnly), sent to this site alone (SameSite=Strict), Secure over TLS."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, secure=over_tls(),
                        samesite="Strict")


def clear_cookie(response, name: str):
    """Tell the browser to forget a cookie."""
    response.delete_cookie(name, path="/", httponly=True, secure=over_tls(), samesite="Strict")
