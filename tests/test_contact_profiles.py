"""A contact's time zone and fields: set, checked, kept, imported, exported and read for a send."""

import json

import pymongo
import pytest
import requests
from click.testing import CliRunner

from apiclient import TIMEOUT, call, v1
from console.app import main
from core.contacts import FIELD_KEY_MAX, FIELD_VALUE_MAX, FIELDS_MAX, IN_LIMIT, ContactBook, Recipient

AKI = {"name": "Aki", "telegram": "aki_t", "whatsapp": "", "viber": "+8100",
       "timezone": "Asia/Tokyo", "fields": {"code": "A1", "first_name": "Aki"}}
IDS = {"telegram": "aki_t", "whatsapp": "", "viber": "+8100"}


@pytest.fixture
def token(user_token):
    return user_token("alice")


def shown(stack, token, name="Aki"):
    reply = v1(stack, token, "GET", f"/contacts/{name}")
    assert reply.status_code == 200, reply.text
    return reply.json()


def legacy(stack, token, method, body):
    return call(stack, method, "/api/contacts", {"user_name": "alice", **body},
                headers={"Authorization": f"Bearer {token}"})


def import_book(stack, token, body, content_type="application/json"):
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return requests.post(f"{stack.api_url}/api/v1/contacts/import", data=data, timeout=TIMEOUT,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})


def test_time_zone_and_fields_are_set_shown_and_replaced(stack, token):
    created = v1(stack, token, "POST", "/contacts", AKI)
    assert created.status_code == 201, created.text
    assert created.json() == {**AKI, "blocked": []}
    assert shown(stack, token) == {**AKI, "blocked": []}
    assert v1(stack, token, "GET", "/contacts").json() == [AKI]

    moved = v1(stack, token, "PUT", "/contacts/Aki", {**IDS, "timezone": "Europe/Helsinki",
                                                       "fields": {"code": "B2"}})
    assert moved.status_code == 200, moved.text
    assert shown(stack, token)["timezone"] == "Europe/Helsinki"
    assert shown(stack, token)["fields"] == {"code": "B2"}

    # A PUT replaces the whole contact, as it always did its IDs.
    assert v1(stack, token, "PUT", "/contacts/Aki", IDS).status_code == 200
    assert shown(stack, token) == {"name": "Aki", **IDS, "timezone": None, "fields": {}, "blocked": []}


def test_a_contact_without_them_has_the_services_zone_and_no_fields(stack, token):
    v1(stack, token, "POST", "/contacts", {"name": "Lera", "viber": "lera_v"})
    assert shown(stack, token, "Lera") == {"name": "Lera", "telegram": "", "whatsapp": "", "viber": "lera_v",
                                           "timezone": None, "fields": {}, "blocked": []}
    assert v1(stack, token, "PUT", "/contacts/Lera", {"timezone": None}).status_code == 200
    assert shown(stack, token, "Lera")["timezone"] is None


def test_the_largest_fields_allowed_are_kept(stack, token):
    fields = {f"k{n}": "v" * FIELD_VALUE_MAX for n in range(FIELDS_MAX - 1)}
    fields["_" + "x" * (FIELD_KEY_MAX - 1)] = "é"
    reply = v1(stack, token, "PUT", "/contacts/Aki", {"fields": fields})
    assert reply.status_code == 200, reply.text
    assert shown(stack, token)["fields"] == fields


@pytest.mark.parametrize("zone", ["Mars/Olympus", "America", "", "utc", "localtime", "../../etc/passwd",
                                  "/usr/share/zoneinfo/UTC", "Europe/" + "x" * 300, 7])
def test_an_unknown_time_zone_is_a_422_naming_it_and_writes_nothing(stack, token, zone):
    v1(stack, token, "POST", "/contacts", AKI)
    for method, path, body in [("PUT", "/contacts/Aki", {**IDS, "timezone": zone}),
                               ("POST", "/contacts", {"name": "Bo", "timezone": zone})]:
        refused = v1(stack, token, method, path, body)
        assert refused.status_code == 422, refused.text
        assert list(refused.json()["errors"]["json"]) == ["timezone"]
    assert shown(stack, token) == {**AKI, "blocked": []}
    assert v1(stack, token, "GET", "/contacts/Bo").status_code == 404


@pytest.mark.parametrize("fields, key", [
    ({f"k{n}": "v" for n in range(FIELDS_MAX + 1)}, None),
    ({"1st": "x"}, "1st"),
    ({"first-name": "x"}, "first-name"),
    ({"a.b": "x"}, "a.b"),
    ({"": "x"}, ""),
    ({"k" * (FIELD_KEY_MAX + 1): "x"}, "k" * (FIELD_KEY_MAX + 1)),
    ({"code": 7}, "code"),
    ({"code": None}, "code"),
    ({"code": {"nested": "x"}}, "code"),
    ({"code": "x" * (FIELD_VALUE_MAX + 1)}, "code"),
    ({"code": "two\nlines"}, "code"),
    ({"code": "\ud800"}, "code"),
    (["code", "A1"], None),
    ("code=A1", None),
])
def test_bad_fields_are_a_422_naming_fields_and_the_key_and_write_nothing(stack, token, fields, key):
    v1(stack, token, "POST", "/contacts", AKI)
    for method, path, body in [("PUT", "/contacts/Aki", {**IDS, "fields": fields}),
                               ("POST", "/contacts", {"name": "Bo", "fields": fields})]:
        refused = v1(stack, token, method, path, body)
        assert refused.status_code == 422, refused.text
        errors = refused.json()["errors"]["json"]
        assert list(errors) == ["fields"]
        if key is not None:
            assert list(errors["fields"]) == [key]
    assert shown(stack, token) == {**AKI, "blocked": []}
    assert v1(stack, token, "GET", "/contacts/Bo").status_code == 404


def test_the_original_api_keeps_them_and_its_answers(stack, token):
    v1(stack, token, "POST", "/contacts", AKI)
    replaced = legacy(stack, token, "POST", {"contact": {"name": "Aki", "messangers": {
        "telegram": "new_t", "whatsApp": "+7000", "viber": ""}}})
    assert replaced.status_code == 200 and replaced.json() == {"success": True}
    assert shown(stack, token) == {**AKI, "telegram": "new_t", "whatsapp": "+7000", "viber": "",
                                   "blocked": []}
    listed = legacy(stack, token, "GET", {})
    assert listed.json() == {"contacts": {"Aki": {"telegram": "new_t", "whatsApp": "+7000", "viber": ""}}}
    added = legacy(stack, token, "POST", {"contact": {"name": "Bo", "messangers": {
        "telegram": "bo", "whatsApp": "", "viber": ""}}})
    assert added.json() == {"success": True}
    assert shown(stack, token, "Bo")["timezone"] is None and shown(stack, token, "Bo")["fields"] == {}


def test_json_import_carries_them_and_the_list_gives_them_back(stack, token):
    book = [AKI, {"name": "Bo", "telegram": "bo", "whatsapp": "", "viber": "", "timezone": None,
                  "fields": {}}]
    assert import_book(stack, token, book).json() == {"added": 2, "replaced": 0, "removed": 0}
    exported = v1(stack, token, "GET", "/contacts").json()
    assert exported == book
    v1(stack, token, "DELETE", "/contacts/Aki")
    v1(stack, token, "PUT", "/contacts/Bo", {"timezone": "UTC", "fields": {"x": "y"}})
    assert import_book(stack, token, exported).json() == {"added": 1, "replaced": 1, "removed": 0}
    # Aki, added again, comes after Bo.
    assert v1(stack, token, "GET", "/contacts").json() == [book[1], book[0]]


def test_csv_import_reads_timezone_and_field_columns(stack, token):
    text = ("name,telegram,timezone,field.code,field.first_name\n"
            "Aki,aki_t,Asia/Tokyo,A1,Aki\n"
            "Bo,bo,,,\n")
    assert import_book(stack, token, text, "text/csv").status_code == 200
    listed = v1(stack, token, "GET", "/contacts").json()
    assert [(c["name"], c["timezone"], c["fields"]) for c in listed] == [
        ("Aki", "Asia/Tokyo", {"code": "A1", "first_name": "Aki"}), ("Bo", None, {})]


def test_a_bad_import_row_names_the_row_and_the_field_and_writes_nothing(stack, token):
    refused = import_book(stack, token, [AKI, {"name": "Bo", "timezone": "Nowhere"},
                                         {"name": "Cy", "fields": {"9": "x"}}])
    assert refused.status_code == 422
    assert refused.json()["errors"]["json"] == {
        "item 2": {"timezone": ["'Nowhere' is not an IANA time zone (e.g. UTC, Europe/Helsinki)."]},
        "item 3": {"fields": {"9": ["A key is 1 to 64 letters, digits and _, not starting with a digit."]}}}
    refused = import_book(stack, token, "name,field.bad-key\nAki,x\n", "text/csv")
    assert refused.status_code == 422 and list(refused.json()["errors"]["csv"]["line 2"]) == ["fields"]
    assert v1(stack, token, "GET", "/contacts").json() == []


@pytest.fixture
def cli(stack, token, tmp_path):
    env = {"DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token,
           "DISPATCHER_CONFIG": str(tmp_path / "config.json"), "DISPATCHER_TIMEOUT": None}

    def run(*args, exit_code=0):
        result = CliRunner().invoke(main, list(args), env=env, prog_name="python cli.py")
        assert result.exit_code == exit_code, result.output
        return result
    return run


def test_cli_add_edit_and_show(stack, token, cli):
    cli("contacts", "add", "Aki", "--telegram", "aki_t", "--tz", "Asia/Tokyo",
        "--field", "code=A1", "--field", "first_name=Aki Sato")
    assert cli("contacts", "show", "Aki").stdout == (
        "name:     Aki\ntelegram: aki_t\nwhatsapp: -\nviber:    -\n"
        "timezone: Asia/Tokyo\nfields:   code=A1\n          first_name=Aki Sato\nblocked:  -\n")
    cli("contacts", "edit", "Aki", "--viber", "+8100")
    assert shown(stack, token) == {"name": "Aki", "telegram": "aki_t", "whatsapp": "", "viber": "+8100",
                                   "timezone": "Asia/Tokyo",
                                   "fields": {"code": "A1", "first_name": "Aki Sato"}, "blocked": []}
    cli("contacts", "edit", "Aki", "--tz", "", "--field", "code=B2", "--field", "first_name=")
    assert cli("contacts", "show", "Aki").stdout.endswith(
        "timezone: - (the service's TIMEZONE)\nfields:   code=B2\nblocked:  -\n")


def test_cli_refusals_name_the_option_or_field(cli, stack, token):
    assert "timezone" in cli("contacts", "add", "Aki", "--tz", "Mars/Olympus", exit_code=1).output
    assert "--field" in cli("contacts", "add", "Aki", "--field", "code", exit_code=2).output
    assert "fields" in cli("contacts", "add", "Aki", "--field", "1x=y", exit_code=1).output
    assert v1(stack, token, "GET", "/contacts").json() == []


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_cli_export_and_import_carry_them(stack, token, cli, tmp_path, suffix):
    v1(stack, token, "POST", "/contacts", AKI)
    # A value's own spaces are kept, through either format.
    v1(stack, token, "POST", "/contacts", {"name": "Bo", "telegram": "bo", "fields": {"team": " red "}})
    before = v1(stack, token, "GET", "/contacts").json()
    book = tmp_path / f"book.{suffix}"
    cli("contacts", "export", str(book))
    if suffix == "csv":
        assert book.read_text() == ("name,telegram,whatsapp,viber,timezone,field.code,field.first_name,"
                                    "field.team\nAki,aki_t,,'+8100,Asia/Tokyo,A1,Aki,\nBo,bo,,,,,, red \n")
    for name in ("Aki", "Bo"):
        v1(stack, token, "DELETE", f"/contacts/{name}")
    assert cli("contacts", "import", str(book)).output == "Imported 2 contacts: 2 new, 0 replaced.\n"
    assert v1(stack, token, "GET", "/contacts").json() == before


@pytest.fixture
def book(stack):
    client = pymongo.MongoClient(stack.config.mongo_url, serverSelectionTimeoutMS=5000)
    yield ContactBook(client[stack.config.mongo_db])
    client.close()


@pytest.mark.parametrize("others", [0, IN_LIMIT + 1])
def test_recipients_give_ids_time_zone_and_fields(stack, token, book, others):
    v1(stack, token, "POST", "/contacts", AKI)
    v1(stack, token, "POST", "/contacts", {"name": "Bo", "telegram": "bo"})
    legacy(stack, token, "POST", {"contact": {"name": "Cy", "messangers": {
        "telegram": "cy", "whatsApp": "", "viber": ""}}})
    extra = [f"extra {n}" for n in range(others)]
    if extra:
        import_book(stack, token, [{"name": name} for name in extra])
    names = ["Aki", "Bo", "Cy", "nobody", *extra]
    found = book.recipients("alice", names, profile=True)
    assert set(found) == {"Aki", "Bo", "Cy", *extra}
    assert found["Aki"] == Recipient(IDS, "Asia/Tokyo", {"code": "A1", "first_name": "Aki"})
    assert found["Bo"] == Recipient({"telegram": "bo", "whatsapp": "", "viber": ""}, None, {})
    assert found["Cy"] == Recipient({"telegram": "cy", "whatsapp": "", "viber": ""}, None, {})
    # The IDs read for a send are those the API shows.
    for name in ("Aki", "Bo", "Cy"):
        assert {m: shown(stack, token, name)[m] for m in IDS} == found[name].ids
