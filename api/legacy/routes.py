"""The original five requests: contacts add/remove/list, send, failed list."""

import time

from flask import Blueprint, g, request

from api.auth import authenticate, current_user, token_mode
from api.errors import ApiError
from api.legacy.schemas import AddContactSchema, RemoveContactSchema, SendSchema, UserSchema
from api.limits import charge
from api.services import release_waiting, services
from core.sending.record import send_message
from core.timeutil import epoch_to_wallclock, wallclock_to_epoch

bp = Blueprint("legacy", __name__, url_prefix="/api")

MESSENGER_TO_LEGACY = {"telegram": "telegram", "whatsapp": "whatsApp", "viber": "viber"}


@bp.before_request
def _json_only():
    # A web page can make a browser post a cross-site form as text/plain, never as
    # application/json: without tokens, this keeps other sites from changing anyone's contacts.
    if request.mimetype != "application/json":
        raise ApiError(415, "The body must be JSON, sent with 'Content-Type: application/json'.",
                       {"headers": {"Content-Type": ["Must be application/json."]}})


@bp.before_request
def _authenticate():
    if token_mode():
        authenticate()


def load(schema):
    """The request's JSON body, validated by a schema (GET and DELETE carry bodies too)."""
    body = request.get_json()
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    if token_mode():
        return schema.load(_as_token_user(body))
    data = schema.load(body)
    # Without tokens the user name is all that tells callers apart.
    charge(f"user:{data['user_name']}")
    return data


def _as_token_user(body):
    # The token names the user; a body's user_name may only repeat it.
    user = current_user()
    if body.get("user_name", user) != user:
        raise ApiError(403, "user_name must be the user the token belongs to.",
                       {"json": {"user_name": ["Not the token's user."]}})
    return {**body, "user_name": user}


@bp.post("/contacts")
def add_contact():
    """Add a contact, or replace the one of the same name."""
    data = load(AddContactSchema())
    contact = data["contact"]
    services().contacts.add(data["user_name"], contact["name"], contact["messangers"])
    release_waiting(data["user_name"], contact["name"], contact["messangers"])
    return {"success": True}


@bp.delete("/contacts")
def remove_contact():
    """Remove a contact by name."""
    data = load(RemoveContactSchema())
    if not services().contacts.remove(data["user_name"], data["contact"]):
        raise ApiError(404, f"No contact named {data['contact']!r}.",
                       {"json": {"contact": ["No such contact."]}})
    return {"success": True}


@bp.get("/contacts")
def list_contacts():
    """All of the user's contacts, by name."""
    data = load(UserSchema())
    book = services().contacts.all(data["user_name"])
    return {"contacts": {
        name: {MESSENGER_TO_LEGACY[m]: ident for m, ident in ids.items()}
        for name, ids in book.items()
    }}


@bp.put("/contacts")
def send():
    """Send a message to contacts, not before `time`."""
    data = load(SendSchema())
    svc = services()
    tz = svc.config.timezone
    if data["time"] is None:
        due = time.time()
        wallclock = epoch_to_wallclock(due, tz)
    else:
        wallclock = data["time"]
        due = wallclock_to_epoch(wallclock, tz)
    message = send_message(svc, data["user_name"], data["names"], data["message"], due, wallclock,
                           started=g.get("started"))
    return {"success": True, "message_id": message.id, "deliveries": len(message.deliveries)}


@bp.get("/get_failed_mess")
def failed_messages():
    """The user's failed deliveries, newest first."""
    data = load(UserSchema())
    return {"data": services().failed.list_for(data["user_name"])}
