"""`python cli.py send`, `messages ...` and `failed ...` against the live stack, the command line
guide's quick start too."""

import json
import os
import pty
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from apiclient import received
from fixtures_cli import lines
from helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def book(cli):
    """Artem on Telegram and WhatsApp, Lera on Telegram and Viber (which always fails)."""
    for args in (["Artem", "--telegram", "ArtemZaitsev", "--whatsapp", "+799200828615"],
                 ["Lera", "--telegram", "lera", "--viber", "+79001234567"]):
        assert cli("contacts", "add", *args).exit_code == 0


def sent_json(cli, *args, **kwargs):
    """Send with --json; the message the server answered."""
    result = cli("send", *args, "--json", **kwargs)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def failed_records(cli):
    """failed ls --json."""
    return json.loads(cli("failed", "ls", "--json").stdout)


def test_the_command_line_quick_start(stack, cli, book):
    result = cli("send", "Hello there", "--to", "Artem", "--to", "Lera", "--at", "+5s", "--wait")
    # Viber always fails here, so the send as a whole reports a failure.
    assert result.exit_code == 1
    out = result.stdout.splitlines()
    said = r"Message (\w+): 4 deliveries to Artem \(telegram, whatsapp\); Lera \(telegram, viber\)\."
    message_id = re.fullmatch(said, out[0]).group(1)
    assert re.fullmatch(r"Sends at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d \(in [45]s\)\.", out[1])
    assert [line.split()[:4] for line in out[2:]] == [
        ["CONTACT", "MESSENGER", "STATUS", "ATTEMPTS"],
        ["Artem", "telegram", "sent", "1"],
        ["Artem", "whatsapp", "sent", "1"],
        ["Lera", "telegram", "sent", "1"],
        ["Lera", "viber", "failed", "5"],
    ]
    assert out[-1].endswith("HTTP 500: viber is unavailable")
    assert result.stderr == ("Error: 1 of 4 deliveries failed: Lera on viber. "
                             "See them with: python cli.py failed ls\n")

    arrived = received(stack)
    assert sorted((r["messenger"], r["to"]) for r in arrived) == [
        ("telegram", "ArtemZaitsev"), ("telegram", "lera"), ("whatsapp", "+799200828615")]
    shown = json.loads(cli("messages", "show", message_id, "--json").stdout)
    due = datetime.fromisoformat(shown["not_before"])
    assert all(r["time"] >= due.timestamp() - 0.05 for r in arrived), (arrived, due)

    failed = cli("failed", "ls")
    assert failed.exit_code == 0
    header, row = lines(failed)
    assert header == ["DELIVERY", "FAILED", "AT", "CONTACT", "MESSENGER", "ATTEMPTS", "ERROR", "MESSAGE"]
    delivery_id = row[0]
    assert delivery_id.startswith(message_id)
    assert row[3:6] == ["Lera", "viber", "5"]
    assert failed.stdout.rstrip().endswith("HTTP 500: viber is unavailable  Hello there")
    first_failure = failed_records(cli)[0]["failed_at"]

    retried = cli("failed", "retry", delivery_id)
    assert retried.exit_code == 0
    assert retried.output == f"Retrying 1 delivery: {delivery_id}.\n"
    # Viber fails again: the record comes back, with a new failure time.
    again = wait_until(lambda: [r for r in failed_records(cli) if r["failed_at"] != first_failure],
                       timeout=30, message="the retried delivery failed again")
    assert (again[0]["delivery_id"], again[0]["attempts"]) == (delivery_id, 5)
    assert cli("messages", "show", message_id, "--json").stdout.count('"failed"') == 1


def test_send_now_and_wait_until_all_sent(stack, cli, book):
    result = cli("send", "Hi", "--to", "Artem", "--wait")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "Sending now.",
        "CONTACT  MESSENGER  STATUS  ATTEMPTS  LAST ERROR",
        "Artem    telegram   sent    1         -",
        "Artem    whatsapp   sent    1         -",
    ]
    # Piped: no colour, no progress bar.
    assert not ANSI.search(result.output) and "Delivering" not in result.output
    assert result.stderr == ""


def test_send_json_and_only(cli, book):
    message = sent_json(cli, "Hi", "--to", "Lera", "--to", "Artem", "--only", "telegram")
    assert set(message) >= {"id", "sender", "text", "not_before", "created_at", "status", "deliveries"}
    assert (message["sender"], message["text"]) == ("alice", "Hi")
    assert sorted((d["contact"], d["messenger"]) for d in message["deliveries"]) == [
        ("Artem", "telegram"), ("Lera", "telegram")]


def test_send_wait_json_prints_the_final_message(cli, book):
    result = cli("send", "Hi", "--to", "Artem", "--wait", "--json")
    assert result.exit_code == 0, result.output
    assert {d["status"] for d in json.loads(result.stdout)["deliveries"]} == {"sent"}


def test_send_reads_text_from_stdin(cli, book):
    message = sent_json(cli, "-", "--to", "Artem", input="Line one\nline two\n")
    assert message["text"] == "Line one\nline two"


def test_send_with_an_idempotency_key_sends_once(cli, book):
    first = sent_json(cli, "Hi", "--to", "Artem", "--idempotency-key", "k1")
    again = sent_json(cli, "Hi", "--to", "Artem", "--idempotency-key", "k1")
    assert again["id"] == first["id"]
    assert len(json.loads(cli("messages", "ls", "--json").stdout)) == 1


def test_send_to_an_unknown_contact_is_refused(cli, book):
    result = cli("send", "Hi", "--to", "Artem", "--to", "Nobody")
    assert result.exit_code == 1
    assert "\n  to: No contact named 'Nobody'.\n" in result.output
    assert result.stdout == ""


def test_send_at_a_clock_time_says_it_back(cli, book):
    result = cli("send", "Later", "--to", "Artem", "--at", "23:59:59")
    assert result.exit_code == 0, result.output
    said = result.stdout.splitlines()[1]
    assert re.fullmatch(r"Sends at \d{4}-\d\d-\d\d 23:59:59 [+-]\d\d:\d\d \(in .+\)\.", said), said


def test_wait_gives_up_after_its_timeout(stack, cli, book):
    stack.stop("worker")
    result = cli("send", "Hi", "--to", "Artem", "--only", "telegram", "--wait", "--wait-timeout", "1")
    assert result.exit_code == 1
    assert "Error: Gave up waiting after 1s past the send time (queued 1). " in result.stderr
    assert "Follow it with: python cli.py messages show " in result.stderr


def test_messages_ls_pages_newest_first(cli, book):
    for text in ("first", "second", "third"):
        sent_json(cli, text, "--to", "Artem", "--at", "+1h")
    page = cli("messages", "ls", "--page-size", "2")
    assert page.exit_code == 0
    rows = lines(page)
    assert rows[0] == ["ID", "CREATED", "NOT", "BEFORE", "STATUS", "DELIVERIES", "TEXT"]
    assert [(row[5], row[6:]) for row in rows[1:]] == [
        ("scheduled", ["scheduled", "2", "third"]), ("scheduled", ["scheduled", "2", "second"])]
    assert page.stderr == "Page 1 of 2 (3 messages); next: --page 2\n"
    last = cli("messages", "ls", "--page-size", "2", "--page", "2")
    assert [row[-1] for row in lines(last)[1:]] == ["first"] and last.stderr == ""
    listed = json.loads(cli("messages", "ls", "--json").stdout)
    assert [(m["text"], m["status"], m["counts"]) for m in listed] == [
        ("third", "scheduled", {"scheduled": 2}), ("second", "scheduled", {"scheduled": 2}),
        ("first", "scheduled", {"scheduled": 2})]


def test_messages_ls_when_there_are_none(cli):
    result = cli("messages", "ls")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "No messages.\n")


def test_messages_show_and_cancel(cli, book):
    message = sent_json(cli, "Later", "--to", "Lera", "--at", "+1h")
    shown = cli("messages", "show", message["id"])
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[0] == f"Message {message['id']}  scheduled"
    assert shown.stdout.splitlines()[1] == "Text:       Later"
    assert [row[:4] for row in lines(shown)[-3:]] == [
        ["CONTACT", "MESSENGER", "STATUS", "ATTEMPTS"],
        ["Lera", "telegram", "scheduled", "0"], ["Lera", "viber", "scheduled", "0"]]

    cancelled = cli("messages", "cancel", message["id"])
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.output == f"Cancelled 2 deliveries of message {message['id']}.\n"
    after = json.loads(cli("messages", "show", message["id"], "--json").stdout)
    assert after["status"] == "cancelled"
    assert {d["status"] for d in after["deliveries"]} == {"cancelled"}

    again = cli("messages", "cancel", message["id"], "--json")
    assert again.exit_code == 1
    assert json.loads(again.stdout)["cancelled"] == []
    assert again.stderr == (f"Error: Nothing to cancel: every delivery of message {message['id']} "
                            "had already started (cancelled 2).\n")


def test_unknown_message(cli):
    for command in ("show", "cancel"):
        result = cli("messages", command, "nope")
        assert result.exit_code == 1
        assert result.output == "Error: No message with id 'nope'.\n"


def test_failed_commands_on_unknown_ids_and_an_empty_list(cli):
    assert cli("failed", "ls").stderr == "No failed deliveries.\n"
    assert cli("failed", "ls", "--json").stdout == "[]\n"
    assert cli("failed", "retry", "--all").output == "Nothing to retry.\n"
    unknown = "0" * 32 + "-1"
    for args in (["retry", unknown], ["rm", unknown]):
        result = cli("failed", *args)
        assert result.exit_code == 1
        assert result.output == f"Error: No failed delivery with id '{unknown}'.\n"


def test_failed_retry_all_and_rm(cli, book):
    for text in ("one", "two"):
        sent_json(cli, text, "--to", "Lera", "--only", "viber")
    records = wait_until(lambda: len(failed_records(cli)) == 2 and failed_records(cli), timeout=30)
    retried = cli("failed", "retry", "--all", "--json")
    assert retried.exit_code == 0
    assert sorted(json.loads(retried.stdout)["retried"]) == sorted(r["delivery_id"] for r in records)
    wait_until(lambda: len(failed_records(cli)) == 2, timeout=30, message="both failed again")

    gone = records[0]["delivery_id"]
    removed = cli("failed", "rm", gone)
    assert removed.output == f"Dismissed failed delivery {gone}.\n"
    assert [r["delivery_id"] for r in failed_records(cli)] == [records[1]["delivery_id"]]


# As a person at a terminal, and as the shell completing a command line.

def run_on_terminal(args, env, timeout=30):
    """Run `python cli.py ARGS` with stdout and stderr on a pseudo-terminal; (exit code, what it showed)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "cli.py", *args], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.wait(timeout=timeout), shown.decode()


def cli_env(stack, token, **more):
    """The environment of a `python cli.py` process acting as the test's user."""
    return {**os.environ, "DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token, **more}


def test_progress_bar_and_colour_on_a_terminal(stack, token, book):
    args = ["send", "Hi", "--to", "Artem", "--at", "+1s", "--wait"]
    code, shown = run_on_terminal(args, cli_env(stack, token))
    assert code == 0, shown
    assert "Delivering" in shown and "2/2" in shown
    assert "\x1b[32msent" in shown  # sent, in green


def test_shell_completion_of_commands_and_contact_names(stack, token, book):
    def complete(words):
        env = cli_env(stack, token, _DISPATCHER_COMPLETE="bash_complete",
                      COMP_WORDS=" ".join(words), COMP_CWORD=str(len(words) - 1))
        done = subprocess.run([sys.executable, "cli.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=30)
        return done.stdout.split()

    assert complete(["dispatcher", "mess"]) == ["plain,messages"]
    assert complete(["dispatcher", "send", "Hi", "--to", "L"]) == ["plain,Lera"]
    assert complete(["dispatcher", "contacts", "show", ""]) == ["plain,Artem", "plain,Lera"]
