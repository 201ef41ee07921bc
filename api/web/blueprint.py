"""The console's blueprint: sign-in required on every page but the sign-in's, its headers, its error page."""

from urllib.parse import urlencode

from flask import Blueprint, g, redirect, render_template, request, url_for

from api.errors import ApiError
from api.limits import charge_token
from api.web.sessions import current_session

bp = Blueprint("console", __name__, url_prefix="/app", template_folder="templates",
               static_folder="static", static_url_path="/static")

# No script but our own files, no inline script or style, no frame, forms
# post only here, and no other site learns the console's addresses.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
OPEN_ENDPOINTS = {"console.static", "console.signin", "console.signin_form"}
NAV = (("console.messages", "Messages"), ("console.compose", "Compose"), ("console.contacts", "Contacts"),
       ("console.failed", "Failed"), ("console.schedules", "Schedules"), ("console.webhooks", "Webhooks"),
       ("console.tokens", "Tokens"), ("console.inbox", "Inbox"))


@bp.before_request
def _signed_in():
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    session = current_session()
    if session is None:
        return redirect(url_for("console.signin_form", next=request.full_path.rstrip("?"),
                                ended=g.get("session_ended")))
    g.user = session.user
    charge_token(session.caller, session.user)
    return None


@bp.after_request
def _headers(response):
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response


@bp.app_context_processor
def _page_context():
    if request.blueprint != "console":
        return {}
    session = g.get("console_session")
    return {"nav": NAV, "signed_in": session.user if session else None,
            "csrf_token": session.csrf if session else ""}


@bp.app_template_global()
def pager_query(number: int) -> str:
    """The request's query with another page number."""
    return urlencode({**request.args.to_dict(), "page": number})


@bp.errorhandler(ApiError)
def _error_page(err):
    return render_template("console/error.html", code=err.code, message=err.message), err.code, err.headers
