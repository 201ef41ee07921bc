"""Suppression: a messenger ID whose answer means the person will not receive
from the user (blocked the bot, unsubscribed) fails at once, and later
deliveries to it end `suppressed` without a request to the messenger, until
the contact's ID changes or it is unblocked. A Telegram block is the person's
opt-out: that delivery ends suppressed too, and only a forced unblock lifts
it (tests/test_opt_out.py has the rest). Real stack, real-API mode."""

import pytest
from click.testing import CliRunner

from apiclient import attempts, received, set_faults, v1
from conftest import reset, running_stack, token_for
from console.app import main
from helpers import wait_until
from people import wrote

TIMEOUT = 20
# The documented refusals that mean "will not receive", one per messenger.
REFUSALS = {
    "telegram": ("telegram:403", "Telegram 403: Forbidden: bot was blocked by the user"),
    "whatsapp": ("whatsapp:131026", "WhatsApp 131026: (#131026) Message undeliverable"),
    "viber": ("viber:6", "Viber 6: receiverNotSubscribed"),
}
IDS = {"telegram": "1000001", "whatsapp": "+15550001", "viber": "viber-1="}
# Sent, and maybe already delivered or read by the fake gateway's receipts.
SENT = ("sent", "delivered", "read")


@pytest.fixture(scope="module", params=["shipped", "fast"])
def stack(request, tmp_path_factory):
    """The stack in real-API mode, at the shipped delivery settings and at the tests' fast ones."""
    with running_stack(tmp_path_factory, "suppression", shipped=request.param == "shipped",
                       messenger_api="real", auth_mode="none") as running:
        yield running


@pytest.fixture
def token(stack):
    """Empty stores and gateway; a user's token."""
    reset(stack)
    # Its people agreed to hear from the bot: the blocks here are the operator's.
    set_faults(stack, viber_accepts=True, strict=False)
    return token_for(stack)


def send(stack, token, text, messengers=None):
    """A v1 send to Artem; the message's id."""
    body = {"to": "Artem", "text": text, **({"messengers": messengers} if messengers else {})}
    reply = v1(stack, token, "POST", "/messages", body)
    assert reply.status_code == 202, reply.text
    return reply.json()["id"]


def finished(stack, token, message_id):
    """The message's deliveries by messenger, once none is waiting or sending."""
    def done():
        message = v1(stack, token, "GET", f"/messages/{message_id}").json()
        waiting = [d for d in message["deliveries"]
                   if d["status"] in ("scheduled", "queued", "sending", "retrying")]
        return not waiting and {d["messenger"]: d for d in message["deliveries"]}
    return wait_until(done, timeout=TIMEOUT)


@pytest.mark.parametrize("messenger", sorted(REFUSALS))
def test_a_refusal_fails_at_once_and_later_sends_are_suppressed_unsent(stack, token, messenger):
    step, error = REFUSALS[messenger]
    v1(stack, token, "PUT", "/contacts/Artem", {messenger: IDS[messenger]})
    if messenger == "whatsapp":
        # Within WhatsApp's 24-hour window, so that the text goes.
        wrote(stack, IDS[messenger])
    set_faults(stack, viber_accepts=True, script=[step])
    first = finished(stack, token, send(stack, token, "one"))[messenger]
    # The person's own block is no failure: suppressed, as the later ones are.
    opted_out = messenger == "telegram"
    assert first["status"] == ("suppressed" if opted_out else "failed") and first["attempts"] == 1
    assert first["last_error"].startswith(error)
    contact = v1(stack, token, "GET", "/contacts/Artem").json()
    assert contact["blocked"] == [messenger]
    # Three more sends: none reaches the messenger.
    later = [finished(stack, token, send(stack, token, f"later {i}"))[messenger] for i in range(3)]
    assert [d["status"] for d in later] == ["suppressed"] * 3
    assert all(d["attempts"] == 0 and IDS[messenger] in d["last_error"] for d in later)
    assert len(attempts(stack, messenger)) == 1
    assert received(stack, messenger) == []
    # Failed once, in the failed store; the suppressed ones are not failures to resend.
    failed = v1(stack, token, "GET", "/failed").json()
    assert [f["delivery_id"] for f in failed] == ([] if opted_out else [first["id"]])


def block_both(stack, token):
    """Artem with Telegram and Viber IDs, both of which refuse the next message."""
    v1(stack, token, "PUT", "/contacts/Artem", {"telegram": IDS["telegram"], "viber": IDS["viber"]})
    # One messenger at a time: a script's named step lets other messengers pass it by.
    for messenger in ("telegram", "viber"):
        set_faults(stack, viber_accepts=True, script=[REFUSALS[messenger][0]])
        finished(stack, token, send(stack, token, f"blocked on {messenger}", [messenger]))
    assert received(stack) == []


def test_unblock_and_a_new_id_send_again(stack, token):
    block_both(stack, token)
    assert v1(stack, token, "GET", "/contacts/Artem").json()["blocked"] == ["telegram", "viber"]
    # Unblock Telegram only (the person blocked the bot: forced): it sends again, Viber stays suppressed.
    unblocked = v1(stack, token, "POST", "/contacts/Artem/unblock", {"messengers": ["telegram"], "force": True})
    assert unblocked.status_code == 200, unblocked.text
    assert unblocked.json()["blocked"] == ["viber"]
    after = finished(stack, token, send(stack, token, "after unblock"))
    assert after["telegram"]["status"] in SENT and after["viber"]["status"] == "suppressed"
    # A new Viber ID is not blocked; the one that refused stays blocked if it comes back.
    assert v1(stack, token, "PUT", "/contacts/Artem",
              {"telegram": IDS["telegram"], "viber": "viber-2="}).json()["blocked"] == []
    assert finished(stack, token, send(stack, token, "new id"))["viber"]["status"] in SENT
    back = v1(stack, token, "PUT", "/contacts/Artem", {"telegram": IDS["telegram"], "viber": IDS["viber"]})
    assert back.json()["blocked"] == ["viber"]
    # Unblock with no body: every messenger.
    assert v1(stack, token, "POST", "/contacts/Artem/unblock").json()["blocked"] == []
    assert finished(stack, token, send(stack, token, "all clear"))["viber"]["status"] in SENT
    got = sorted((r["messenger"], r["text"]) for r in received(stack))
    assert got == [("telegram", "after unblock"), ("telegram", "all clear"), ("telegram", "new id"),
                   ("viber", "all clear"), ("viber", "new id")]


def test_blocks_belong_to_one_user_and_one_contact(stack, token):
    """A refusal blocks the contact it answered (a person's opt-out, every holder: tests/test_opt_out.py)."""
    bob = token_for(stack, "bob")
    for who in (token, bob):
        v1(stack, who, "PUT", "/contacts/Artem", {"viber": IDS["viber"]})
    v1(stack, token, "PUT", "/contacts/Lera", {"viber": IDS["viber"]})
    set_faults(stack, viber_accepts=True, script=[REFUSALS["viber"][0]])
    finished(stack, token, send(stack, token, "alice's", ["viber"]))
    assert v1(stack, token, "GET", "/contacts/Artem").json()["blocked"] == ["viber"]
    assert v1(stack, token, "GET", "/contacts/Lera").json()["blocked"] == []
    assert v1(stack, bob, "GET", "/contacts/Artem").json()["blocked"] == []
    assert finished(stack, bob, send(stack, bob, "bob's", ["viber"]))["viber"]["status"] in SENT
    assert v1(stack, token, "POST", "/contacts/Nobody/unblock").status_code == 404


def test_unblock_names_only_known_messengers(stack, token):
    v1(stack, token, "PUT", "/contacts/Artem", {"telegram": IDS["telegram"]})
    reply = v1(stack, token, "POST", "/contacts/Artem/unblock", {"messengers": ["icq"]})
    assert reply.status_code == 422
    assert "messengers" in reply.json()["errors"]["json"]


def test_the_cli_shows_and_unblocks(stack, token, tmp_path):
    env = {"DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token,
           "DISPATCHER_CONFIG": str(tmp_path / "cli.json")}

    def cli(*args):
        return CliRunner().invoke(main, list(args), env=env, prog_name="python cli.py")

    block_both(stack, token)
    assert "blocked:  telegram, viber" in cli("contacts", "show", "Artem").stdout
    result = cli("contacts", "unblock", "Artem", "--messenger", "viber")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Unblocked 'Artem'; still blocked on telegram.\n"
    assert cli("contacts", "unblock", "Artem", "--force").stdout == "Unblocked 'Artem'.\n"
    assert v1(stack, token, "GET", "/contacts/Artem").json()["blocked"] == []
