"""/api/v1/contacts: the user's contact book, one resource per contact."""

import unicodedata

from flask import request
from flask.views import MethodView
from marshmallow import RAISE, ValidationError
from redis.exceptions import RedisError
from webargs.flaskparser import FlaskParser

from api.auth import current_user
from api.bodies import body_limit
from api.errors import ApiError
from api.fields import ContactName
from api.services import noting_chat_ids, release_imported, release_waiting, services
from api.v1 import blueprint
from api.v1.contact_import import CSV_TYPE, Book
from api.v1.schemas import (
    ContactIdsSchema,
    ContactSchema,
    ContactSearchSchema,
    ContactViewSchema,
    ImportedSchema,
    ImportModeSchema,
    UnblockSchema,
)
from core.config import MESSENGERS
from core.contacts import IMPORT_RETRY_AFTER, ImportBusy

blp = blueprint("contacts", "The user's contacts: a name and an ID per messenger.")


def _not_found(name):
    return ApiError(404, f"No contact named {name!r}.")


def _stored(name, find):
    """find(name) for a name in a URL: by its NFC form, else as it came (core/contact_migration.py keeps some so)."""
    normal = unicodedata.normalize("NFC", name)
    return find(normal) or (find(name) if name != normal else None)


def _named(ids, name):
    """A contact found, as (name, ids); None if not."""
    return None if ids is None else (name, ids)


def _view(user, name, ids) -> dict:
    """A contact with its blocked messengers; `blocked` null, not a 503, while Redis is away."""
    contact = {"name": name, **ids}
    try:
        return {**contact, "blocked": services().blocked.blocked(user, contact)}
    except RedisError:
        return {**contact, "blocked": None}


# The search schema leaves page and page_size to this parser, and refuses any other.
blp.PAGINATION_ARGUMENTS_PARSER = FlaskParser()


@blp.route("/contacts")
class Contacts(MethodView):
    """The whole contact book."""

    @blp.arguments(ContactSearchSchema, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, ContactSchema(many=True))
    @blp.paginate(page_size=100, max_page_size=10_000)
    def get(self, q, pagination_parameters):
        """Contacts in the order added, a page at a time; `q`: those whose name starts with it."""
        page = pagination_parameters
        contacts, page.item_count = services().contacts.page(
            current_user(), page.first_item, page.page_size, q)
        return contacts

    @blp.arguments(ContactSchema)
    @blp.response(201, ContactViewSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, contact):
        """Add a contact; 409 if one of that name exists."""
        name, user = contact.pop("name"), current_user()
        if not services().contacts.create(user, name, contact, profile=contact):
            raise ApiError(409, f"A contact named {name!r} exists; PUT /contacts/{{name}} replaces it.",
                           {"json": {"name": ["A contact of this name exists."]}})
        release_waiting(user, name, contact)
        return _view(user, name, contact)


@blp.route("/contacts/import")
@body_limit("max_import_bytes")
class Import(MethodView):
    """A whole book in one request."""

    @blp.arguments(ImportModeSchema, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, ImportedSchema)
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": ContactSchema}},
        CSV_TYPE: {"schema": {"type": "string"},
                   "example": "name,telegram,whatsapp,viber,timezone,field.code\n"
                              "Artem,ArtemZaitsev,+799200828615,,Europe/Moscow,A1\n"},
    }})
    def post(self, mode):
        """Add or replace many contacts (a JSON list, or CSV with a name,telegram,whatsapp,viber header).

        A CSV file may also have a `timezone` column (empty: null) and a
        `field.<key>` column per field (empty: the contact has no such field).

        A Telegram chat id it gives a contact releases that contact's
        deliveries waiting for one, as a single contact's write does.

        All rows are checked first: any bad one is a 422 listing each bad row
        (item or line number, the first 1,000) and nothing is written.
        `mode=replace` also removes the contacts the body does not hold. One
        import of a book runs at a time: another waits for it, up to 60 s,
        then is a 409 with Retry-After; so of two replaces the later wins
        whole. A CSV cell written with a quote before =, +, -, @, a tab or a
        carriage return (as `contacts export` writes one) loses that quote.
        Not one transaction: if
        the service dies part way, some contacts are written and none removed;
        sending the same import again completes it. The body may be
        MAX_IMPORT_BYTES long (64 MiB as shipped), not MAX_BODY_BYTES, and
        hold MAX_IMPORT_CONTACTS contacts (100,000); past either it is a 413.
        """
        svc, user, chat_ids = services(), current_user(), {}
        book = Book(request, svc.config.max_import_contacts)
        try:
            imported = svc.contacts.import_book(user, noting_chat_ids(book, chat_ids), book.count,
                                                replace=mode == "replace")
        except ImportBusy:
            raise ApiError(409, "Another import of your contact book is still running; send this one "
                                f"again in {IMPORT_RETRY_AFTER} s.",
                           headers={"Retry-After": str(IMPORT_RETRY_AFTER)}) from None
        release_imported(user, chat_ids)
        return imported


@blp.route("/contacts/<contact:name>", merge_slashes=False)
class Contact(MethodView):
    """One contact, by its (URL-encoded) name."""

    @blp.response(200, ContactViewSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, name):
        """One contact."""
        user = current_user()
        found = _stored(name, lambda as_named: _named(services().contacts.get(user, as_named), as_named))
        if found is None:
            raise _not_found(name)
        return _view(user, *found)

    @blp.arguments(ContactIdsSchema)
    @blp.response(200, ContactViewSchema)
    def put(self, ids, name):
        """Create the contact, or replace it: its IDs, time zone and fields (one left out: none).

        A Telegram chat id given here sends the contact's deliveries that
        wait for one (`awaiting_contact`) to it at once, as an invite does.
        """
        # Every ID is optional, so only this tells a forgotten body from "no messengers".
        if not isinstance(request.get_json(silent=True), dict):
            raise ApiError(400, "The request body must be a JSON object of messenger IDs.",
                           {"json": ["Missing or not a JSON object."]})
        try:
            name = ContactName().deserialize(name)
        except ValidationError as exc:
            raise ApiError(422, f"Invalid contact name: {' '.join(exc.messages)}",
                           {"path": {"name": exc.messages}}) from None
        user = current_user()
        services().contacts.add(user, name, ids, profile=ids)
        release_waiting(user, name, ids)
        return _view(user, name, ids)

    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, name):
        """Remove the contact."""
        user = current_user()
        if not _stored(name, lambda as_named: services().contacts.remove(user, as_named)):
            raise _not_found(name)


@blp.route("/contacts/<contact:name>/unblock", merge_slashes=False)
class Unblock(MethodView):
    """Deliveries to a contact's blocked messenger IDs, allowed again."""

    @blp.arguments(UnblockSchema, required=False)
    @blp.response(200, ContactViewSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body, name):
        """Unblock the contact's messengers (all, or those named); the contact as it is now.

        A messenger where the person opted out stays blocked until they
        come back (/start, START, a new subscription): unblocking it is a
        409 naming `force` unless the body says `"force": true`.
        """
        svc, user = services(), current_user()
        found = _stored(name, lambda as_named: _named(svc.contacts.get(user, as_named), as_named))
        if found is None:
            raise _not_found(name)
        messengers = body.get("messengers") or MESSENGERS
        opted_out = [m for m in svc.blocked.opted_out(user, {"name": found[0], **found[1]}) if m in messengers]
        if opted_out and not body.get("force"):
            raise ApiError(409, f"{found[0]!r} opted out on {', '.join(opted_out)} (the person asked for no "
                                "more messages); send \"force\": true to unblock anyway.",
                           {"json": {"force": [f"Opted out on {', '.join(opted_out)}."]}})
        svc.blocked.unblock(user, found[0], messengers)
        return _view(user, *found)
