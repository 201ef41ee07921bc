"""`local_time` and `quiet_hours`: each delivery due by its contact's own clock, shown as `due_at`."""

import signal
import time
from datetime import datetime, timedelta, timezone
from datetime import time as daytime

import pytest
from click.testing import CliRunner

from apiclient import received, v1
from conftest import token_for
from console.app import main
from core.timing import at_wall_time, out_of_quiet_hours
from helpers import wait_until
from test_v1_messages import send

ZONES = {"Aki": "Asia/Tokyo", "Ned": "America/New_York", "Uma": None}


def utc(text) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def iso(epoch) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def due_at(message) -> dict:
    return {d["contact"]: datetime.fromisoformat(d["due_at"]) for d in message["deliveries"]}


def add(stack, token, name, zone, **ids):
    body = {"name": name, **(ids or {"telegram": f"t_{name}"}), **({"timezone": zone} if zone else {})}
    assert v1(stack, token, "POST", "/contacts", body).status_code == 201


@pytest.fixture
def token(stack, user_token):
    """Alice, with a contact in Tokyo, one in New York and one with no zone (the service's: UTC)."""
    token = user_token("alice")
    for name, zone in ZONES.items():
        add(stack, token, name, zone)
    return token


# Unit: how wall times resolve, daylight saving included.

def test_a_wall_time_is_read_in_each_zone():
    wall = datetime(2030, 1, 1, 9, 0)
    assert iso(at_wall_time(wall, "Asia/Tokyo")) == datetime(2030, 1, 1, 0, 0, tzinfo=timezone.utc)
    assert iso(at_wall_time(wall, "America/New_York")) == datetime(2030, 1, 1, 14, 0, tzinfo=timezone.utc)


def test_a_skipped_wall_time_reads_with_the_offset_before_the_change():
    # Berlin skips 02:00-03:00 on 2030-03-31: 02:30 is taken as +01:00, i.e. 03:30 summer time.
    assert iso(at_wall_time(datetime(2030, 3, 31, 2, 30), "Europe/Berlin")) == datetime(
        2030, 3, 31, 1, 30, tzinfo=timezone.utc)


def test_a_repeated_wall_time_is_its_first_occurrence():
    # Berlin has 02:30 twice on 2030-10-27: the first, still summer time (+02:00).
    assert iso(at_wall_time(datetime(2030, 10, 27, 2, 30), "Europe/Berlin")) == datetime(
        2030, 10, 27, 0, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("local, quiet, expected", [
    ("2030-01-01T23:30", ("22:00", "08:00"), "2030-01-02T08:00"),   # before midnight: next morning
    ("2030-01-02T03:00", ("22:00", "08:00"), "2030-01-02T08:00"),   # after midnight: that morning
    ("2030-01-02T08:00", ("22:00", "08:00"), "2030-01-02T08:00"),   # the end is out of the window
    ("2030-01-01T21:59", ("22:00", "08:00"), "2030-01-01T21:59"),
    ("2030-01-01T13:00", ("12:00", "14:00"), "2030-01-01T14:00"),   # a window within a day
    ("2030-01-01T14:00", ("12:00", "14:00"), "2030-01-01T14:00"),
])
def test_quiet_hours_move_a_delivery_to_their_end(local, quiet, expected):
    window = tuple(daytime.fromisoformat(t) for t in quiet)
    moved = out_of_quiet_hours(utc(local), "UTC", window)
    assert iso(moved) == datetime.fromisoformat(expected).replace(tzinfo=timezone.utc)


def test_quiet_hours_ending_in_a_skipped_hour_end_after_it():
    # Quiet until 02:30 in Berlin on the night 02:00-03:00 is skipped: out at 03:30 summer time.
    window = (daytime(1, 0), daytime(2, 30))
    moved = out_of_quiet_hours(utc("2030-03-31T00:15"), "Europe/Berlin", window)   # 01:15 local
    assert iso(moved) == datetime(2030, 3, 31, 1, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("due, expected", [
    ("2030-10-27T01:10", "2030-10-27T01:30"),   # the second 02:10 (CET): the second 02:30, not 40 min before
    ("2030-10-27T00:10", "2030-10-27T00:30"),   # the first 02:10 (CEST): the first 02:30, not an hour later
    ("2030-10-27T00:40", "2030-10-27T00:40"),   # the first 02:40 (CEST) is out of the window
])
def test_quiet_hours_ending_in_a_repeated_hour_never_end_before_the_delivery(due, expected):
    # Berlin has 02:00-03:00 twice on 2030-10-27: summer time (+02:00), then winter time (+01:00).
    window = (daytime(22, 0), daytime(2, 30))
    moved = out_of_quiet_hours(utc(due), "Europe/Berlin", window)
    assert moved >= utc(due)
    assert iso(moved) == datetime.fromisoformat(expected).replace(tzinfo=timezone.utc)


# Over HTTP.

def test_local_time_makes_each_delivery_due_at_its_contacts_wall_time(stack, token):
    accepted = send(stack, token, {"to": list(ZONES), "text": "Morning", "local_time": "2030-01-01T09:00"})
    expected = {"Aki": datetime(2030, 1, 1, 0, 0, tzinfo=timezone.utc),
                "Ned": datetime(2030, 1, 1, 14, 0, tzinfo=timezone.utc),
                "Uma": datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)}
    assert due_at(accepted) == expected
    assert accepted["local_time"] == "2030-01-01T09:00"
    assert {d["status"] for d in accepted["deliveries"]} == {"scheduled"}
    # The message is due with its first delivery.
    assert datetime.fromisoformat(accepted["not_before"]) == expected["Aki"]
    assert due_at(v1(stack, token, "GET", f"/messages/{accepted['id']}").json()) == expected


def test_a_daylight_saving_gap_over_http(stack, token):
    add(stack, token, "Bea", "Europe/Berlin")
    accepted = send(stack, token, {"to": ["Bea"], "text": "x", "local_time": "2030-03-31T02:30"})
    assert due_at(accepted) == {"Bea": datetime(2030, 3, 31, 1, 30, tzinfo=timezone.utc)}


@pytest.mark.parametrize("body, field", [
    ({"local_time": "2030-01-01T09:00", "not_before": "2030-01-01T09:00:00+00:00"}, "local_time"),
    ({"local_time": "2030-01-01T09:00+03:00"}, "local_time"),
    ({"local_time": "tomorrow"}, "local_time"),
    ({"local_time": 1893488400}, "local_time"),
    ({"quiet_hours": ["22:00"]}, "quiet_hours"),
    ({"quiet_hours": ["22:00", "25:00"]}, "quiet_hours"),
    ({"quiet_hours": ["8:00", "22:00"]}, "quiet_hours"),
    ({"quiet_hours": ["22:00", "22:00"]}, "quiet_hours"),
])
def test_bad_times_are_422_naming_the_field(stack, token, body, field):
    reply = v1(stack, token, "POST", "/messages", {"to": ["Aki"], "text": "x", **body})
    assert reply.status_code == 422, reply.text
    assert field in reply.json()["errors"]["json"]
    assert v1(stack, token, "GET", "/messages").json() == []


def _window_around(now, before_min, after_min):
    start = datetime.fromtimestamp(now, timezone.utc) - timedelta(minutes=before_min)
    end = datetime.fromtimestamp(now, timezone.utc) + timedelta(minutes=after_min)
    return [start.strftime("%H:%M"), end.strftime("%H:%M")], end.replace(second=0, microsecond=0)


def test_quiet_hours_hold_a_delivery_to_their_end_and_leave_the_rest(stack, token):
    now = time.time()
    quiet, end = _window_around(now, 60, 60)
    held = send(stack, token, {"to": ["Uma"], "text": "later", "quiet_hours": quiet})
    assert due_at(held) == {"Uma": end}
    assert held["deliveries"][0]["status"] == "scheduled" and held["quiet_hours"] == quiet
    # A window that does not hold now lets the delivery go at once.
    away, _ = _window_around(now, -120, 180)
    sent = send(stack, token, {"to": ["Uma"], "text": "now", "quiet_hours": away})
    assert abs(due_at(sent)["Uma"].timestamp() - now) < 5
    wait_until(lambda: received(stack), timeout=10, message="the open-hours delivery")
    time.sleep(1)
    assert [r["text"] for r in received(stack)] == ["now"]


def test_local_time_and_quiet_hours_together(stack, token):
    # 03:00 in each contact's zone is inside 22:00-08:00: each goes at 08:00 their time.
    accepted = send(stack, token, {"to": list(ZONES), "text": "x", "local_time": "2030-01-01T03:00",
                                   "quiet_hours": ["22:00", "08:00"]})
    assert due_at(accepted) == {"Aki": datetime(2029, 12, 31, 23, 0, tzinfo=timezone.utc),
                                "Ned": datetime(2030, 1, 1, 13, 0, tzinfo=timezone.utc),
                                "Uma": datetime(2030, 1, 1, 8, 0, tzinfo=timezone.utc)}


def test_the_preview_shows_each_due_time(stack, token):
    reply = v1(stack, token, "POST", "/messages/preview",
               {"to": ["Aki", "Ned"], "text": "x", "local_time": "2030-06-01T09:00"})
    assert reply.status_code == 200, reply.text
    assert {d["contact"]: d["due_at"] for d in reply.json()["deliveries"]} == {
        "Aki": "2030-06-01T00:00:00.000+00:00", "Ned": "2030-06-01T13:00:00.000+00:00"}


def _local_wall(now, zone_offset_hours):
    return (datetime.fromtimestamp(now, timezone.utc) + timedelta(hours=zone_offset_hours)).replace(
        tzinfo=None, microsecond=0)


def test_deliveries_arrive_at_their_local_time_across_a_killed_worker(make_stack):
    # Shipped settings. Each contact's local time is a few seconds ahead in
    # their own zone: one moment, named by ten different wall clocks.
    stack = make_stack(shipped=True)
    token = token_for(stack)
    zones = {f"z{h}": f"Etc/GMT{-h:+d}" if h else "UTC" for h in range(-4, 6)}
    for name, zone in zones.items():
        add(stack, token, name, zone)
    names = list(zones)
    due = time.time() + 6
    accepted = {}
    for h, name in zip(range(-4, 6), names, strict=True):
        wall = _local_wall(due, h).isoformat()
        accepted[name] = send(stack, token, {"to": [name], "text": f"for {name}", "local_time": wall})
    planned = {n: datetime.fromisoformat(m["deliveries"][0]["due_at"]).timestamp()
               for n, m in accepted.items()}
    assert all(abs(p - int(due)) < 1 for p in planned.values()), planned
    stack.kill("worker", signal.SIGKILL)
    stack.start("worker")
    wait_until(lambda: len(received(stack)) >= len(names), timeout=60, message="every local-time delivery")
    time.sleep(1)
    arrived = received(stack)
    # Accepted 10, arrived 10, each once, none before its due time.
    assert sorted(r["text"] for r in arrived) == sorted(f"for {n}" for n in names)
    by_text = {r["text"]: r["time"] for r in arrived}
    assert all(by_text[f"for {n}"] >= planned[n] for n in names), (by_text, planned)


def test_the_cli_shows_each_contacts_due_time(stack, token, tmp_path):
    accepted = send(stack, token, {"to": list(ZONES), "text": "Morning", "local_time": "2030-01-01T09:00"})
    env = {"DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token,
           "DISPATCHER_CONFIG": str(tmp_path / "cli.json")}
    shown = CliRunner().invoke(main, ["messages", "show", accepted["id"]], env=env, prog_name="python cli.py")
    assert shown.exit_code == 0, shown.output
    assert "Local time: 2030-01-01 09:00 in each contact's zone" in shown.stdout
    rows = [line.split() for line in shown.stdout.splitlines()[-4:]]
    shown_at = {utc_hour: iso(utc(f"2030-01-01T{utc_hour:02d}:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
                for utc_hour in (0, 9, 14)}
    assert rows == [["CONTACT", "MESSENGER", "STATUS", "ATTEMPTS", "DUE", "LAST", "ERROR"],
                    ["Aki", "telegram", "scheduled", "0", *shown_at[0].split(), "-"],
                    ["Ned", "telegram", "scheduled", "0", *shown_at[14].split(), "-"],
                    ["Uma", "telegram", "scheduled", "0", *shown_at[9].split(), "-"]]
