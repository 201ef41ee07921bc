"""docs/getting-started.md run as a newcomer runs it: its shell blocks, as written, against a stack
at the shipped defaults in token mode. Only the addresses change, from `make run`'s to the stack's.
README.md's first send is the same commands in one block, held to the page's line for line, so the
front page works as pasted too."""

import json
import os
import re
import subprocess
from dataclasses import fields

import pytest

from apiclient import received
from core.config import Config
from fixtures_browser import http_session
from helpers import ROOT, wait_until

PAGE = ROOT / "docs" / "getting-started.md"
README = ROOT / "README.md"
# Where `make run` listens, as the page writes it.
PROXY, GATEWAY = "http://127.0.0.1:8080", "http://127.0.0.1:8081"
SHELL_BLOCK = re.compile(r"^(<!-- test -->\n)?```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# What the environment may set for the service or the CLI; the page's commands get none of a developer's.
SETTINGS = {f.name.upper() for f in fields(Config)} | {
    "DISPATCHER_URL", "DISPATCHER_TOKEN", "DISPATCHER_CONFIG", "DISPATCHER_TIMEOUT"}


def shell_blocks(path=PAGE):
    """(marked for testing, text) of every `sh` block of a Markdown file, in order."""
    return [(bool(mark), text) for mark, text in SHELL_BLOCK.findall(path.read_text(encoding="utf-8"))]


def marked_commands(path):
    """The command lines of a file's marked blocks, in order; blank and comment-only lines left out."""
    return [line for marked, text in shell_blocks(path) if marked
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("path, least", [(PAGE, 4), (README, 1)], ids=["page", "readme"])
def test_every_command_is_run_but_those_that_start_things(path, least):
    blocks = shell_blocks(path)
    assert sum(marked for marked, _ in blocks) >= least
    for marked, text in blocks:
        if not marked:
            # `make run`, `make test`, `make docs`: the stack below stands in for the first.
            assert all(line.startswith("make ") for line in text.splitlines()), text


def test_the_readme_first_send_is_the_pages_commands():
    page = marked_commands(PAGE)
    assert len(page) > 10
    assert marked_commands(README) == page


def test_the_first_send_works_as_written(make_stack, tmp_path):
    stack = make_stack(shipped=True, auth_mode="token")
    script = "\n".join(text for marked, text in shell_blocks() if marked)
    script = script.replace(PROXY, stack.api_url).replace(GATEWAY, stack.gateway_url)
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS}
    # `admin` reads MONGO_URL as the service does; `login` saves under XDG_CONFIG_HOME.
    env.update(MONGO_URL=stack.config.mongo_url, XDG_CONFIG_HOME=str(tmp_path))

    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout

    # The curl send was accepted with a delivery per messenger of Artem's.
    [answer] = [json.loads(line) for line in out.splitlines() if line.startswith('{"id"')]
    assert [(d["messenger"], d["to"]) for d in answer["deliveries"]] == [
        ("telegram", "ArtemZaitsev"), ("whatsapp", "+799200828615")]
    assert f"Logged in to {stack.api_url} as alice." in out
    # The CLI's send: Telegram sent, Viber failed for good, and the failed list says so.
    assert re.search(r"^Lera\s+telegram\s+sent\s+1\b", out, re.MULTILINE), out
    assert re.search(r"^Lera\s+viber\s+failed\s+5\s+HTTP 500", out, re.MULTILINE), out
    assert "exit status 1: a delivery failed" in out
    assert re.search(r"^\S+-1\s+.*\bLera\s+viber\s+5\b", out, re.MULTILINE), out

    # Four deliveries accepted: three arrived, each once; the fourth is the Viber one that failed.
    expected = {("telegram", "ArtemZaitsev", "Hello there"), ("whatsapp", "+799200828615", "Hello there"),
                ("telegram", "lera", "Hello, Lera")}
    arrived = wait_until(lambda: (got := received(stack)) and len(got) >= len(expected) and got,
                         30, message="the page's sends at the gateway")
    assert sorted((r["messenger"], r["to"], r["text"]) for r in arrived) == sorted(expected)
    assert len({r["key"] for r in arrived}) == len(arrived)

    # The password the page sets signs alice in to the console, whose Messages page lists both sends.
    console = http_session(stack.api_url, "alice", "correct horse battery")
    listed = console.get(stack.api_url + "/app/messages", timeout=10).text
    assert "Hello, Lera" in listed and "Hello there" in listed
