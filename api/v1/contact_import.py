"""The body of POST /api/v1/contacts/import read and checked: a JSON list or CSV, streamed.

Every bad row is listed with where it is (a JSON list's item number, a CSV
file's line number counting the header as line 1); one bad row and nothing
is written. A CSV file's `timezone` column is the contact's time zone (empty:
null) and each `field.<key>` column one of its fields (empty: not set); a
cell that starts with a quote before =, +, -, @, a tab or a carriage return
loses that quote (core/csv_cells.py), as `contacts export` writes it.

The body is read twice, a row at a time: once to check and count its rows,
stopping one past the limit, and once to hand them to the writer. No list
of the rows is ever held, so an import's memory grows with its body's bytes
only, never with the rows they hold.
"""

import csv
import io
from collections import Counter

from marshmallow import ValidationError

from api.bodies import MAX_ITEM_CHARS, decoded, json_list
from api.errors import ApiError
from api.v1.schemas import ContactSchema
from core.config import MESSENGERS
from core.csv_cells import restored

CSV_TYPE = "text/csv"
COLUMNS = ("name", *MESSENGERS, "timezone")
FIELD_COLUMN = "field."
# Bad rows an answer lists in `errors`; the message counts them all.
LISTED_MAX = 1000


class Book:
    """An import request's contacts, checked: how many, and each again in order on iteration."""

    def __init__(self, request, limit: int):
        data = request.get_data(cache=True)
        if request.mimetype == CSV_TYPE:
            self._location, self._rows = "csv", lambda: _csv_rows(data)
            _check_utf8(data)
        else:
            self._location, self._rows = "json", lambda: _json_rows(data)
        self.count = _check(self._location, self._rows(), limit)

    def __iter__(self):
        """The contacts, each as ContactSchema loads it, in the body's order."""
        schema = ContactSchema()
        return (_contact(schema, row) for _, row in self._rows())


def _json_rows(data: bytes):
    def not_a_list():
        return ApiError(422, "The body must be a JSON list of contacts, or CSV sent as text/csv.",
                        {"json": ["Must be a list of contacts."]})
    return ((f"item {n}", item) for n, item in enumerate(json_list(data, not_a_list), 1))


def _check_utf8(data: bytes):
    try:
        for _ in decoded(data):
            pass
    except UnicodeDecodeError as exc:
        raise ApiError(422, f"The CSV is not UTF-8 text (byte {exc.start + 1}).",
                       {"csv": ["Not UTF-8 text."]}) from None


def _lines(data: bytes):
    """The CSV's lines (its UTF-8 checked first), each at most MAX_ITEM_CHARS long."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    number = 0
    while line := text.readline(MAX_ITEM_CHARS + 1):
        number += 1
        if len(line) > MAX_ITEM_CHARS:
            raise ApiError(422, f"Line {number} of the CSV is longer than {MAX_ITEM_CHARS:,} characters.",
                           {"csv": {f"line {number}": [f"Longer than {MAX_ITEM_CHARS:,} characters."]}})
        yield line


def _csv_rows(data: bytes):
    reader = csv.DictReader(_lines(data))
    header = reader.fieldnames or []
    twice = [column for column, times in Counter(header).items() if times > 1]
    if twice:
        raise ApiError(422, f"The CSV's header line names column {twice[0]!r} twice.",
                       {"csv": {"line 1": [f"Names {column!r} twice." for column in twice]}})
    unknown = [column for column in header
               if column not in COLUMNS and not column.startswith(FIELD_COLUMN)]
    if "name" not in header or unknown:
        problem = f"unknown column {unknown[0]!r}" if unknown else "no name column"
        known = f"{','.join(COLUMNS)} or {FIELD_COLUMN}<key>"
        raise ApiError(422, f"The CSV's header line must name columns of {known}: {problem}.",
                       {"csv": {"line 1": [f"Columns of {known}, name among them."]}})
    try:
        for row in reader:
            yield f"line {reader.line_num}", row if None in row else _from_csv(row)
    except csv.Error as exc:
        raise ApiError(422, f"The CSV cannot be read at line {reader.line_num}: {exc}.",
                       {"csv": {f"line {reader.line_num}": [str(exc)]}}) from None


def _from_csv(row: dict) -> dict:
    """A CSV row as the JSON contact it stands for."""
    row = {column: value if value is None else restored(value) for column, value in row.items()}
    contact = {column: value for column, value in row.items() if not column.startswith(FIELD_COLUMN)}
    if "timezone" in contact:
        contact["timezone"] = contact["timezone"] or None
    contact["fields"] = {column[len(FIELD_COLUMN):]: value for column, value in row.items()
                         if column.startswith(FIELD_COLUMN) and value}
    return contact


def _check(location, rows, limit) -> int:
    """How many rows there are; ApiError 413 one past the limit, else 422 listing every bad row."""
    schema = ContactSchema()
    count, problems, bad, first_seen = 0, {}, 0, {}
    for where, row in rows:
        count += 1
        if count > limit:
            raise ApiError(413, f"An import holds at most {limit:,} contacts; this one has more.",
                           {location: [f"At most {limit} contacts."]})
        try:
            name = _contact(schema, row)["name"]
            if name in first_seen:
                raise ValidationError({"name": [f"{name!r} appears twice (first at {first_seen[name]})."]})
            first_seen[name] = where
        except ValidationError as exc:
            bad += 1
            if len(problems) < LISTED_MAX:
                problems[where] = exc.messages
    if bad:
        listed = ", ".join(list(problems)[:10]) + (", ..." if bad > 10 else "")
        also = f" (the first {LISTED_MAX:,} in errors)" if bad > LISTED_MAX else ""
        raise ApiError(422, f"{bad:,} bad row(s), nothing imported: {listed}{also}.", {location: problems})
    return count


def _contact(schema, row) -> dict:
    if not isinstance(row, dict):
        raise ValidationError(["A contact must be an object."])
    if None in row:
        # csv.DictReader's key for the values beyond the header's columns.
        raise ValidationError(["More values than the header has columns."])
    return schema.load(row)
