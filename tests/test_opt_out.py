"""Opt-out: STOP and /stop suppress every later delivery, START or /start restores, and an operator's
unblock does not override the person without `force`. Real APIs, strict fake gateway, shipped settings."""

from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from apiclient import v1
from conftest import token_for
from console.app import main
from helpers import wait_until
from people import act, fresh, handled, people_stack, sent_to

CHAT = 5151


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "opt-out") as running:
        yield running


@pytest.fixture
def stack(live):
    return fresh(live)


@pytest.fixture
def alice(stack):
    """Alice's token; Artem joined her contacts on Telegram as chat CHAT by an invite."""
    token = token_for(stack, "alice")
    assert v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "ArtemZaitsev"}).status_code == 201
    link = v1(stack, token, "POST", "/contacts/Artem/invites").json()["links"]["telegram"]
    act(stack, "telegram/start", chat_id=CHAT, payload=parse_qs(urlsplit(link).query)["start"][0])
    wait_until(lambda: blocked(stack, token) == [] and artem(stack, token)["telegram"] == str(CHAT), timeout=5,
               message="joined")
    return token


def artem(stack, token):
    return v1(stack, token, "GET", "/contacts/Artem").json()


def blocked(stack, token):
    return artem(stack, token)["blocked"]


def send(stack, token, text) -> str:
    reply = v1(stack, token, "POST", "/messages", {"to": "Artem", "text": text})
    assert reply.status_code == 202, reply.text
    return reply.json()["id"]


def final(stack, token, message_id) -> str:
    """The delivery's status once it is final."""
    return wait_until(lambda: (s := v1(stack, token, "GET", f"/messages/{message_id}").json()["deliveries"][0]
                               ["status"]) in ("sent", "failed", "suppressed") and s, timeout=5,
                      message="final")


@pytest.mark.parametrize("how", ["/stop", "STOP", "unsubscribe"])
def test_an_opt_out_suppresses_until_start(stack, alice, how):
    if how == "/stop":
        act(stack, "telegram/stop", chat_id=CHAT)
    else:
        act(stack, "telegram/text", chat_id=CHAT, text=how)
    wait_until(lambda: blocked(stack, alice) == ["telegram"], timeout=5, message=f"suppressed by {how}")
    held_back = [send(stack, alice, f"held back {n}") for n in range(3)]
    assert [final(stack, alice, m) for m in held_back] == ["suppressed"] * 3
    act(stack, "telegram/text", chat_id=CHAT, text="start")
    wait_until(lambda: blocked(stack, alice) == [], timeout=5, message="back on START")
    assert final(stack, alice, send(stack, alice, "welcome back")) == "sent"
    handled(stack)
    arrived = sent_to(stack, "telegram", str(CHAT))
    # Accepted 4, arrived 1 (besides the bot's invite reply), suppressed 3, none of them sent.
    assert [t for t in arrived if t.startswith(("held back", "welcome back"))] == ["welcome back"]


def test_an_operators_unblock_needs_force_while_the_person_opted_out(stack, alice):
    act(stack, "telegram/stop", chat_id=CHAT)
    wait_until(lambda: blocked(stack, alice) == ["telegram"], timeout=5, message="suppressed by /stop")
    refused = v1(stack, alice, "POST", "/contacts/Artem/unblock", {"messengers": ["telegram"]})
    assert refused.status_code == 409, refused.text
    assert "force" in refused.json()["errors"]["json"]
    assert "opted out on telegram" in refused.json()["message"]
    assert blocked(stack, alice) == ["telegram"]
    assert final(stack, alice, send(stack, alice, "still not")) == "suppressed"
    # Unblocking only other messengers is no override.
    assert v1(stack, alice, "POST", "/contacts/Artem/unblock", {"messengers": ["viber"]}).status_code == 200
    cli = CliRunner().invoke(main, ["--server", stack.api_url, "--token", alice, "contacts", "unblock", "Artem"])
    assert cli.exit_code != 0 and "force" in cli.output
    forced = CliRunner().invoke(main, ["--server", stack.api_url, "--token", alice,
                                       "contacts", "unblock", "Artem", "--force"])
    assert forced.exit_code == 0, forced.output
    assert blocked(stack, alice) == []
    assert final(stack, alice, send(stack, alice, "forced")) == "sent"
    assert "still not" not in sent_to(stack, "telegram", str(CHAT))
    assert "forced" in sent_to(stack, "telegram", str(CHAT))
