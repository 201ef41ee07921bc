"""Opt-out: STOP and /stop suppress every later delivery, START or /start restores, and an operator's
unblock does not override the person without `force`; a block the bot hears of only as sendMessage's 403
does the same. Real APIs, strict fake gateway, shipped settings (and private webhook targets allowed, for a
receiver in this process)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from apiclient import attempts, v1
from conftest import token_for
from console.app import main
from core.bot_calls import set_telegram_webhook, telegram
from helpers import wait_until
from people import act, fresh, handled, people_stack, sent_to
from test_webhooks import Receiver

CHAT = 5151


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "opt-out", webhook_allow_private=True) as running:
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


@pytest.fixture
def blocks_unheard(stack):
    """Telegram's webhook without my_chat_member updates: a block is learnt only from sendMessage's answer."""
    config = stack.config
    telegram(config, "setWebhook", url=stack.api_url + "/webhooks/telegram",
             secret_token=config.telegram_webhook_secret, allowed_updates=["message"])
    yield
    set_telegram_webhook(config, stack.api_url + "/webhooks/telegram")


def test_a_block_heard_only_as_403_at_send_opts_out_every_holder_until_start(stack, alice, blocks_unheard):
    bob = token_for(stack, "bob")
    assert v1(stack, bob, "PUT", "/contacts/Artem", {"telegram": str(CHAT)}).status_code == 200
    receiver = Receiver()
    try:
        hook = v1(stack, alice, "POST", "/webhooks", {"url": receiver.url, "events": ["delivery.suppressed"]})
        assert hook.status_code == 201, hook.text
        unheard = act(stack, "telegram/block", chat_id=CHAT)["callbacks"]
        assert [c.get("skipped") for c in unheard] == ["my_chat_member is not in the webhook's allowed_updates"]
        refused = send(stack, alice, "refused")
        assert final(stack, alice, refused) == "suppressed"
        first = v1(stack, alice, "GET", f"/messages/{refused}").json()["deliveries"][0]
        assert first["attempts"] == 1 and "bot was blocked by the user" in first["last_error"]
        # The person's opt-out, for every user's contact holding that chat: only a forced unblock overrides it.
        assert blocked(stack, alice) == ["telegram"] and blocked(stack, bob) == ["telegram"]
        assert v1(stack, alice, "POST", "/contacts/Artem/unblock").status_code == 409
        held_back = [send(stack, alice, f"held back {n}") for n in range(3)] + [send(stack, bob, "bob's")]
        owners = [alice] * 3 + [bob]
        assert [final(stack, token, m) for token, m in zip(owners, held_back, strict=True)] == ["suppressed"] * 4
        # Accepted 5, sent 0, failed 0: one request reached Telegram (refused), nothing after it.
        refusals = [a for a in attempts(stack, "telegram") if a["to"] == str(CHAT) and a["status"] != 200]
        assert [a["error"] for a in refusals] == ["telegram:403"]
        assert v1(stack, alice, "GET", "/failed").json() == [] and v1(stack, bob, "GET", "/failed").json() == []
        events = wait_until(lambda: len(receiver.bodies()) == 4 and receiver.bodies(), timeout=10,
                            message="delivery.suppressed for alice's four")
        assert {e["data"]["message_id"] for e in events} == {refused, *held_back[:3]}
        assert {e["type"] for e in events} == {"delivery.suppressed"}
        act(stack, "telegram/start", chat_id=CHAT)
        wait_until(lambda: blocked(stack, alice) == [] and blocked(stack, bob) == [], timeout=5,
                   message="back on /start")
        assert final(stack, alice, send(stack, alice, "welcome back")) == "sent"
        arrived = [t for t in sent_to(stack, "telegram", str(CHAT)) if t != stack.config.invite_joined_reply]
        assert arrived == ["welcome back"]
    finally:
        receiver.close()
