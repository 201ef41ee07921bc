"""The body of POST /api/v1/contacts/import read and checked in full: a JSON list or CSV.

Every bad row is listed with where it is (a JSON list's item number, a CSV
file's line number counting the header as line 1); one bad row and nothing
is written. A CSV file's `timezone` column is the contact's time zone (empty:
null) and each `field.<key>` column one of its fields (empty: not set).
"""

import csv
import io

from marshmallow import ValidationError

from api.errors import ApiError
from api.v1.schemas import ContactSchema
from core.config import MESSENGERS

CSV_TYPE = "text/csv"
COLUMNS = ("name", *MESSENGERS, "timezone")
FIELD_COLUMN = "field."


def read_book(request, limit: int) -> list:
    """The contacts of an import request, each as ContactSchema loads it, in order."""
    if request.mimetype == CSV_TYPE:
        location, rows = "csv", _csv_rows(request.get_data())
    else:
        location, rows = "json", _json_rows(request.get_json(silent=True))
    if len(rows) > limit:
        raise ApiError(413, f"An import holds at most {limit:,} contacts; this one has {len(rows):,}.",
                       {location: [f"At most {limit} contacts."]})
    return _checked(location, rows)


def _json_rows(body):
    if not isinstance(body, list):
        raise ApiError(422, "The body must be a JSON list of contacts, or CSV sent as text/csv.",
                       {"json": ["Must be a list of contacts."]})
    return [(f"item {n}", item) for n, item in enumerate(body, 1)]


def _csv_rows(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(422, f"The CSV is not UTF-8 text (byte {exc.start + 1}).",
                       {"csv": ["Not UTF-8 text."]}) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unknown = [column for column in header
               if column not in COLUMNS and not column.startswith(FIELD_COLUMN)]
    if "name" not in header or unknown:
        problem = f"unknown column {unknown[0]!r}" if unknown else "no name column"
        known = f"{','.join(COLUMNS)} or {FIELD_COLUMN}<key>"
        raise ApiError(422, f"The CSV's header line must name columns of {known}: {problem}.",
                       {"csv": {"line 1": [f"Columns of {known}, name among them."]}})
    rows = []
    try:
        for row in reader:
            rows.append((f"line {reader.line_num}", row if None in row else _from_csv(row)))
    except csv.Error as exc:
        raise ApiError(422, f"The CSV cannot be read at line {reader.line_num}: {exc}.",
                       {"csv": {f"line {reader.line_num}": [str(exc)]}}) from None
    return rows


def _from_csv(row: dict) -> dict:
    """A CSV row as the JSON contact it stands for."""
    contact = {column: value for column, value in row.items() if not column.startswith(FIELD_COLUMN)}
    if "timezone" in contact:
        contact["timezone"] = contact["timezone"] or None
    contact["fields"] = {column[len(FIELD_COLUMN):]: value for column, value in row.items()
                         if column.startswith(FIELD_COLUMN) and value}
    return contact


def _checked(location, rows) -> list:
    schema = ContactSchema()
    contacts, problems, first_seen = [], {}, {}
    for where, row in rows:
        try:
            contact = _contact(schema, row)
        except ValidationError as exc:
            problems[where] = exc.messages
            continue
        name = contact["name"]
        if name in first_seen:
            problems[where] = {"name": [f"{name!r} appears twice (first at {first_seen[name]})."]}
            continue
        first_seen[name] = where
        contacts.append(contact)
    if problems:
        listed = ", ".join(list(problems)[:10]) + (", ..." if len(problems) > 10 else "")
        raise ApiError(422, f"{len(problems):,} bad row(s), nothing imported: {listed}.",
                       {location: problems})
    return contacts


def _contact(schema, row) -> dict:
    if not isinstance(row, dict):
        raise ValidationError(["A contact must be an object."])
    if None in row:
        # csv.DictReader's key for the values beyond the header's columns.
        raise ValidationError(["More values than the header has columns."])
    return schema.load(row)
