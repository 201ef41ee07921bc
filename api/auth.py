"""Who is asking: the user an `Authorization: Bearer <token>` header names, or a console session's cookie."""

from flask import g, request

from api.errors import ApiError
from api.limits import charge_failure, charge_token
from api.services import services
from api.web.sessions import CSRF_HEADER, UNSAFE_METHODS, check_csrf, current_session, session_cookie

TOKEN_MODE = "token"


def _bearer_token():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate():
    """Identify the caller by their token (a before-request hook), and count the request.

    401 if the token is missing, unknown or expired, or a 429 instead once its
    address has failed too often; 429 beyond the token's or its user's rate limit.
    Without a token, a signed-in console's cookie names the user; its
    requests that change anything carry the session's CSRF token (403 if not).
    """
    token = _bearer_token()
    if not token and session_cookie():
        _authenticate_session()
        return
    identity = services().users.identity_for_token(token) if token else None
    if identity is None:
        charge_failure()
        raise ApiError(401, "A valid API token is required: send 'Authorization: Bearer <token>'.",
                       headers={"WWW-Authenticate": 'Bearer realm="api"'})
    g.user, g.token_id = identity
    charge_token(g.token_id, g.user)


def _authenticate_session():
    session = current_session()
    if session is None:
        charge_failure()
        raise ApiError(401, "Your console session has ended: sign in again at /app/login.")
    if request.method in UNSAFE_METHODS:
        check_csrf(session.csrf, request.headers.get(CSRF_HEADER, ""))
    g.user, g.token_id = session.user, session.token_id or None
    charge_token(session.caller, session.user)


def current_token_id() -> str:
    """The id of the request's token."""
    return g.token_id


def current_user() -> str:
    """The user the request's token names."""
    return g.user


def token_mode() -> bool:
    """Whether the service authenticates the original API's requests too."""
    return services().config.auth_mode == TOKEN_MODE
