"""`python cli.py` against the live stack: connection, login and the contact book.

test_cli_messages.py covers sending, messages and failed deliveries; the
fixtures are in fixtures_cli.py.
"""

import json
import stat

import pytest

from helpers import free_ports

# Connection and login

def test_login_checks_the_token_and_saves_it_owner_only(stack, token, config_file, cli):
    result = cli("--server", stack.api_url, "--token", token, "login",
                 DISPATCHER_URL=None, DISPATCHER_TOKEN=None)
    assert result.exit_code == 0, result.output
    assert result.output == f"Logged in to {stack.api_url} as alice. Saved in {config_file}.\n"
    assert json.loads(config_file.read_text()) == {"server": stack.api_url, "token": token}
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    # The next runs need neither options nor environment.
    again = cli("whoami", DISPATCHER_URL=None, DISPATCHER_TOKEN=None)
    assert again.output == f"alice at {stack.api_url}\n"


def test_login_asks_for_the_token_when_none_is_given(stack, token, config_file, cli):
    result = cli("login", input=token + "\n", DISPATCHER_TOKEN=None)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Token: \nLogged in to")
    assert token not in result.output
    assert json.loads(config_file.read_text())["token"] == token


def test_login_with_a_refused_token_saves_nothing(config_file, cli):
    result = cli("--token", "not-a-token", "login")
    assert result.exit_code == 1
    assert result.output == (
        "Error: The server refused the token: A valid API token is required: "
        "send 'Authorization: Bearer <token>'.\n"
        "Check --token or DISPATCHER_TOKEN, or run 'login' with a valid token.\n")
    assert not config_file.exists()


def test_revoked_token_is_refused_on_any_command(users, token, cli):
    for found in users.list_tokens("alice"):
        users.revoke_token(found["id"])
    result = cli("contacts", "ls")
    assert result.exit_code == 1
    assert result.output.startswith("Error: The server refused the token:")


def test_unreachable_server(cli):
    url = f"http://127.0.0.1:{free_ports(1)[0]}"
    result = cli("--server", url, "contacts", "ls")
    assert result.exit_code == 1
    assert result.output == (f"Error: Cannot reach the server at {url}: connection refused. "
                             "Is it running? Point to it with --server or DISPATCHER_URL.\n")


def test_users_see_only_their_own_contacts(users, cli):
    cli("contacts", "add", "Artem", "--telegram", "ArtemZaitsev")
    bob = users.create_user("bob")
    assert cli("contacts", "ls", DISPATCHER_TOKEN=bob).stderr == "No contacts yet.\n"


# Contacts

def test_add_list_show_contacts(cli):
    added = cli("contacts", "add", "Artem", "--telegram", "ArtemZaitsev", "--whatsapp", "+799200828615")
    assert added.exit_code == 0, added.output
    assert added.output == "Added 'Artem' (on telegram, whatsapp).\n"
    cli("contacts", "add", "Lera Long-Name", "--viber", "+7000")

    listed = cli("contacts", "ls")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines() == [
        "NAME            TELEGRAM      WHATSAPP       VIBER",
        "Artem           ArtemZaitsev  +799200828615  -",
        "Lera Long-Name  -             -              +7000",
    ]
    assert json.loads(cli("contacts", "ls", "--json").stdout) == [
        {"name": "Artem", "telegram": "ArtemZaitsev", "whatsapp": "+799200828615", "viber": "",
         "timezone": None, "fields": {}},
        {"name": "Lera Long-Name", "telegram": "", "whatsapp": "", "viber": "+7000",
         "timezone": None, "fields": {}},
    ]
    shown = cli("contacts", "show", "Artem")
    assert shown.stdout == ("name:     Artem\ntelegram: ArtemZaitsev\n"
                            "whatsapp: +799200828615\nviber:    -\n"
                            "timezone: - (the service's TIMEZONE)\nfields:   -\nblocked:  -\n")
    assert json.loads(cli("contacts", "show", "Artem", "--json").stdout)["whatsapp"] == "+799200828615"


def test_empty_book_says_so_on_stderr(cli):
    result = cli("contacts", "ls")
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("", "No contacts yet.\n")
    assert cli("contacts", "ls", "--json").stdout == "[]\n"


def test_adding_an_existing_contact_is_refused_with_a_hint(cli):
    cli("contacts", "add", "Artem", "--telegram", "a")
    result = cli("contacts", "add", "Artem", "--telegram", "b")
    assert result.exit_code == 1
    assert "Error: A contact named 'Artem' exists" in result.output
    assert "  name: A contact of this name exists." in result.output
    assert "To change its IDs: python cli.py contacts edit Artem --telegram ID" in result.output


def test_unknown_contact(cli):
    for args in (["show", "Nobody"], ["edit", "Nobody", "--viber", "1"], ["rm", "Nobody", "--yes"]):
        result = cli("contacts", *args)
        assert result.exit_code == 1, args
        assert result.output == "Error: No contact named 'Nobody'.\n"


def test_invalid_field_shows_the_servers_field_errors(cli):
    result = cli("contacts", "add", "Artem", "--telegram", "x" * 300)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "\n  telegram: " in result.output


def test_edit_changes_only_what_is_given(cli):
    cli("contacts", "add", "Artem", "--telegram", "ArtemZaitsev", "--whatsapp", "+7992")
    result = cli("contacts", "edit", "Artem", "--viber", "+7000", "--whatsapp", "")
    assert result.exit_code == 0, result.output
    assert result.output == "Updated 'Artem' (on telegram, viber).\n"
    assert json.loads(cli("contacts", "show", "Artem", "--json").stdout) == {
        "name": "Artem", "telegram": "ArtemZaitsev", "whatsapp": "", "viber": "+7000",
        "timezone": None, "fields": {}, "blocked": []}


def test_rm_asks_first(cli):
    cli("contacts", "add", "Artem", "--telegram", "a")
    kept = cli("contacts", "rm", "Artem", input="n\n")
    assert kept.exit_code == 1
    assert kept.output == "Remove contact 'Artem'? [y/N]: n\nAborted!\n"
    assert cli("contacts", "show", "Artem").exit_code == 0
    removed = cli("contacts", "rm", "Artem", input="y\n")
    assert removed.exit_code == 0
    assert removed.output.endswith("Removed 'Artem'.\n")
    assert cli("contacts", "rm", "Artem", "--yes").exit_code == 1


def test_names_with_any_characters(cli):
    name = "Ivan / Petrov? #1 & 100%"
    assert cli("contacts", "add", name, "--telegram", "ivan").exit_code == 0
    assert json.loads(cli("contacts", "show", name, "--json").stdout)["name"] == name
    assert cli("contacts", "edit", name, "--viber", "v").exit_code == 0
    assert cli("contacts", "rm", name, "--yes").output == f"Removed {name!r}.\n"


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_export_then_import_moves_a_whole_book(cli, tmp_path, suffix):
    cli("contacts", "add", "Artem", "--telegram", "ArtemZaitsev", "--whatsapp", "+7992")
    cli("contacts", "add", "Lera, Jr.", "--viber", "+7000")
    book = tmp_path / f"book.{suffix}"
    exported = cli("contacts", "export", str(book))
    assert exported.exit_code == 0
    assert exported.stderr == f"Exported 2 contacts to {book}.\n"
    before = cli("contacts", "ls", "--json").stdout

    for name in ("Artem", "Lera, Jr."):
        cli("contacts", "rm", name, "--yes")
    cli("contacts", "add", "Artem", "--telegram", "changed")
    imported = cli("contacts", "import", str(book))
    assert imported.exit_code == 0, imported.output
    assert imported.output == "Imported 2 contacts: 1 new, 1 replaced.\n"
    assert cli("contacts", "ls", "--json").stdout == before


def test_export_to_stdout_and_import_from_stdin(cli):
    cli("contacts", "add", "Artem", "--telegram", "ArtemZaitsev")
    csv_text = cli("contacts", "export", "--format", "csv").stdout
    assert csv_text == "name,telegram,whatsapp,viber\nArtem,ArtemZaitsev,,\n"
    assert json.loads(cli("contacts", "export").stdout)[0]["telegram"] == "ArtemZaitsev"
    result = cli("contacts", "import", "--format", "csv", "-", input="name,viber\nLera,+7000\n")
    assert result.output == "Imported 1 contact: 1 new, 0 replaced.\n"


def test_import_of_a_missing_file(cli, tmp_path):
    result = cli("contacts", "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1
    assert result.output == f"Error: Cannot read {tmp_path / 'missing.csv'}: No such file or directory.\n"


def test_import_checks_the_whole_file_before_writing(cli, tmp_path):
    book = tmp_path / "book.csv"
    book.write_text("name,telegram\nArtem,a\nArtem,b\n")
    result = cli("contacts", "import", str(book))
    assert result.exit_code == 1
    assert result.output == f"Error: {book}: line 3: 'Artem' appears twice.\n"
    assert cli("contacts", "ls", "--json").stdout == "[]\n"
