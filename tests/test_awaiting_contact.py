"""Telegram in real mode: a delivery to a username waits (awaiting_contact), unsent, until its contact joins by
an invite, then goes to the chat id at once; a wait that runs out fails into the failed store, for the original
API too; a fallback chain moves on at once. Real APIs, strict fake gateway."""

import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from apiclient import attempts, call, v1
from conftest import token_for
from helpers import wait_until
from people import act, fresh, people_stack, sent_to

CHAT = 6161
DAY = 86400
# The shortened wait of the module's second stack, in seconds.
SHORT_WAIT = 3


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "awaiting") as running:
        yield running


@pytest.fixture(scope="module")
def short_live(tmp_path_factory):
    with people_stack(tmp_path_factory, "awaiting-short", await_contact_days=SHORT_WAIT / DAY) as running:
        yield running


def user_with_artem(stack, **ids):
    token = token_for(stack, "alice")
    contact = {"name": "Artem", "telegram": "ArtemZaitsev", **ids}
    assert v1(stack, token, "POST", "/contacts", contact).status_code == 201
    return token


def send(stack, token, text, to="Artem", **options) -> str:
    reply = v1(stack, token, "POST", "/messages", {"to": to, "text": text, **options})
    assert reply.status_code == 202, reply.text
    return reply.json()["id"]


def deliveries(stack, token, message_id) -> list:
    return v1(stack, token, "GET", f"/messages/{message_id}").json()["deliveries"]


def reaches(stack, token, message_id, status, timeout=5) -> dict:
    return wait_until(lambda: (d := deliveries(stack, token, message_id)[0])["status"] == status and d,
                      timeout=timeout, message=status)


def test_a_username_contact_waits_then_gets_it_at_the_chat_id_within_2_s_of_joining(live):
    stack = fresh(live)
    token = user_with_artem(stack)
    sent_at = time.time()
    message_id = send(stack, token, "hello")
    delivery = reaches(stack, token, message_id, "awaiting_contact")
    # At the shipped AWAIT_CONTACT_DAYS (7), the wait ends 7 days after the send, as documented.
    until = datetime.fromisoformat(delivery["last_error"].split(" ")[3].rstrip(":"))
    assert abs(until.timestamp() - (sent_at + 7 * DAY)) < 60, delivery["last_error"]
    assert "'ArtemZaitsev' is no Telegram chat id" in delivery["last_error"]
    assert attempts(stack, "telegram") == []
    link = v1(stack, token, "POST", "/contacts/Artem/invites").json()["links"]["telegram"]
    joined_at = time.time()
    act(stack, "telegram/start", chat_id=CHAT, payload=parse_qs(urlsplit(link).query)["start"][0])
    wait_until(lambda: "hello" in sent_to(stack, "telegram", str(CHAT)), timeout=2,
               message="the waiting delivery at the chat id")
    assert time.time() - joined_at <= 2
    # Accepted 1, arrived 1 at the chat id (once), failed 0; nothing went to the username.
    assert sent_to(stack, "telegram", str(CHAT)).count("hello") == 1
    assert reaches(stack, token, message_id, "sent")["attempts"] == 1
    assert sent_to(stack, "telegram", "ArtemZaitsev") == []
    assert v1(stack, token, "GET", "/failed").json() == []
    # Joined, a later send goes straight to the chat id.
    send(stack, token, "now direct")
    wait_until(lambda: "now direct" in sent_to(stack, "telegram", str(CHAT)), timeout=5, message="direct")


def test_a_chat_id_set_by_hand_sends_the_waiting_deliveries_there_within_2_s(live):
    """PUT /api/v1/contacts/{name}, or the original API's POST /api/contacts, setting a chat id, as a join does."""
    stack = fresh(live)
    token = user_with_artem(stack)
    assert v1(stack, token, "POST", "/contacts", {"name": "Lera", "telegram": "LeraK"}).status_code == 201
    waiting = {name: [send(stack, token, f"{name} {n}", to=name) for n in range(2)] for name in ("Artem", "Lera")}
    for message_ids in waiting.values():
        for message_id in message_ids:
            reaches(stack, token, message_id, "awaiting_contact")
    # Each person started the bot by its plain link; the user learnt their chat ids some other way.
    for chat in (CHAT, CHAT + 1):
        act(stack, "telegram/start", chat_id=chat)
    for name, chat, write in (
            ("Artem", CHAT, lambda: v1(stack, token, "PUT", "/contacts/Artem", {"telegram": str(CHAT)})),
            ("Lera", CHAT + 1, lambda: call(stack, "POST", "/api/contacts", {"contact": {
                "name": "Lera", "messangers": {"telegram": str(CHAT + 1), "whatsApp": "", "viber": ""}}},
                headers={"Authorization": f"Bearer {token}"}))):
        set_at = time.time()
        reply = write()
        assert reply.status_code == 200, reply.text
        wanted, at = {f"{name} 0", f"{name} 1"}, str(chat)
        wait_until(lambda wanted=wanted, at=at: wanted <= set(sent_to(stack, "telegram", at)), timeout=2,
                   message=f"{name}'s waiting deliveries at the chat id")
        assert time.time() - set_at <= 2
    # Accepted 4, arrived 4 (each once, at the chat id), failed 0; nothing went to a username.
    assert sorted(sent_to(stack, "telegram", str(CHAT))) == ["Artem 0", "Artem 1"]
    assert sorted(sent_to(stack, "telegram", str(CHAT + 1))) == ["Lera 0", "Lera 1"]
    assert [reaches(stack, token, m, "sent")["attempts"] for ids in waiting.values() for m in ids] == [1] * 4
    assert sent_to(stack, "telegram", "ArtemZaitsev") == sent_to(stack, "telegram", "LeraK") == []
    assert v1(stack, token, "GET", "/failed").json() == []


def test_an_import_that_gives_chat_ids_sends_the_waiting_deliveries_there_within_2_s(live):
    stack = fresh(live)
    token = user_with_artem(stack)
    assert v1(stack, token, "POST", "/contacts", {"name": "Lera", "telegram": "LeraK"}).status_code == 201
    waiting = [send(stack, token, f"{name} {n}", to=name) for name in ("Artem", "Lera") for n in range(2)]
    for message_id in waiting:
        reaches(stack, token, message_id, "awaiting_contact")
    for chat in (CHAT, CHAT + 1):
        act(stack, "telegram/start", chat_id=chat)
    set_at = time.time()
    # Artem gets a chat id, Lera keeps her username, and a third contact is new.
    reply = v1(stack, token, "POST", "/contacts/import", [
        {"name": "Artem", "telegram": str(CHAT)}, {"name": "Lera", "telegram": "LeraK"},
        {"name": "Olga", "telegram": str(CHAT + 1)}])
    assert reply.status_code == 200, reply.text
    wait_until(lambda: {"Artem 0", "Artem 1"} <= set(sent_to(stack, "telegram", str(CHAT))), timeout=2,
               message="Artem's waiting deliveries at the chat id")
    assert time.time() - set_at <= 2
    # Accepted 4: Artem's 2 arrived once each at the chat id; Lera's 2 still wait, unsent; none failed.
    assert sorted(sent_to(stack, "telegram", str(CHAT))) == ["Artem 0", "Artem 1"]
    assert [reaches(stack, token, m, "sent")["attempts"] for m in waiting[:2]] == [1, 1]
    assert [deliveries(stack, token, m)[0]["status"] for m in waiting[2:]] == ["awaiting_contact"] * 2
    assert sent_to(stack, "telegram", str(CHAT + 1)) == sent_to(stack, "telegram", "LeraK") == []
    assert v1(stack, token, "GET", "/failed").json() == []


def test_a_fallback_chain_moves_on_at_once_instead_of_waiting(live):
    stack = fresh(live)
    token = user_with_artem(stack, viber="vArtem=")
    act(stack, "viber/subscribe", user_id="vArtem=")
    message_id = send(stack, token, "either way", fallback=["telegram", "viber"])
    wait_until(lambda: [d["status"] for d in deliveries(stack, token, message_id)] == ["failed", "sent"],
               timeout=5, message="telegram failed, viber sent")
    first = deliveries(stack, token, message_id)[0]
    assert first["last_error"].startswith("not sent: 'ArtemZaitsev' is no Telegram chat id")
    assert attempts(stack, "telegram") == []
    assert sent_to(stack, "viber", "vArtem=") == ["either way"]


def test_a_wait_that_runs_out_fails_with_its_reason_into_the_failed_store_and_get_failed_mess(short_live):
    """AWAIT_CONTACT_DAYS shortened to SHORT_WAIT seconds; the test above checks the shipped 7 days."""
    stack = fresh(short_live)
    token = token_for(stack, "alice")
    bearer = {"Authorization": f"Bearer {token}"}
    for name, telegram in (("Artem", "ArtemZaitsev"), ("Lera", str(CHAT))):
        reply = call(stack, "POST", "/api/contacts", {"user_name": "alice", "contact": {
            "name": name, "messangers": {"telegram": telegram, "whatsApp": "", "viber": ""}}}, headers=bearer)
        assert reply.status_code == 200, reply.text
    act(stack, "telegram/start", chat_id=CHAT)
    reply = call(stack, "PUT", "/api/contacts", {"user_name": "alice", "contact": ["Artem", "Lera"],
                                                 "message": "Hello there"}, headers=bearer)
    assert reply.status_code == 200, reply.text
    started = time.time()
    records = wait_until(lambda: call(stack, "GET", "/api/get_failed_mess", {"user_name": "alice"},
                                      headers=bearer).json()["data"], timeout=SHORT_WAIT + 10,
                         message="the expired wait in get_failed_mess")
    assert time.time() - started >= SHORT_WAIT - 1
    # Accepted 2, arrived 1 (Lera, by chat id), failed 1 (Artem's wait ran out), with a reason a person reads.
    assert len(records) == 1
    record = records[0]
    assert (record["contact"], record["messenger"], record["message"]) == ("Artem", "telegram", "Hello there")
    assert record["error"].startswith("the contact did not join within AWAIT_CONTACT_DAYS")
    assert "must join by an invite" in record["error"]
    assert sent_to(stack, "telegram", str(CHAT)) == ["Hello there"]
    assert [a["to"] for a in attempts(stack, "telegram")] == [str(CHAT)]
    failed = v1(stack, token, "GET", "/failed").json()
    assert [(f["contact"], f["error"]) for f in failed] == [("Artem", record["error"])]
