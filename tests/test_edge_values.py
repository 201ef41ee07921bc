"""No stored record makes a later read fail: every accepted edge value, sent and read back through every view."""

from datetime import datetime
from urllib.parse import quote
from zoneinfo import available_timezones

import pymongo
import pytest
import requests

from api.fields import ID_MAX, NAME_MAX, TEXT_MAX, YEAR_MAX, YEAR_MIN
from conftest import reset, running_stack
from core.contacts import FIELD_KEY_MAX, FIELD_VALUE_MAX, FIELDS_MAX, TIME_ZONES
from core.timeutil import epoch_to_iso, epoch_to_wallclock, wallclock_to_epoch
from core.users import UserStore
from helpers import wait_until

EARLIEST = [YEAR_MIN, 1, 1, 0, 0, 0]
LATEST = [YEAR_MAX, 12, 31, 23, 59, 59]
# The farthest offsets ISO 8601 allows, from the allowed years' ends.
EARLIEST_ISO, LATEST_ISO = "0002-01-01T00:00:00+23:59", "9998-12-31T23:59:59-23:59"
ODD = "😀 שלום e\u0301 \u202eRTL\u202c \u200d\ufeff\U0010fffd"
USER = (ODD + "u" * NAME_MAX)[:NAME_MAX]
# A contact's name is NFC and holds no bidi or zero-width control (refused): ODD less those.
NAME_ODD = "😀 שלום \u00e9 RTL \U0010fffd"
NAMES = [("😀" * NAME_MAX), ("שלום" + "x" * (NAME_MAX - 4)), "a/b%2F?#" + NAME_ODD, " spaced "]
IDS = {"telegram": ("t" + ODD * 30)[:ID_MAX], "whatsapp": "+7" + "9" * (ID_MAX - 2), "viber": ODD}
# The most fields, the longest keys and values, and the longest time zone name.
FIELDS = {f"_K{n}".ljust(FIELD_KEY_MAX, "x"): (ODD * 30)[:FIELD_VALUE_MAX] for n in range(FIELDS_MAX)}
PROFILE = {"timezone": max(TIME_ZONES, key=len), "fields": FIELDS}
# Line breaks, tabs and other control characters, but for NUL, are a text's own.
TEXT = ("\t\n\r\x1b\x7f\x85" + ODD + "x" * TEXT_MAX)[:TEXT_MAX]


@pytest.mark.parametrize("zone", sorted(available_timezones()))
def test_every_zone_turns_the_allowed_years_into_readable_instants(zone):
    for parts in (EARLIEST, LATEST):
        due = wallclock_to_epoch(parts, zone)
        assert epoch_to_wallclock(due, zone) == parts
        assert epoch_to_iso(due)


@pytest.fixture(scope="module")
def new_york(tmp_path_factory):
    with running_stack(tmp_path_factory, "newyork", timezone="America/New_York") as stack:
        yield stack


def test_refused_beyond_the_range_in_new_york(new_york):
    reset(new_york)
    url = new_york.api_url
    body = {"user_name": "u", "contact": {"name": "A", "messangers": {"telegram": "t"}}}
    assert requests.post(url + "/api/contacts", json=body, timeout=10).status_code == 200
    for when in ([YEAR_MAX + 1, 12, 31, 23, 59, 59], [1, 1, 1, 0, 0, 0]):
        reply = requests.put(url + "/api/contacts", timeout=10, json={
            "user_name": "u", "contact": ["A"], "message": "x", "time": when})
        assert reply.status_code == 422, reply.text
        assert "time" in reply.json()["errors"]["json"]


def test_every_edge_value_reads_back_through_every_view(new_york):
    stack = new_york
    reset(stack)
    url = stack.api_url
    mongo = pymongo.MongoClient(stack.config.mongo_url)
    token = UserStore(mongo[stack.config.mongo_db]).create_user(USER)
    mongo.close()
    auth = {"Authorization": f"Bearer {token}"}

    def v1(method, path, body=None):
        reply = requests.request(method, url + "/api/v1" + path, json=body, headers=auth, timeout=10)
        assert reply.status_code < 300, (method, path, reply.status_code, reply.text)
        return reply.json() if reply.content else None

    def legacy(method, path, body):
        reply = requests.request(method, url + path, json={"user_name": USER, **body}, timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.json()

    for name in NAMES:
        legacy("POST", "/api/contacts", {"contact": {"name": name, "messangers": {
            "telegram": IDS["telegram"], "whatsApp": IDS["whatsapp"], "viber": IDS["viber"]}}})
        v1("PUT", "/contacts/" + quote(name, safe=""), {**IDS, **PROFILE})
    sent = [legacy("PUT", "/api/contacts", {"contact": NAMES, "message": TEXT, "time": when})["message_id"]
            for when in (EARLIEST, LATEST)]
    for when in (EARLIEST, LATEST, EARLIEST_ISO, LATEST_ISO):
        sent.append(v1("POST", "/messages", {"to": NAMES, "text": TEXT, "not_before": when})["id"])

    assert legacy("GET", "/api/contacts", {})["contacts"] == {
        name: {"telegram": IDS["telegram"], "whatsApp": IDS["whatsapp"], "viber": IDS["viber"]}
        for name in NAMES}
    assert v1("GET", "/contacts") == [{"name": name, **IDS, **PROFILE} for name in NAMES]
    for name in NAMES:
        assert v1("GET", "/contacts/" + quote(name, safe="")) == {"name": name, **IDS, **PROFILE,
                                                                  "blocked": []}
    # Viber fails here: each send due at once leaves a failed record per contact.
    records = wait_until(lambda: len(f := legacy("GET", "/api/get_failed_mess", {})["data"]) == 3 * len(NAMES)
                         and f, timeout=60, message="failed records")
    iso_earliest = epoch_to_wallclock(datetime.fromisoformat(EARLIEST_ISO).timestamp(), "America/New_York")
    assert {tuple(r["time"]) for r in records} == {tuple(EARLIEST), tuple(iso_earliest)}
    assert all(r["message"] == TEXT and r["sender"] == USER for r in records)
    assert len(v1("GET", "/failed?page_size=100")) == 3 * len(NAMES)
    listed = v1("GET", "/messages?page_size=100")
    assert sorted(m["id"] for m in listed) == sorted(sent)
    for message_id in sent:
        message = v1("GET", "/messages/" + message_id)
        assert message["text"] == TEXT and message["sender"] == USER
        assert {d["to"] for d in message["deliveries"]} == set(IDS.values())
        assert v1("POST", f"/messages/{message_id}/cancel")["message"]["id"] == message_id
