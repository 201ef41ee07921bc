"""The CLI's parts that need no server: settings precedence, the config file, --at, tables, book files."""

import json
import os
import socket
import stat
from datetime import datetime, timedelta, timezone

import pytest
import wcwidth
from click.testing import CliRunner

from console import bookfile, userconfig
from console.app import main
from console.client import field_errors
from console.output import shorten, table
from console.session import Session
from console.when import describe, resolve
from helpers import free_ports

PLUS_ONE = timezone(timedelta(hours=1))
NOW = datetime(2030, 1, 31, 13, 0, 0, tzinfo=PLUS_ONE)
NO_SETTINGS = {"DISPATCHER_URL": None, "DISPATCHER_TOKEN": None, "DISPATCHER_CONFIG": None,
               "DISPATCHER_TIMEOUT": None, "API_PORT": None}


def run(args, env=None, **kwargs):
    """Invoke the CLI as `python cli.py` would, with the settings' variables cleared unless given."""
    env = {**NO_SETTINGS, **(env or {})}
    return CliRunner().invoke(main, args, env=env, prog_name="python cli.py", **kwargs)


@pytest.fixture
def config_file(tmp_path):
    """A config file path in a folder that does not exist yet."""
    return tmp_path / "conf" / "config.json"


def unreachable_url():
    """The URL of a port nobody listens on."""
    return f"http://127.0.0.1:{free_ports(1)[0]}"


# Settings precedence: option > environment > config file > default.

def test_server_option_beats_environment_and_config_file(config_file):
    userconfig.save(config_file, {"server": unreachable_url(), "token": "t"})
    option, env = unreachable_url(), unreachable_url()
    result = run(["--server", option, "--config", str(config_file), "whoami"], env={"DISPATCHER_URL": env})
    assert result.exit_code == 1
    assert f"Cannot reach the server at {option}: connection refused" in result.output


def test_environment_beats_config_file(config_file):
    userconfig.save(config_file, {"server": unreachable_url(), "token": "t"})
    env = unreachable_url()
    result = run(["whoami"], env={"DISPATCHER_URL": env, "DISPATCHER_CONFIG": str(config_file)})
    assert f"Cannot reach the server at {env}:" in result.output


def test_config_file_beats_default(config_file):
    saved = unreachable_url()
    userconfig.save(config_file, {"server": saved, "token": "t"})
    result = run(["--config", str(config_file), "whoami"])
    assert f"Cannot reach the server at {saved}:" in result.output


def test_default_server_comes_from_the_settings_module(config_file):
    session = Session(config_path=config_file)
    assert session.server == "http://127.0.0.1:8080"
    assert session.token is None


def test_token_precedence(config_file):
    userconfig.save(config_file, {"server": "http://saved", "token": "saved-token"})
    assert Session(token="given", config_path=config_file).token == "given"
    assert Session(config_path=config_file).token == "saved-token"


def test_without_any_token_the_cli_says_how_to_give_one(config_file):
    result = run(["--server", unreachable_url(), "--config", str(config_file), "contacts", "ls"])
    assert result.exit_code == 1
    assert "No token: pass --token, set DISPATCHER_TOKEN, or run 'login' once." in result.output


def test_config_file_location_follows_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert userconfig.default_path() == tmp_path / "dispatcher" / "config.json"


# The config file.

def test_config_file_is_written_owner_only(config_file):
    userconfig.save(config_file, {"server": "http://x", "token": "secret"})
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_file.parent.stat().st_mode) == 0o700
    assert json.loads(config_file.read_text()) == {"server": "http://x", "token": "secret"}


def test_config_file_made_readable_by_others_is_tightened_on_save(config_file):
    userconfig.save(config_file, {"token": "old"})
    os.chmod(config_file, 0o644)
    userconfig.save(config_file, {"token": "new"})
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert [p.name for p in config_file.parent.iterdir()] == ["config.json"]


def test_broken_config_file_is_a_clear_error(config_file):
    config_file.parent.mkdir()
    config_file.write_text("{not json")
    result = run(["--config", str(config_file), "whoami"])
    assert result.exit_code == 1
    assert f"The config file {config_file} is not valid JSON" in result.output


def test_logout_keeps_the_server_and_forgets_the_token(config_file):
    userconfig.save(config_file, {"server": "http://x", "token": "secret"})
    result = run(["--config", str(config_file), "logout"])
    assert result.exit_code == 0
    assert result.output == f"Forgot the token saved in {config_file}.\n"
    assert userconfig.load(config_file) == {"server": "http://x"}


# Connection errors.

def test_server_that_does_not_answer_times_out(config_file):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = run(["--server", url, "--token", "t", "--timeout", "0.3", "contacts", "ls"])
    assert result.exit_code == 1
    assert f"The server at {url} did not answer within 0.3s" in result.output


def test_server_url_without_a_scheme_is_a_clear_error():
    result = run(["--server", "localhost:8080", "--token", "t", "contacts", "ls"])
    assert result.exit_code == 1
    assert "The server URL 'localhost:8080' is not valid" in result.output


def test_field_errors_are_flattened_for_people():
    errors = {"json": {"to": ["Unknown contact 'Bob'."], "deliveries": {"0": {"to": ["Too long."]}}}}
    assert field_errors(errors) == ["to: Unknown contact 'Bob'.", "deliveries.0.to: Too long."]
    assert field_errors({"query": {"page": ["Must be at least 1."]}}) == ["page: Must be at least 1."]


# --at

@pytest.mark.parametrize("text, expected", [
    ("+30s", NOW + timedelta(seconds=30)),
    ("+10m", NOW + timedelta(minutes=10)),
    ("+1h30m", NOW + timedelta(hours=1, minutes=30)),
    ("+2d", NOW + timedelta(days=2)),
    ("14:05", datetime(2030, 1, 31, 14, 5, tzinfo=PLUS_ONE)),
    ("14:05:30", datetime(2030, 1, 31, 14, 5, 30, tzinfo=PLUS_ONE)),
    ("9:00", datetime(2030, 2, 1, 9, 0, tzinfo=PLUS_ONE)),  # already past today: tomorrow
    ("13:00", datetime(2030, 2, 1, 13, 0, tzinfo=PLUS_ONE)),  # exactly now counts as past
    ("2030-02-01T10:00:00+03:00", datetime(2030, 2, 1, 10, 0, tzinfo=timezone(timedelta(hours=3)))),
    ("2030-02-01T10:00Z", datetime(2030, 2, 1, 10, 0, tzinfo=timezone.utc)),
    ("2030-02-01 10:00", datetime(2030, 2, 1, 10, 0, tzinfo=PLUS_ONE)),  # no offset: local time
    ("now", NOW),
])
def test_at_forms(text, expected):
    assert resolve(text, NOW) == expected


@pytest.mark.parametrize("text", ["tomorrow", "+10", "10m", "+5x", "25:00", "12:60", "2030-13-01", ""])
def test_at_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        resolve(text, NOW)


def test_bad_at_is_a_usage_error():
    result = run(["--token", "t", "send", "hi", "--to", "A", "--at", "teatime"])
    assert result.exit_code == 2
    assert "Invalid value for '--at': 'teatime' is not a time. Use ISO 8601" in result.output


def test_resolved_time_is_said_back_in_local_time():
    assert describe(NOW + timedelta(minutes=5, seconds=3), NOW) == "2030-01-31 13:05:03 +01:00 (in 5m 3s)"
    assert describe(datetime(2030, 2, 1, 9, 0, tzinfo=timezone.utc), NOW) == (
        "2030-02-01 10:00:00 +01:00 (in 21h)")
    assert describe(NOW - timedelta(hours=1), NOW) == "2030-01-31 12:00:00 +01:00 (now: that time has passed)"


# Other usage errors exit 2 before any request.

@pytest.mark.parametrize("args, text", [
    (["send", "hi", "--to", "A", "--only", "telegram,sms"],
     "Invalid value for '--only': unknown messenger sms; choose from telegram,whatsapp,viber."),
    (["send", "hi", "--to", "A", "--only", ","], "no messenger named"),
    (["send", "hi"], "Missing option '--to'"),
    (["failed", "retry"], "Give a delivery ID or --all (not both)."),
    (["failed", "retry", "abc", "--all"], "Give a delivery ID or --all (not both)."),
    (["contacts", "edit", "Artem"], "Nothing to change"),
    (["contacts", "export", "book.txt"], "Cannot tell the format of 'book.txt'"),
    (["messages", "ls", "--page", "0"], "Invalid value for '--page'"),
    (["--timeout", "0", "contacts", "ls"], "Invalid value for '--timeout'"),
])
def test_usage_errors(args, text):
    result = run(["--server", unreachable_url(), "--token", "t", *args])
    assert result.exit_code == 2, result.output
    assert text in result.output


# Tables

def test_table_aligns_columns_and_marks_empty_cells():
    rows = [["Artem", "ArtemZaitsev", ""], ["Lera Long-Name", None, "+7"]]
    text = table(("name", "telegram", "viber"), rows)
    assert text.splitlines() == [
        "NAME            TELEGRAM      VIBER",
        "Artem           ArtemZaitsev  -",
        "Lera Long-Name  -             +7",
    ]


def test_table_pads_before_colouring():
    text = table(("status", "n"), [["sent", 1], ["failed", 2]], styles={0: lambda s: f"<{s}>"})
    assert text.splitlines()[1:] == ["<sent  >  1", "<failed>  2"]


FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466"  # one emoji of 7 code points
# Each takes a different number of terminal columns than of code points.
NAMES = ["Ёлка 🎄", "東京タワー", "Cafe\u0301", FAMILY, "Artem"]


def starts(line, cells):
    """The terminal column at which each cell begins in a rendered line."""
    found, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        found.append(wcwidth.wcswidth(line[:at]))
        at += len(cell)
    return found


def test_table_columns_line_up_in_terminal_columns_for_any_name():
    rows = [[name, f"@c{i}", "sent"] for i, name in enumerate(NAMES)]
    lines = table(("name", "telegram", "status"), rows).splitlines()
    cells = [["NAME", "TELEGRAM", "STATUS"], *rows]
    # 東京タワー is the widest name: 10 columns, though only 5 code points.
    assert [starts(line, row) for line, row in zip(lines, cells, strict=True)] == [[0, 12, 22]] * len(cells)


def test_shorten_counts_columns_and_cuts_between_whole_characters():
    assert shorten("東京タワー東京タワー", 9) == "東京タワ…"
    assert shorten(FAMILY * 3, 4) == FAMILY + "…"
    assert shorten("Cafe\u0301 " * 3, 9) == "Cafe\u0301 Caf…"
    assert shorten("Ёлка 🎄", 7) == "Ёлка 🎄"


# Book files

BOOK = [{"name": "Artem", "telegram": "ArtemZaitsev", "whatsapp": "+799200828615", "viber": ""},
        {"name": "Lera, Jr.", "telegram": "", "whatsapp": "", "viber": "+7000"}]


@pytest.mark.parametrize("fmt", bookfile.FORMATS)
def test_book_round_trips(fmt):
    assert bookfile.load(bookfile.dump(BOOK, fmt), fmt) == BOOK


def test_csv_book_has_a_header_and_leaves_missing_columns_empty():
    # A cell starting with + is quoted against spreadsheet formulas, and read back as it was.
    assert bookfile.dump(BOOK[:1], "csv") == (
        "name,telegram,whatsapp,viber\nArtem,ArtemZaitsev,'+799200828615,\n")
    assert bookfile.load(bookfile.dump(BOOK[:1], "csv"), "csv")[0]["whatsapp"] == "+799200828615"
    assert bookfile.load("name,viber\nLera,+7\n", "csv") == [
        {"name": "Lera", "telegram": "", "whatsapp": "", "viber": "+7"}]


@pytest.mark.parametrize("text, fmt, problem", [
    ('[{"name": "A", "sms": "1"}]', "json", "item 1: unknown field 'sms'"),
    ('[{"name": "A"}, {"name": "A"}]', "json", "item 2: 'A' appears twice"),
    ('[{"telegram": "x"}]', "json", "item 1: the contact has no name"),
    ('{"name": "A"}', "json", "a JSON book must be a list"),
    ('[{"name": "A", "viber": 7}]', "json", "item 1: viber must be text"),
    ("telegram\nx\n", "csv", "a CSV book needs a header line"),
    ("name,telegram\nA,x,extra\n", "csv", "line 2: more values than header fields"),
])
def test_bad_book_files_are_refused_with_the_place(text, fmt, problem):
    with pytest.raises(bookfile.BookError, match=problem):
        bookfile.load(text, fmt)


def test_format_comes_from_option_then_extension():
    assert bookfile.format_for("book.CSV", None) == "csv"
    assert bookfile.format_for("book.csv", "json") == "json"
    assert bookfile.format_for("-", None) == "json"


# Help and completion

@pytest.mark.parametrize("command", [
    [], ["login"], ["logout"], ["whoami"], ["completion"], ["send"],
    ["contacts"], ["contacts", "add"], ["contacts", "edit"], ["contacts", "rm"], ["contacts", "ls"],
    ["contacts", "show"], ["contacts", "import"], ["contacts", "export"],
    ["messages"], ["messages", "ls"], ["messages", "show"], ["messages", "cancel"],
    ["failed"], ["failed", "ls"], ["failed", "retry"], ["failed", "rm"],
    ["admin"], ["admin", "create-user"], ["admin", "tokens"], ["admin", "tokens", "issue"],
    ["admin", "tokens", "ls"], ["admin", "tokens", "revoke"],
])
def test_every_command_has_help_with_an_example(command):
    result = run([*command, "--help"])
    assert result.exit_code == 0
    assert f"Usage: python cli.py {' '.join(command)}".rstrip() in result.output
    assert "Example" in result.output or "Quick start" in result.output
    assert "python cli.py" in result.output.split("Example")[-1].split("Quick start")[-1]


def test_completion_script_registers_the_dispatcher_command():
    result = run(["completion", "bash"])
    assert result.exit_code == 0
    assert "_DISPATCHER_COMPLETE=bash_complete $1" in result.output
    assert "complete -o nosort -F _dispatcher_completion dispatcher" in result.output
