"""`contacts import` in one request and `contacts export` a page at a time, against the live stack."""

import json

BOOK = [{"name": f"c{i:04d}", "telegram": f"t{i}", "whatsapp": "", "viber": "v" if i % 2 else ""}
        for i in range(2500)]


def test_a_book_bigger_than_a_page_goes_out_and_back(cli, tmp_path):
    source = tmp_path / "source.json"
    source.write_text(json.dumps(BOOK))
    imported = cli("contacts", "import", str(source))
    assert imported.exit_code == 0, imported.output
    assert imported.output == "Imported 2500 contacts: 2500 new, 0 replaced.\n"
    # The API lists each with no time zone and no fields.
    assert json.loads(cli("contacts", "ls", "--json").stdout) == [
        {**contact, "timezone": None, "fields": {}} for contact in BOOK]

    for suffix in ("csv", "json"):
        exported = tmp_path / f"book.{suffix}"
        result = cli("contacts", "export", str(exported))
        assert result.stderr == f"Exported 2500 contacts to {exported}.\n"
        cli("contacts", "rm", "c0001", "--yes")
        cli("contacts", "add", "extra", "--telegram", "x")
        back = cli("contacts", "import", "--replace", str(exported))
        assert back.output == "Imported 2500 contacts: 1 new, 2499 replaced, 1 removed.\n"
        names = [c["name"] for c in json.loads(cli("contacts", "ls", "--json").stdout)]
        assert sorted(names) == [c["name"] for c in BOOK]


def test_rows_the_server_refuses_are_listed_and_nothing_is_written(cli, tmp_path):
    book = tmp_path / "book.csv"
    book.write_text("name,telegram\nArtem,a\n" + "x" * 101 + ",b\nLera,c\u0007\n")
    result = cli("contacts", "import", str(book))
    assert result.exit_code == 1
    assert result.output == (f"Error: {book}: 2 bad rows, nothing imported:\n"
                             "  line 3.name: Length must be between 1 and 100.\n"
                             "  line 4.telegram: Must not contain control characters.\n")
    assert cli("contacts", "ls", "--json").stdout == "[]\n"
