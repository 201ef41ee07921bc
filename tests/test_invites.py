"""Invite links that bind a person's messenger id to a contact, through the strict fake gateway's people."""

import csv
import io
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from click.testing import CliRunner

from apiclient import received, v1
from conftest import token_for
from console.app import main
from core.config import Config
from core.keys import Keys
from helpers import wait_until
from people import act, fresh, people_stack, sent_to

CODE = re.compile(r"inv_[A-Za-z0-9_-]{24}")
JOINED, INVALID = Config().invite_joined_reply, Config().invite_invalid_reply


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "invites") as running:
        yield running


@pytest.fixture
def stack(live):
    return fresh(live)


@pytest.fixture
def alice(stack):
    """Alice's token; her contact Artem holds only his Telegram username."""
    token = token_for(stack, "alice")
    reply = v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "ArtemZaitsev"})
    assert reply.status_code == 201, reply.text
    return token


def invite(stack, token, name="Artem"):
    reply = v1(stack, token, "POST", f"/contacts/{name}/invites")
    assert reply.status_code == 201, reply.text
    return reply.json()


def code_of(link, messenger):
    query = parse_qs(urlsplit(link).query)
    return query[{"telegram": "start", "viber": "context", "whatsapp": "text"}[messenger]][0]


def contact(stack, token, name="Artem"):
    return v1(stack, token, "GET", f"/contacts/{name}").json()


def bound(stack, token, messenger, value, name="Artem"):
    return wait_until(lambda: contact(stack, token, name)[messenger] == value, timeout=5,
                      message=f"{name}'s {messenger} id {value}")


def told(stack, messenger, to, text, count=1):
    """Wait until the bot's reply `text` reached `to` count times; the texts sent to it."""
    return wait_until(lambda: (texts := sent_to(stack, messenger, to)).count(text) >= count and texts,
                      timeout=5, message=f"{text!r} to {to}")


def test_an_invite_has_a_link_per_messenger_with_single_use_codes_expiring_in_14_days(stack, alice):
    before = time.time()
    made = invite(stack, alice)
    links = made["links"]
    assert made["name"] == "Artem" and set(links) == {"telegram", "viber", "whatsapp"}
    assert links["telegram"].startswith("https://t.me/fake_dispatcher_bot?start=inv_")
    assert links["viber"].startswith("viber://pa?chatURI=fakedispatcher&context=inv_")
    assert links["whatsapp"].startswith("https://wa.me/15550000001?text=inv_")
    codes = [code_of(links[m], m) for m in links]
    # 144 random bits each, within Telegram's start payload (A-Za-z0-9_-, at most 64).
    assert all(CODE.fullmatch(c) and len(c) <= 64 for c in codes) and len(set(codes)) == 3
    expires = time.mktime(time.strptime(made["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(expires - (before + 14 * 86400)) < 5
    assert v1(stack, alice, "POST", "/contacts/Nobody/invites").status_code == 404


def test_a_username_contact_joins_by_telegram_start_and_a_send_reaches_its_chat_id(stack, alice):
    # Strict, as Telegram: the username is no chat a bot may write to.
    code = code_of(invite(stack, alice)["links"]["telegram"], "telegram")
    started = time.time()
    act(stack, "telegram/start", chat_id=4242, payload=code, username="@ArtemZaitsev")
    bound(stack, alice, "telegram", "4242")
    reply = v1(stack, alice, "POST", "/messages", {"to": "Artem", "text": "Welcome aboard"})
    assert reply.status_code == 202, reply.text
    arrived = wait_until(lambda: [r for r in received(stack, "telegram") if r["text"] == "Welcome aboard"],
                         timeout=5, message="the send at the chat id")
    assert [r["to"] for r in arrived] == ["4242"]
    print(f"join to arrival: {arrived[0]['time'] - started:.3f} s")
    assert arrived[0]["time"] - started < 2
    assert told(stack, "telegram", "4242", JOINED) == [JOINED, "Welcome aboard"]
    assert contact(stack, alice)["blocked"] == []


def test_a_viber_contact_binds_through_conversation_started_with_context(stack, alice):
    code = code_of(invite(stack, alice)["links"]["viber"], "viber")
    act(stack, "viber/conversation_started", user_id="vU1+Artem=", context=code, name="Artem")
    bound(stack, alice, "viber", "vU1+Artem=")
    act(stack, "viber/subscribe", user_id="vU1+Artem=")
    assert v1(stack, alice, "POST", "/messages", {"to": "Artem", "text": "Hi on Viber",
                                                  "messengers": ["viber"]}).status_code == 202
    wait_until(lambda: "Hi on Viber" in sent_to(stack, "viber", "vU1+Artem="), timeout=5, message="viber send")


def test_a_whatsapp_number_binds_through_the_prefilled_text(stack, alice):
    code = code_of(invite(stack, alice)["links"]["whatsapp"], "whatsapp")
    act(stack, "whatsapp/text", wa_id="79920082861", text=code)
    bound(stack, alice, "whatsapp", "+79920082861")
    # Inside the 24-hour window the person's text opened.
    assert told(stack, "whatsapp", "79920082861", JOINED) == [JOINED]


def test_used_expired_unknown_other_messengers_and_deleted_contacts_codes_bind_nothing_and_say_so(stack, alice):
    links = invite(stack, alice)["links"]
    code = code_of(links["telegram"], "telegram")
    act(stack, "telegram/start", chat_id=1001, payload=code)
    bound(stack, alice, "telegram", "1001")
    # Followed again by the same person, it still is theirs.
    act(stack, "telegram/start", chat_id=1001, payload=code)
    assert told(stack, "telegram", "1001", JOINED, count=2).count(INVALID) == 0
    # Used: a second person with the same code.
    act(stack, "telegram/start", chat_id=1002, payload=code)
    told(stack, "telegram", "1002", INVALID)
    # Another messenger's code of the same invite.
    act(stack, "telegram/start", chat_id=1003, payload=code_of(links["viber"], "viber"))
    told(stack, "telegram", "1003", INVALID)
    # Unknown.
    act(stack, "telegram/start", chat_id=1004, payload="inv_" + "A" * 24)
    told(stack, "telegram", "1004", INVALID)
    # Expired: the invite's own expiry moved into the past (14 days are not waited out).
    expiring = code_of(invite(stack, alice)["links"]["telegram"], "telegram")
    client = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
    key = Keys(stack.config.redis_prefix).invite("telegram", expiring)
    record = json.loads(client.get(key))
    client.set(key, json.dumps({**record, "expires_at": time.time() - 1}), keepttl=True)
    act(stack, "telegram/start", chat_id=1005, payload=expiring)
    told(stack, "telegram", "1005", INVALID)
    # The contact gone before its code was followed.
    token = token_for(stack, "carol")
    v1(stack, token, "POST", "/contacts", {"name": "Gone"})
    gone = code_of(invite(stack, token, "Gone")["links"]["telegram"], "telegram")
    assert v1(stack, token, "DELETE", "/contacts/Gone").status_code == 204
    act(stack, "telegram/start", chat_id=1006, payload=gone)
    told(stack, "telegram", "1006", INVALID)
    assert contact(stack, alice)["telegram"] == "1001"
    assert v1(stack, token, "GET", "/contacts").json() == []


def test_another_users_code_never_binds_to_your_contact_of_the_same_name(stack, alice):
    bob = token_for(stack, "bob")
    assert v1(stack, bob, "POST", "/contacts", {"name": "Artem", "telegram": "ArtemZaitsev"}).status_code == 201
    code = code_of(invite(stack, bob)["links"]["telegram"], "telegram")
    act(stack, "telegram/start", chat_id=2002, payload=code)
    bound(stack, bob, "telegram", "2002")
    assert contact(stack, alice)["telegram"] == "ArtemZaitsev"


def test_bulk_invites_as_json_and_csv_and_missing_names_are_a_404(stack, alice):
    v1(stack, alice, "POST", "/contacts", {"name": "=Anna"})
    made = v1(stack, alice, "POST", "/invites", {"names": ["Artem", "=Anna"]})
    assert made.status_code == 201 and [i["name"] for i in made.json()] == ["Artem", "=Anna"]
    as_csv = v1(stack, alice, "POST", "/invites", {"names": ["Artem", "=Anna"], "format": "csv"})
    assert as_csv.status_code == 201 and as_csv.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["name"] for r in rows] == ["Artem", "'=Anna"]
    assert all(CODE.search(r[m]) for r in rows for m in ("telegram", "viber", "whatsapp"))
    missing = v1(stack, alice, "POST", "/invites", {"names": ["Artem", "Nobody"]})
    assert missing.status_code == 404 and missing.json()["errors"]["json"]["names"] == [
        "No contact named 'Nobody'."]
    # Codes of the CSV bind like any other.
    act(stack, "telegram/start", chat_id=3003, payload=code_of(rows[0]["telegram"], "telegram"))
    bound(stack, alice, "telegram", "3003")


def test_cli_contacts_invite_prints_the_links(stack, alice):
    runner = CliRunner()
    args = ["--server", stack.api_url, "--token", alice, "contacts", "invite", "Artem"]
    result = runner.invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Artem (until " in result.output
    [link] = re.findall(r"https://t\.me/\S+", result.output)
    act(stack, "telegram/start", chat_id=5005, payload=code_of(link, "telegram"))
    bound(stack, alice, "telegram", "5005")
    as_csv = runner.invoke(main, [*args, "--csv"], catch_exceptions=False)
    assert as_csv.exit_code == 0 and as_csv.output.startswith("name,telegram,whatsapp,viber,expires_at\n")
