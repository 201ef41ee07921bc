"""The console's Contacts: the book a page at a time or searched by name, one contact's page, import and export.

The list reads the book in ranges of order numbers (ContactBook.window), its
pages linked by the order number of the contact at either end, so a page of
a book of 100,000 answers as quickly as one of a book of 100; a search reads
the contacts whose name starts with it, numbered pages, as
GET /api/v1/contacts?q= does. Every change (add, edit, delete, unblock,
invite, import) is a call to /api/v1 from contacts.js or console.js. Only
the export is answered here: the API has no export, and a page of it at a
time would read the book 10,000 contacts per request.
"""

import csv
import io
import json
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response, g, render_template, request, url_for
from redis.exceptions import RedisError

from api.errors import ApiError
from api.fields import NAME_MAX
from api.services import services
from api.v1.invites import existing_contact
from api.web.blueprint import bp
from api.web.paging import requested_page
from core.config import MESSENGERS
from core.contacts import TIME_ZONES, WINDOW_SPAN_MAX
from core.csv_cells import neutralised

PAGE_SIZE = 50
LABELS = {"telegram": "Telegram", "whatsapp": "WhatsApp", "viber": "Viber"}
# Flask adds "; charset=utf-8" to a text/ type.
EXPORT_TYPES = {"csv": "text/csv", "json": "application/json"}
# An order number in a page's link: a whole number, as long as one can be.
CURSOR_DIGITS = 18


@dataclass(frozen=True)
class Listing:
    """The contacts a list page shows, where they are in the book, and the links to the pages around it."""

    contacts: list
    number: int
    total: int | None = None
    previous: str | None = None
    next: str | None = None

    @property
    def first(self) -> int:
        """The place in the list of the first contact shown, from 1."""
        return (self.number - 1) * PAGE_SIZE + 1

    @property
    def last_number(self) -> int | None:
        """The number of the last page, when the total is known."""
        return None if self.total is None else max(1, -(-self.total // PAGE_SIZE))


def contact_api(name: str) -> str:
    """The contact's /api/v1 path, its name URL-encoded whole (a '/' too)."""
    return "/api/v1/contacts/" + quote(name, safe="")


def _shown(user, contact: dict) -> dict:
    """A contact with its blocked messengers (None while Redis is away) and its API path."""
    try:
        blocked = services().blocked.blocked(user, contact)
    except RedisError:
        blocked = None
    return {**contact, "blocked": blocked, "api": contact_api(contact["name"])}


def _search_text() -> str:
    """The page's q, in Unicode's NFC form as names are kept; 400 naming `q` past a name's length."""
    q = unicodedata.normalize("NFC", request.args.get("q", ""))
    if len(q) > NAME_MAX:
        raise ApiError(400, f"A search is at most {NAME_MAX} characters.",
                       errors={"query": {"q": [f"Longer than {NAME_MAX}."]}})
    return q if q.strip() else ""


def _cursor(name: str) -> int | None:
    """The order number ?after= or ?before= gives; 400 naming it for anything but a whole number."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > CURSOR_DIGITS:
        raise ApiError(400, f"{name} must be a contact's order number.", errors={"query": {name: ["Not a number."]}})
    return int(raw)


def _browse() -> Listing:
    """A page of the whole book in the order added, after or before a contact's order number."""
    after, before = _cursor("after"), _cursor("before")
    if after is not None and before is not None:
        raise ApiError(400, "A page is after a contact or before one, not both.",
                       errors={"query": {"before": ["Not with after."]}})
    book, user = services().contacts, g.user
    number = requested_page(PAGE_SIZE).number
    if before is not None:
        found = book.window(user, PAGE_SIZE + 1, before=before)
        shown = found[-PAGE_SIZE:]
        more_before = len(found) > PAGE_SIZE
        more_after = bool(shown) and bool(book.window(user, 1, after=shown[-1]["seq"]))
    else:
        found = book.window(user, PAGE_SIZE + 1, after=-1 if after is None else after)
        shown = found[:PAGE_SIZE]
        more_after = len(found) > PAGE_SIZE
        more_before = after is not None and bool(shown) and bool(book.window(user, 1, before=shown[0]["seq"]))
    if shown and not more_before:
        number = 1
    return Listing(
        [_shown(user, contact) for contact in shown], number,
        previous=url_for("console.contacts", before=shown[0]["seq"], page=max(1, number - 1)) if more_before else None,
        next=url_for("console.contacts", after=shown[-1]["seq"], page=number + 1) if more_after else None)


def _search(q: str) -> Listing:
    """A numbered page of the contacts whose name starts with q, in the order added."""
    page = requested_page(PAGE_SIZE)
    found, total = services().contacts.page(g.user, page.first, page.size, q)
    page = page.counted(total)
    return Listing(
        [_shown(g.user, contact) for contact in found], page.number, total,
        previous=url_for("console.contacts", q=q, page=page.number - 1) if page.number > 1 else None,
        next=url_for("console.contacts", q=q, page=page.number + 1) if page.number < page.last_number else None)


@bp.get("/contacts")
def contacts():
    """The user's contacts, 50 a page in the order added, or those whose name starts with ?q=."""
    q = _search_text()
    return render_template("console/contacts.html", q=q, listing=_search(q) if q else _browse(),
                           paged="after" in request.args or "before" in request.args,
                           messengers=MESSENGERS, labels=LABELS)


@bp.get("/contacts/new")
def contact_new():
    """The form that adds a contact."""
    return render_template("console/contact_new.html", messengers=MESSENGERS, labels=LABELS,
                           time_zones=TIME_ZONES)


@bp.get("/contacts/edit")
def contact():
    """One contact by ?name=: its IDs and whether they are blocked, its edit form, invites and removal."""
    user, name = g.user, request.args.get("name", "")
    stored = existing_contact(user, name) if name else None
    found = None if stored is None else services().contacts.get(user, stored)
    if found is None:
        raise ApiError(404, f"No contact named {name!r}.")
    shown = _shown(user, {"name": stored, **found})
    try:
        opted_out = services().blocked.opted_out(user, shown)
    except RedisError:
        opted_out = []
    return render_template("console/contact.html", contact=shown, opted_out=opted_out, messengers=MESSENGERS,
                           labels=LABELS, time_zones=TIME_ZONES, invite_days=services().config.invite_ttl_days)


@bp.get("/contacts/import")
def contact_import():
    """The form that imports a CSV or JSON file into the book."""
    config = services().config
    return render_template("console/contact_import.html", max_contacts=config.max_import_contacts,
                           max_mib=config.max_import_bytes // (1024 * 1024))


@bp.get("/contacts/export")
def contact_export():
    """The whole book as a file ?format=csv (the default) or json, of the columns and keys `contacts import` reads."""
    fmt = request.args.get("format", "csv")
    if fmt not in EXPORT_TYPES:
        raise ApiError(400, "format must be csv or json.", errors={"query": {"format": ["Must be csv or json."]}})
    book, user = services().contacts, g.user
    chunks = _csv_file(book, user) if fmt == "csv" else _json_file(book, user)
    return Response(chunks, mimetype=EXPORT_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="contacts.{fmt}"'})


def _windows(book, user):
    """The user's contacts in the order added, a window of WINDOW_SPAN_MAX at a time."""
    after = -1
    while batch := book.window(user, WINDOW_SPAN_MAX, after=after):
        yield batch
        after = batch[-1]["seq"]


def _row(contact: dict) -> dict:
    """A contact as a JSON book holds it: its time zone and fields only if it has them."""
    row = {"name": contact["name"], **{m: contact[m] for m in MESSENGERS}}
    if contact["timezone"]:
        row["timezone"] = contact["timezone"]
    if contact["fields"]:
        row["fields"] = contact["fields"]
    return row


def _json_file(book, user):
    """A JSON book, a contact a line, produced a window at a time as it is read."""
    opening = "[\n"
    for batch in _windows(book, user):
        yield opening + ",\n".join(json.dumps(_row(contact), ensure_ascii=False) for contact in batch)
        opening = ",\n"
    yield "[]\n" if opening == "[\n" else "\n]\n"


def _csv_file(book, user):
    """A CSV book with a byte-order mark, so that a spreadsheet reads it as UTF-8.

    Its header names a timezone column if a contact has a time zone, and a
    field.<key> column for each key a contact has, so the book is read
    twice: once for its columns (before the answer starts, so that a store
    out of reach is an error page), once for its rows.
    """
    zoned, keys = False, {}
    for batch in _windows(book, user):
        for contact in batch:
            zoned = zoned or bool(contact["timezone"])
            keys.update(dict.fromkeys(contact["fields"]))
    header = ["name", *MESSENGERS, *(["timezone"] if zoned else []), *(f"field.{key}" for key in keys)]

    def cells(contact):
        return [contact["name"], *(contact[m] for m in MESSENGERS), *([contact["timezone"] or ""] if zoned else []),
                *(contact["fields"].get(key, "") for key in keys)]

    def text(rows):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([neutralised(cell) for cell in row] for row in rows)
        return out.getvalue()

    def chunks():
        yield "\ufeff" + text([header])
        for batch in _windows(book, user):
            yield text(cells(contact) for contact in batch)
    return chunks()
