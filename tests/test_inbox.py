"""Texts people send the bot: kept per contact and per user, shown by the API and CLI, told to webhooks; opt-outs."""

import json
import os
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from apiclient import v1
from conftest import token_for
from console.app import main
from helpers import ROOT, wait_until
from people import act, fresh, handled, people_stack, sent_to
from test_webhooks import Receiver

KEEP = 100


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "inbox", webhook_allow_private=True) as running:
        yield running


@pytest.fixture
def stack(live):
    return fresh(live)


@pytest.fixture
def alice(stack):
    """Alice's token; Artem joined her contacts on Telegram as chat 4242 by an invite."""
    token = token_for(stack, "alice")
    assert v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "ArtemZaitsev"}).status_code == 201
    link = v1(stack, token, "POST", "/contacts/Artem/invites").json()["links"]["telegram"]
    act(stack, "telegram/start", chat_id=4242, payload=parse_qs(urlsplit(link).query)["start"][0])
    wait_until(lambda: v1(stack, token, "GET", "/contacts/Artem").json()["telegram"] == "4242", timeout=5,
               message="joined")
    return token


def inbox(stack, token, name="Artem"):
    reply = v1(stack, token, "GET", f"/contacts/{name}/inbox")
    assert reply.status_code == 200, reply.text
    return reply.json()


def texts(stack, token, name="Artem"):
    return [m["text"] for m in inbox(stack, token, name)]


def kept(stack, token, count, name="Artem"):
    return wait_until(lambda: len(found := texts(stack, token, name)) >= count and found, timeout=10,
                      message=f"{count} texts kept")


def test_texts_are_kept_per_contact_newest_first_and_across_contacts_since_a_time(stack, alice):
    act(stack, "telegram/text", chat_id=4242, text="first")
    act(stack, "whatsapp/text", wa_id="79920082861", text="on whatsapp")
    v1(stack, alice, "PUT", "/contacts/Artem", {"telegram": "4242", "whatsapp": "+7 992 008-28-61"})
    act(stack, "telegram/text", chat_id=4242, text="second")
    assert kept(stack, alice, 3) == ["second", "on whatsapp", "first"]
    [newest, *_] = inbox(stack, alice)
    assert set(newest) == {"id", "messenger", "from", "text", "received_at"}
    assert (newest["messenger"], newest["from"]) == ("telegram", "4242")
    everything = v1(stack, alice, "GET", "/inbox").json()
    # The user's own inbox has what came while the contact held the id: the WhatsApp text came before.
    assert [(m["contact"], m["text"]) for m in everything] == [("Artem", "first"), ("Artem", "second")]
    later = v1(stack, alice, "GET", "/inbox", params={"since": everything[0]["received_at"]}).json()
    assert [m["text"] for m in later] == ["second"]
    assert v1(stack, alice, "GET", "/inbox", params={"since": "yesterday"}).status_code == 422
    assert v1(stack, alice, "GET", "/contacts/Nobody/inbox").status_code == 404


def test_a_contact_keeps_its_last_100_texts(stack, alice):
    for n in range(KEEP + 5):
        act(stack, "telegram/text", chat_id=4242, text=f"text {n}")
    handled(stack)
    found = texts(stack, alice)
    assert found == [f"text {n}" for n in range(KEEP + 4, 4, -1)]


def test_a_text_from_no_contact_is_kept_and_claimed_by_the_contact_added_later(stack, alice):
    act(stack, "viber/text", user_id="vNew=", text="who is this?")
    act(stack, "telegram/start", chat_id=555)
    act(stack, "telegram/text", chat_id=555, text="hello from 555")
    handled(stack)
    assert v1(stack, alice, "GET", "/inbox").json() == []
    v1(stack, alice, "POST", "/contacts", {"name": "Newcomer", "viber": "vNew=", "telegram": "555"})
    assert kept(stack, alice, 2, "Newcomer") == ["hello from 555", "who is this?"]


def test_every_user_whose_contact_holds_the_id_sees_it_and_webhooks_get_the_events(stack, alice):
    bob = token_for(stack, "bob")
    v1(stack, bob, "POST", "/contacts", {"name": "Artyom", "telegram": "4242"})
    hook = Receiver()
    try:
        reply = v1(stack, alice, "POST", "/webhooks", {"url": hook.url, "events": ["contact.joined",
                                                                                  "message.received"]})
        assert reply.status_code == 201, reply.text
        act(stack, "telegram/text", chat_id=4242, text="to both")
        assert kept(stack, bob, 1, "Artyom") == ["to both"] and texts(stack, alice) == ["to both"]
        link = v1(stack, alice, "POST", "/contacts/Artem/invites").json()["links"]["viber"]
        code = parse_qs(urlsplit(link).query)["context"][0]
        act(stack, "viber/conversation_started", user_id="vArtem=", context=code)
        bodies = wait_until(lambda: len(hook.bodies()) >= 2 and hook.bodies(), timeout=10, message="two events")
    finally:
        hook.close()
    by_type = {b["type"]: b["data"] for b in bodies}
    assert by_type["message.received"]["text"] == "to both"
    assert {k: by_type["message.received"][k] for k in ("contact", "messenger", "from")} == {
        "contact": "Artem", "messenger": "telegram", "from": "4242"}
    assert {k: by_type["contact.joined"][k] for k in ("contact", "messenger", "id")} == {
        "contact": "Artem", "messenger": "viber", "id": "vArtem="}


def test_stop_and_a_block_suppress_and_start_restores(stack, alice):
    act(stack, "telegram/stop", chat_id=4242)
    wait_until(lambda: v1(stack, alice, "GET", "/contacts/Artem").json()["blocked"] == ["telegram"], timeout=5,
               message="suppressed by /stop")
    reply = v1(stack, alice, "POST", "/messages", {"to": "Artem", "text": "not now"})
    message = wait_until(lambda: (m := v1(stack, alice, "GET", f"/messages/{reply.json()['id']}").json())
                         ["deliveries"][0]["status"] == "suppressed" and m, timeout=5, message="suppressed")
    assert message and "not now" not in sent_to(stack, "telegram", "4242")
    act(stack, "telegram/start", chat_id=4242)
    wait_until(lambda: v1(stack, alice, "GET", "/contacts/Artem").json()["blocked"] == [], timeout=5,
               message="back on /start")
    act(stack, "telegram/text", chat_id=4242, text="СТОП")
    wait_until(lambda: v1(stack, alice, "GET", "/contacts/Artem").json()["blocked"] == ["telegram"], timeout=5,
               message="suppressed by СТОП")
    act(stack, "telegram/start", chat_id=4242)
    act(stack, "telegram/block", chat_id=4242)
    wait_until(lambda: v1(stack, alice, "GET", "/contacts/Artem").json()["blocked"] == ["telegram"], timeout=5,
               message="suppressed by a block")
    assert "СТОП" not in texts(stack, alice)


def test_cli_inbox_shows_a_table_and_follows(stack, alice):
    act(stack, "telegram/text", chat_id=4242, text="hello CLI")
    kept(stack, alice, 1)
    runner = CliRunner()
    base = ["--server", stack.api_url, "--token", alice]
    result = runner.invoke(main, [*base, "inbox"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()[:2]
    assert re.split(r"\s{2,}", header.strip()) == ["RECEIVED", "CONTACT", "MESSENGER", "FROM", "TEXT"]
    assert re.split(r"\s{2,}", row.strip())[1:] == ["Artem", "telegram", "4242", "hello CLI"]
    one = runner.invoke(main, [*base, "inbox", "Artem", "--json"], catch_exceptions=False)
    assert [m["text"] for m in json.loads(one.output)] == ["hello CLI"]
    env = {**os.environ, "DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": alice}
    follower = subprocess.Popen([sys.executable, "cli.py", "inbox", "--follow"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline().split() == ["RECEIVED", "CONTACT", "MESSENGER", "FROM", "TEXT"]
        assert "hello CLI" in follower.stdout.readline()
        act(stack, "telegram/text", chat_id=4242, text="while following")
        line = follower.stdout.readline()
    finally:
        follower.terminate()
        follower.wait(timeout=5)
    assert re.split(r"\s{2,}", line.strip())[1:] == ["Artem", "telegram", "4242", "while following"]

