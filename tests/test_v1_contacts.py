"""/api/v1/contacts: a contact book as resources, against the real stack."""

from urllib.parse import quote

import pytest

from apiclient import v1

# As the API shows it: no messenger of it refused the user's messages (tests/test_suppression.py).
ARTEM = {"name": "Artem", "telegram": "ArtemZaitsev", "whatsapp": "+799200828615", "viber": ""}
# A contact given neither a time zone nor fields (tests/test_contact_profiles.py).
NO_PROFILE = {"timezone": None, "fields": {}}
LISTED = {**ARTEM, **NO_PROFILE}
SHOWN = {**LISTED, "blocked": []}


@pytest.fixture
def token(user_token):
    return user_token("alice")


def test_create_list_get_replace_delete(stack, token):
    assert v1(stack, token, "GET", "/contacts").json() == []
    created = v1(stack, token, "POST", "/contacts", ARTEM)
    assert created.status_code == 201, created.text
    assert created.json() == SHOWN
    lera = v1(stack, token, "POST", "/contacts", {"name": "Lera", "viber": "lera_v"})
    assert lera.json() == {"name": "Lera", "telegram": "", "whatsapp": "", "viber": "lera_v",
                           **NO_PROFILE, "blocked": []}
    assert [c["name"] for c in v1(stack, token, "GET", "/contacts").json()] == ["Artem", "Lera"]
    assert v1(stack, token, "GET", "/contacts/Artem").json() == SHOWN

    replaced = v1(stack, token, "PUT", "/contacts/Artem", {"telegram": "new"})
    assert replaced.status_code == 200
    assert replaced.json() == {"name": "Artem", "telegram": "new", "whatsapp": "", "viber": "",
                               **NO_PROFILE, "blocked": []}
    assert v1(stack, token, "GET", "/contacts/Artem").json()["telegram"] == "new"

    assert v1(stack, token, "DELETE", "/contacts/Artem").status_code == 204
    assert v1(stack, token, "GET", "/contacts/Artem").status_code == 404
    assert v1(stack, token, "DELETE", "/contacts/Artem").status_code == 404
    assert [c["name"] for c in v1(stack, token, "GET", "/contacts").json()] == ["Lera"]


def test_posting_an_existing_name_is_a_conflict_and_changes_nothing(stack, token):
    v1(stack, token, "POST", "/contacts", ARTEM)
    again = v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "other"})
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == 409 and "Artem" in body["message"] and "name" in body["errors"]["json"]
    assert v1(stack, token, "GET", "/contacts/Artem").json() == SHOWN


def test_put_creates_a_missing_contact(stack, token):
    made = v1(stack, token, "PUT", "/contacts/Vasya", {"whatsapp": "+7000"})
    assert made.status_code == 200
    assert v1(stack, token, "GET", "/contacts").json() == [
        {"name": "Vasya", "telegram": "", "whatsapp": "+7000", "viber": "", **NO_PROFILE}]


@pytest.mark.parametrize("name", ["Анна Петровна", "a/b", "/lead", "two//slashes", "trail/",
                                  "100%", "a?b#c", "dots.", " spaced ", "x" * 100])
def test_any_name_round_trips_through_the_path(stack, token, name):
    path = "/contacts/" + quote(name, safe="")
    assert v1(stack, token, "PUT", path, {"telegram": "t"}).json()["name"] == name
    assert v1(stack, token, "GET", path).json() == {
        "name": name, "telegram": "t", "whatsapp": "", "viber": "", **NO_PROFILE, "blocked": []}
    assert [c["name"] for c in v1(stack, token, "GET", "/contacts").json()] == [name]
    assert v1(stack, token, "DELETE", path).status_code == 204
    assert v1(stack, token, "GET", "/contacts").json() == []


@pytest.mark.parametrize("method, path, body, location, field", [
    ("POST", "/contacts", {"telegram": "t"}, "json", "name"),
    ("POST", "/contacts", {"name": "", "telegram": "t"}, "json", "name"),
    ("POST", "/contacts", {"name": "x" * 101}, "json", "name"),
    ("POST", "/contacts", {"name": "bad\nname"}, "json", "name"),
    ("POST", "/contacts", {"name": "A", "telegram": 5}, "json", "telegram"),
    ("POST", "/contacts", {"name": "A", "icq": "1"}, "json", "icq"),
    ("PUT", "/contacts/A", {"viber": ["x"]}, "json", "viber"),
    ("PUT", "/contacts/" + "x" * 101, {}, "path", "name"),
    ("PUT", "/contacts/bad%0Aname", {}, "path", "name"),
])
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(stack, token, method, path, body,
                                                                location, field):
    reply = v1(stack, token, method, path, body)
    assert reply.status_code == 422, reply.text
    error = reply.json()
    assert error["code"] == 422 and error["status"] == "Unprocessable Entity"
    assert field in error["errors"][location] and field in error["message"]
    assert v1(stack, token, "GET", "/contacts").json() == []


def test_contacts_are_the_token_users_own(stack, user_token):
    alice, bob = user_token("alice"), user_token("bob")
    v1(stack, alice, "POST", "/contacts", ARTEM)
    assert v1(stack, bob, "GET", "/contacts").json() == []
    assert v1(stack, bob, "GET", "/contacts/Artem").status_code == 404
    assert v1(stack, bob, "DELETE", "/contacts/Artem").status_code == 404
    assert v1(stack, bob, "POST", "/contacts", {"name": "Artem"}).status_code == 201
    assert v1(stack, bob, "PUT", "/contacts/Artem", {"viber": "b"}).status_code == 200
    assert v1(stack, alice, "GET", "/contacts").json() == [LISTED]
