"""Contact names kept in Unicode's NFC form, and names with bidi or zero-width controls refused (issue 33).

Two names that look the same are the same contact, whichever way in they
came (v1 API, original API, import, CLI), against a stack at the shipped settings.
"""

import json
import unicodedata

import pymongo
import pytest
import requests

from apiclient import TIMEOUT, call, v1
from conftest import reset, running_stack

# "Zoë Léa" typed as one character per letter (NFC), and as letters followed by accents (NFD, macOS).
NFC = "Zo\u00eb L\u00e9a"
NFD = unicodedata.normalize("NFD", NFC)
HIDDEN = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
          "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


@pytest.fixture(scope="module")
def shipped_services(tmp_path_factory):
    with running_stack(tmp_path_factory, "names", shipped=True) as running:
        yield running


@pytest.fixture
def stack(shipped_services):
    """The module's stack at the shipped settings, emptied (the CLI fixtures use it)."""
    reset(shipped_services)
    return shipped_services


def names(stack, token):
    return [c["name"] for c in v1(stack, token, "GET", "/contacts").json()]


def legacy(stack, method, body, token):
    return call(stack, method, "/api/contacts", {"user_name": "alice", **body},
                headers={"Authorization": f"Bearer {token}"})


def imported(stack, token, body, content_type="application/json"):
    return requests.post(f"{stack.api_url}/api/v1/contacts/import", data=body, timeout=TIMEOUT,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})


def test_a_name_typed_either_way_is_one_contact_on_every_way_in(stack, token, cli):
    assert NFC != NFD and len(NFD) == len(NFC) + 2
    created = v1(stack, token, "POST", "/contacts", {"name": NFD, "telegram": "zoe"})
    assert created.status_code == 201 and created.json()["name"] == NFC
    # The same name the other way is the same contact: a conflict, not a second one.
    assert v1(stack, token, "POST", "/contacts", {"name": NFC}).status_code == 409
    assert v1(stack, token, "PUT", f"/contacts/{NFD}", {"telegram": "v1"}).json()["name"] == NFC
    assert v1(stack, token, "GET", f"/contacts/{NFD}").json()["telegram"] == "v1"
    assert legacy(stack, "POST", {"contact": {"name": NFD, "messangers": {"telegram": "legacy"}}},
                  token).json() == {"success": True}
    assert list(legacy(stack, "GET", {}, token).json()["contacts"]) == [NFC]
    assert imported(stack, token, json.dumps([{"name": NFD, "telegram": "json"}]).encode()).json()["replaced"] == 1
    assert imported(stack, token, f"name,telegram\n{NFD},csv\n".encode(), "text/csv").json()["replaced"] == 1
    assert cli("contacts", "edit", NFD, "--telegram", "cli").exit_code == 0
    assert names(stack, token) == [NFC]
    assert v1(stack, token, "GET", f"/contacts/{NFC}").json()["telegram"] == "cli"
    # A send to the name either way reaches the one contact.
    sent = legacy(stack, "PUT", {"contacts": [NFD, NFC], "message": "hi"}, token)
    assert sent.status_code == 200 and sent.json()["deliveries"] == 1
    sent = v1(stack, token, "POST", "/messages", {"to": [NFD], "text": "hi"})
    assert sent.status_code == 202, sent.text
    assert [d["to"] for d in sent.json()["deliveries"]] == ["cli"]
    assert legacy(stack, "DELETE", {"contact": NFD}, token).json() == {"success": True}
    assert names(stack, token) == []


def test_one_import_holding_a_name_both_ways_holds_it_twice(stack, token):
    reply = imported(stack, token, json.dumps([{"name": NFC}, {"name": NFD}]).encode())
    assert reply.status_code == 422, reply.text
    assert reply.json()["errors"]["json"] == {"item 2": {"name": [f"{NFC!r} appears twice (first at item 1)."]}}
    assert names(stack, token) == []


@pytest.mark.parametrize("hidden", HIDDEN, ids=[f"U+{ord(c):04X}" for c in HIDDEN])
def test_a_name_with_a_bidi_or_zero_width_control_is_a_422_naming_the_field(stack, token, hidden):
    name = f"Art{hidden}em"
    said = [f"Must not contain bidi or zero-width characters: U+{ord(hidden):04X}."]
    reply = v1(stack, token, "POST", "/contacts", {"name": name})
    assert reply.status_code == 422 and reply.json()["errors"]["json"]["name"] == said
    reply = v1(stack, token, "PUT", f"/contacts/{name}", {})
    assert reply.status_code == 422 and reply.json()["errors"]["path"]["name"] == said
    reply = legacy(stack, "POST", {"contact": {"name": name, "messangers": {}}}, token)
    assert reply.status_code == 422 and reply.json()["errors"]["json"]["contact"]["name"] == said
    reply = imported(stack, token, json.dumps([{"name": name}]).encode())
    assert reply.status_code == 422 and reply.json()["errors"]["json"]["item 1"]["name"] == said
    reply = v1(stack, token, "POST", "/messages", {"to": [name], "text": "hi"})
    assert reply.status_code == 422 and reply.json()["errors"]["json"]["to"] == {"0": said}
    assert names(stack, token) == []


def test_the_cli_says_which_name_it_refused(stack, cli):
    result = cli("contacts", "add", "evil\u202etxt.exe", "--telegram", "x")
    assert result.exit_code == 1
    assert "Must not contain bidi or zero-width characters: U+202E." in result.output


def test_contacts_stored_before_keep_working_under_their_nfc_name(stack, token):
    # Written as the service stored them before names were normalised.
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    db = mongo[stack.config.mongo_db]
    old = [("alice", NFD, 0, "old"), ("alice", "Ren\u00e9e", 1, "kept"),
           ("alice", unicodedata.normalize("NFD", "Ren\u00e9e"), 2, "clash")]
    db.contacts.insert_many([{"user": user, "name": name, "seq": seq, "telegram": telegram,
                              "whatsapp": "", "viber": ""} for user, name, seq, telegram in old])
    db.contact_books.insert_one({"_id": "alice", "next_seq": 3})
    stack.restart("api")
    try:
        assert names(stack, token) == [NFC, "Ren\u00e9e", unicodedata.normalize("NFD", "Ren\u00e9e")]
        assert v1(stack, token, "GET", f"/contacts/{NFD}").json()["telegram"] == "old"
        assert v1(stack, token, "GET", f"/contacts/{NFC}").json()["telegram"] == "old"
        # Its NFC name taken, the other keeps its own, reachable as it was written.
        assert v1(stack, token, "GET", "/contacts/Ren\u00e9e").json()["telegram"] == "kept"
        clash = unicodedata.normalize("NFD", "Ren\u00e9e")
        assert v1(stack, token, "DELETE", "/contacts/Ren\u00e9e").status_code == 204
        assert v1(stack, token, "GET", f"/contacts/{clash}").json()["telegram"] == "clash"
        assert db.migrations.find_one({"_id": "contact_names_nfc"}) is not None
    finally:
        mongo.close()
