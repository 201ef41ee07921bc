"""Signing in to the console with a user name and password (or a pasted API token), and signing out."""

import threading

from flask import make_response, redirect, render_template, request, url_for

from api.errors import ApiError
from api.limits import charge_failure, charge_signin, refuse_failing_address
from api.services import services
from api.web.blueprint import bp
from api.web.sessions import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    check_csrf,
    clear_cookie,
    current_session,
    set_cookie,
    signin_token,
)

SIGNIN_TOKEN_SECONDS = 3600
WRONG = "Wrong user name or password."
# Password checks one API process runs at once: each takes Argon2id's 64 MiB
# and tens of milliseconds of a core, so a flood of sign-ins never holds
# every thread. One that waits longer than this is a 503 to try again.
CHECKS_AT_ONCE = 2
CHECK_WAIT = 2.0
_checking = threading.BoundedSemaphore(CHECKS_AT_ONCE)


@bp.get("/")
def home():
    """The console's front page: the messages."""
    return redirect(url_for("console.messages"))


@bp.get("/login")
def signin_form():
    """The sign-in form."""
    if current_session() is not None:
        return redirect(_next_page())
    return _form()


@bp.post("/login")
def signin():
    """Sign in by name and password, or by an API token; a session cookie on success."""
    check_csrf(request.cookies.get(SIGNIN_COOKIE, ""), request.form.get(CSRF_FIELD, ""))
    token = request.form.get("token", "").strip()
    name = request.form.get("username", "").strip()
    try:
        # An address past its failures costs no check at all.
        refuse_failing_address()
        identity = _by_token(token) if token else _by_password(name, request.form.get("password", ""))
    except ApiError as err:
        return _form(err.message, name, err.code, err.headers)
    user, token_id = identity
    response = redirect(_next_page())
    sessions = services().console_sessions
    set_cookie(response, SESSION_COOKIE, sessions.open(user, token_id), sessions.lifetime)
    clear_cookie(response, SIGNIN_COOKIE)
    return response


@bp.post("/logout")
def signout():
    """End the session on the server, and forget its cookie."""
    session = current_session()
    check_csrf(session.csrf, request.form.get(CSRF_FIELD, ""))
    services().console_sessions.end(session)
    response = redirect(url_for("console.signin_form"))
    clear_cookie(response, SESSION_COOKIE)
    return response


def _by_password(name, password):
    if not name or not password:
        raise ApiError(422, "Enter your user name and password, or an API token.")
    charge_signin(name)
    if not _checking.acquire(timeout=CHECK_WAIT):
        raise ApiError(503, "Too many sign-ins at once: try again in a moment.", headers={"Retry-After": "1"})
    try:
        right = services().users.check_password(name, password)
    finally:
        _checking.release()
    if not right:
        charge_failure()
        raise ApiError(401, WRONG)
    return name, ""


def _by_token(token):
    identity = services().users.identity_for_token(token)
    if identity is None:
        charge_failure()
        raise ApiError(401, "That API token is unknown, revoked or expired.")
    return identity


def _next_page() -> str:
    """Where the sign-in form was asked for from: a console page only, never another site."""
    target = request.values.get("next", "")
    if target.startswith("/app/") and not target.startswith("/app//") and "\\" not in target:
        return target
    return url_for("console.messages")


def _form(error="", name="", code=200, headers=None):
    token = signin_token()
    response = make_response(render_template(
        "console/signin.html", error=error, username=name, signin_csrf=token,
        next=request.values.get("next", "")), code, headers or {})
    set_cookie(response, SIGNIN_COOKIE, token, SIGNIN_TOKEN_SECONDS)
    return response
