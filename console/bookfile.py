"""Contact books as files: CSV (name,telegram,whatsapp,viber) or JSON (the API's contacts).

A contact's time zone and fields are written only when it has them: in JSON
as `timezone` and `fields`, in CSV as a `timezone` column and a `field.<key>`
column per key any contact has (an empty cell: not set). A file without them
imports contacts without them.

A CSV cell that a spreadsheet would read as a formula (one that starts with
=, +, -, @, a tab or a carriage return) is written with a quote before it,
and read without it (core/csv_cells.py): a phone number +7999... reads back
as it was. A name is read in Unicode's NFC form, as the server keeps it.
"""

import csv
import io
import json
import unicodedata
from pathlib import Path

from core.config import MESSENGERS
from core.csv_cells import neutralised, restored

FIELDS = ("name", *MESSENGERS)
FORMATS = ("csv", "json")
TIMEZONE = "timezone"
PROFILE_FIELDS = "fields"
FIELD_COLUMN = "field."


class BookError(ValueError):
    """A file that is not a contact book; the message says where and why."""


def format_for(path: str | None, chosen: str | None, default: str = "json") -> str:
    """The format to use: the one chosen, else the file's extension, else the default."""
    if chosen:
        return chosen
    suffix = Path(path).suffix.lower().lstrip(".") if path and path != "-" else ""
    if suffix in FORMATS:
        return suffix
    if suffix:
        raise BookError(f"Cannot tell the format of {path!r} from its extension: use --format csv or json.")
    return default


def dump(contacts: list[dict], fmt: str) -> str:
    """The text of a book file holding these contacts."""
    out = io.StringIO()
    write(out, contacts, fmt)
    return out.getvalue()


def _row(contact: dict) -> dict:
    """A contact as a JSON book holds it: its time zone and fields only if it has them."""
    row = {field: contact.get(field) or "" for field in FIELDS}
    if contact.get(TIMEZONE):
        row[TIMEZONE] = contact[TIMEZONE]
    if contact.get(PROFILE_FIELDS):
        row[PROFILE_FIELDS] = dict(contact[PROFILE_FIELDS])
    return row


def write(out, contacts, fmt: str) -> int:
    """Write a book file of these contacts to out as they come (any iterable); how many there were."""
    rows = (_row(contact) for contact in contacts)
    count = 0
    if fmt == "json":
        # The text json.dumps(list, indent=2) gives, one contact at a time.
        for count, row in enumerate(rows, 1):
            item = json.dumps(row, indent=2, ensure_ascii=False).replace("\n", "\n  ")
            out.write(("[\n  " if count == 1 else ",\n  ") + item)
        out.write("\n]\n" if count else "[]\n")
        return count
    # The header names every key any contact has, so the whole book comes first.
    rows = [_csv_row(row) for row in rows]
    columns = list(FIELDS)
    for row in rows:
        columns += [column for column in row if column not in columns]
    extra = sorted(columns[len(FIELDS):], key=lambda column: column != TIMEZONE)
    writer = csv.DictWriter(out, fieldnames=[*FIELDS, *extra], restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)


def _csv_row(row: dict) -> dict:
    """A JSON book's row as a CSV row: each field in its own field.<key> column."""
    fields = row.pop(PROFILE_FIELDS, {})
    return {column: neutralised(value)
            for column, value in {**row, **{FIELD_COLUMN + key: value for key, value in fields.items()}}.items()}


def load(text: str, fmt: str) -> list[dict]:
    """The contacts in a book file's text, checked: every one named, once, with known fields only."""
    return [contact for _, contact in located(text, fmt)]


def located(text: str, fmt: str) -> list[tuple]:
    """load()'s contacts, each with where it is in the file: [("line 2", contact), ...]."""
    rows = _json_rows(text) if fmt == "json" else _csv_rows(text)
    contacts, seen = [], set()
    for where, row in rows:
        unknown = sorted(set(row) - {*FIELDS, TIMEZONE, PROFILE_FIELDS})
        if unknown:
            raise BookError(f"{where}: unknown field {unknown[0]!r} "
                            f"(expected {', '.join((*FIELDS, TIMEZONE, PROFILE_FIELDS))}).")
        contact = {field: _text(row.get(field), where, field) for field in FIELDS}
        contact["name"] = unicodedata.normalize("NFC", contact["name"])
        contact.update(_profile(row, where))
        if not contact["name"]:
            raise BookError(f"{where}: the contact has no name.")
        if contact["name"] in seen:
            raise BookError(f"{where}: {contact['name']!r} appears twice.")
        seen.add(contact["name"])
        contacts.append((where, contact))
    return contacts


def _profile(row: dict, where: str) -> dict:
    """The time zone and fields a row gives, if it gives them (the server checks their values)."""
    profile = {}
    if TIMEZONE in row:
        profile[TIMEZONE] = _text(row[TIMEZONE], where, TIMEZONE) or None
    if PROFILE_FIELDS in row:
        fields = row[PROFILE_FIELDS]
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            raise BookError(f"{where}: fields must be an object of texts, not {json.dumps(fields)}.")
        profile[PROFILE_FIELDS] = {key: _field_value(value, where, key) for key, value in fields.items()}
    return profile


def _field_value(value, where, key) -> str:
    """A field's value as the file has it: kept exactly (spaces too), so an export reads back the same."""
    if not isinstance(value, str):
        raise BookError(f"{where}: fields.{key} must be text, not {json.dumps(value)}.")
    return value


def _json_rows(text):
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BookError(f"not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise BookError("a JSON book must be a list of contacts.")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise BookError(f"item {index + 1}: a contact must be a JSON object.")
    return [(f"item {index + 1}", item) for index, item in enumerate(data)]


def _csv_rows(text):
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "name" not in reader.fieldnames:
        raise BookError(f"a CSV book needs a header line with {','.join(FIELDS)}.")
    twice = sorted({column for column in reader.fieldnames if reader.fieldnames.count(column) > 1})
    if twice:
        raise BookError(f"line 1: the header names column {twice[0]!r} twice.")
    field_columns = [column for column in reader.fieldnames if column.startswith(FIELD_COLUMN)]
    rows = []
    for row in reader:
        if None in row:
            raise BookError(f"line {reader.line_num}: more values than header fields.")
        row = {column: value if value is None else restored(value) for column, value in row.items()}
        values = {column: row.pop(column) for column in field_columns}
        if field_columns:
            row[PROFILE_FIELDS] = {column[len(FIELD_COLUMN):]: value
                                   for column, value in values.items() if value}
        rows.append((f"line {reader.line_num}", row))
    return rows


def _text(value, where, field) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BookError(f"{where}: {field} must be text, not {json.dumps(value)}.")
    return value.strip()
