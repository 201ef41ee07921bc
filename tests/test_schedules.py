"""Recurring sends: each run of a schedule one message, with two schedulers, across restarts and
downtime, at the shipped SCHEDULE_GRACE (300 s)."""

import math
import time
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from apiclient import received, v1
from console.app import main
from core.clients import mongo_database
from core.config import Config
from core.idempotency import RESERVATION_MARGIN
from core.recurring import HOLD_SECONDS, CronRefused, checked_cron, missed_runs, run_after
from fixtures_cli import CLEAR
from helpers import wait_until

GRACE = 300
EVERY_MINUTE = "* * * * *"
# A scheduler tick is 0.5 s; a run is handed to a worker, which sends at once.
RUN_WAIT = 20
# Schedules due at once when a scheduler is killed amid their runs.
KILLED_AMID = 100
# A run killed amid its send leaves its hold, and its Idempotency-Key reserved
# for as long as a request may run: the scheduler that takes over sends once
# both are up, within a run's wait.
TAKEN_OVER = max(HOLD_SECONDS, math.ceil(Config().send_deadline + RESERVATION_MARGIN)) + RUN_WAIT


def utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


@pytest.fixture
def token(stack, user_token):
    """Alice, with the contacts Artem and Lera on Telegram."""
    token = user_token("alice")
    for name in ("Artem", "Lera"):
        assert v1(stack, token, "POST", "/contacts", {"name": name, "telegram": f"t_{name}"}).status_code == 201
    return token


@pytest.fixture
def schedules(stack):
    """The schedules collection, as a test changes what a run finds."""
    return mongo_database(stack.config)["schedules"]


def make(stack, token, text, cron=EVERY_MINUTE, **body):
    reply = v1(stack, token, "POST", "/schedules", {"to": ["Artem"], "text": text, "cron": cron, **body})
    assert reply.status_code == 201, reply.text
    return reply.json()


def show(stack, token, schedule_id):
    reply = v1(stack, token, "GET", f"/schedules/{schedule_id}")
    assert reply.status_code == 200, reply.text
    return reply.json()


def arrived(stack, text) -> list:
    """What the gateway accepted with this text."""
    return [r for r in received(stack) if r["text"] == text]


def scheduled_messages(stack, token, schedule_id) -> list:
    """The user's messages (of the latest 100) that the list says this schedule's runs made, each in full."""
    page = v1(stack, token, "GET", "/messages", params={"page_size": 100}).json()
    made = [v1(stack, token, "GET", f"/messages/{m['id']}").json() for m in page
            if m.get("schedule_id") == schedule_id]
    assert all(m["schedule_id"] == schedule_id for m in made)
    return made


def minute_start(now) -> float:
    return now - now % 60


def early_in_a_minute():
    """Wait, if need be, until at most 30 s of the current minute have passed (cron's runs are on it)."""
    into = time.time() % 60
    if into > 30:
        time.sleep(60 - into + 0.5)


def as_if_down_since(schedules, schedule_id, moment, **more):
    """Make a schedule's next run `moment`, as if every scheduler had been down since then."""
    changed = schedules.update_one({"_id": schedule_id}, {"$set": {"next_run_at": moment, "try_at": moment,
                                                                   **more}})
    assert changed.modified_count == 1


# Unit: when runs fall.

def test_runs_are_read_as_wall_time_in_the_zone():
    # Mondays 09:00 in Tokyo: Monday 2030-01-07 00:00 UTC.
    assert run_after("0 9 * * MON", "Asia/Tokyo", utc(2030, 1, 1)) == utc(2030, 1, 7, 0, 0)
    assert run_after("0 9 * * MON", "UTC", utc(2030, 1, 1)) == utc(2030, 1, 7, 9, 0)


def test_a_run_at_a_skipped_wall_time_goes_at_the_change():
    # Berlin skips 02:00-03:00 on 2030-03-31: the 02:30 run goes at 03:00 summer time (01:00 UTC).
    assert run_after("30 2 * * *", "Europe/Berlin", utc(2030, 3, 30, 12)) == utc(2030, 3, 31, 1, 0)


def test_a_run_at_a_repeated_wall_time_goes_once():
    # Berlin has 02:30 twice on 2030-10-27: one run, at the first (00:30 UTC); the next a day on.
    first = run_after("30 2 * * *", "Europe/Berlin", utc(2030, 10, 26, 12))
    assert first == utc(2030, 10, 27, 0, 30)
    assert run_after("30 2 * * *", "Europe/Berlin", first) == utc(2030, 10, 28, 1, 30)


def test_missed_runs_name_the_latest_and_count_the_ones_before():
    assert missed_runs(EVERY_MINUTE, "UTC", 600.0, 785.3) == (780.0, 3)
    assert missed_runs(EVERY_MINUTE, "UTC", 600.0, 600.5) == (600.0, 0)


@pytest.mark.parametrize("expr", ["61 * * * *", "* * * *", "0 0 * * * *", "@hourly", "0 9 * * FUNDAY"])
def test_what_is_not_cron_is_refused(expr):
    with pytest.raises(CronRefused):
        checked_cron(expr)


# Over HTTP: making, reading, pausing, deleting.

def test_a_schedule_is_made_shown_paused_resumed_and_deleted(stack, token):
    before = time.time()
    made = make(stack, token, "Stand-up", cron="0 9 * * MON", timezone="Asia/Tokyo", messengers=["telegram"])
    assert made["id"].startswith("sch_")
    assert made["cron"] == "0 9 * * MON" and made["timezone"] == "Asia/Tokyo" and not made["paused"]
    assert made["send"] == {"to": ["Artem"], "text": "Stand-up", "messengers": ["telegram"]}
    assert datetime.fromisoformat(made["next_run_at"]).timestamp() == run_after("0 9 * * MON", "Asia/Tokyo", before)
    assert (made["runs"], made["skipped_runs"], made["last_run_at"], made["last_error"]) == (0, 0, None, None)
    listed = v1(stack, token, "GET", "/schedules").json()
    assert [s["id"] for s in listed] == [made["id"]]

    paused = v1(stack, token, "POST", f"/schedules/{made['id']}/pause").json()
    assert paused["paused"] and paused["next_run_at"] is None
    resumed = v1(stack, token, "POST", f"/schedules/{made['id']}/resume").json()
    assert not resumed["paused"] and resumed["next_run_at"] == made["next_run_at"]

    assert v1(stack, token, "DELETE", f"/schedules/{made['id']}").status_code == 204
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume")):
        gone = v1(stack, token, method, f"/schedules/{made['id']}{path}")
        assert gone.status_code == 404 and made["id"] in gone.json()["message"]


def test_the_service_time_zone_is_the_default(stack, token):
    assert make(stack, token, "hi")["timezone"] == stack.config.timezone


def test_another_users_schedule_is_not_found(stack, token, user_token):
    made = make(stack, token, "mine")
    other = user_token("bob")
    assert v1(stack, other, "GET", f"/schedules/{made['id']}").status_code == 404
    assert v1(stack, other, "DELETE", f"/schedules/{made['id']}").status_code == 404
    assert v1(stack, other, "GET", "/schedules").json() == []


@pytest.mark.parametrize("change, status, field", [
    ({"cron": "61 * * * *"}, 422, "cron"),
    ({"cron": "*/5 * * * * *"}, 422, "cron"),
    ({"timezone": "Mars/Olympus"}, 422, "timezone"),
    ({"text": "Hi {{ nickname }}", "template": True}, 422, "text"),
    ({"text": "Hi {{ name.__class__ }}", "template": True}, 422, "text"),
    ({"not_before": "2030-01-01T09:00:00+00:00"}, 422, "not_before"),
    ({"local_time": "2030-01-01T09:00"}, 422, "local_time"),
    ({"messengers": ["pigeon"]}, 422, "messengers"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_made(stack, token, change, status, field):
    reply = v1(stack, token, "POST", "/schedules", {"to": ["Artem"], "text": "hi", "cron": EVERY_MINUTE,
                                                    **change})
    assert reply.status_code == status, reply.text
    assert field in reply.json()["errors"]["json"], reply.text
    assert v1(stack, token, "GET", "/schedules").json() == []


def test_an_unknown_contact_is_refused_and_nothing_is_made(stack, token):
    reply = v1(stack, token, "POST", "/schedules", {"to": ["Artem", "Nobody"], "text": "hi", "cron": EVERY_MINUTE})
    assert reply.status_code == 404 and "Nobody" in reply.json()["message"]
    assert v1(stack, token, "GET", "/schedules").json() == []


# Runs.

def test_two_schedulers_make_one_message_per_run_on_time(stack, token, schedules):
    stack.add_copy("scheduler")
    early_in_a_minute()
    made = [make(stack, token, f"run check {n}") for n in range(10)]
    # Each made due at the start of this minute: both schedulers find all ten at once.
    first_run = minute_start(time.time())
    for schedule in made:
        as_if_down_since(schedules, schedule["id"], first_run)
    wait_until(lambda: all(show(stack, token, s["id"])["runs"] == 1 for s in made), RUN_WAIT, 0.2,
               "a first run of each")
    # The second run is cron's own, at the next minute.
    second_run = first_run + 60
    wait_until(lambda: all(show(stack, token, s["id"])["runs"] == 2 for s in made), 60 + RUN_WAIT, 0.5,
               "a second run of each")
    for schedule in made:
        text = schedule["send"]["text"]
        # Both runs' deliveries, each once: the second's may still be on its way when its run is counted.
        got = wait_until(lambda text=text: len(found := arrived(stack, text)) >= 2 and found, RUN_WAIT, 0.2,
                         f"both runs of {text!r} at the gateway")
        assert len(got) == 2, (text, got)
        messages = scheduled_messages(stack, token, schedule["id"])
        assert len(messages) == 2 and {m["text"] for m in messages} == {text}
        now = show(stack, token, schedule["id"])
        assert now["last_run_at"] == datetime.fromtimestamp(second_run, timezone.utc).isoformat(
            timespec="milliseconds")
        assert now["last_message_id"] in {m["id"] for m in messages}
        assert now["skipped_runs"] == 0 and now["last_error"] is None
        # The second run's delivery arrived within seconds of its minute.
        sent_at = sorted(r["time"] for r in got)[1]
        assert second_run <= sent_at < second_run + 10, (sent_at - second_run)


def test_a_run_missed_while_down_within_grace_is_sent_once_on_start(stack, token, schedules):
    stack.stop("scheduler")
    now = time.time()
    # Hourly at a minute two to three minutes ago: one run missed, well within the grace.
    missed = minute_start(now) - 120
    made = make(stack, token, "catch up", cron=f"{time.gmtime(missed).tm_min} * * * *")
    as_if_down_since(schedules, made["id"], missed)
    stack.start("scheduler")
    after = wait_until(lambda: (s := show(stack, token, made["id"]))["runs"] == 1 and s, RUN_WAIT, 0.2,
                       "the missed run")
    assert after["last_run_at"] == datetime.fromtimestamp(missed, timezone.utc).isoformat(timespec="milliseconds")
    assert datetime.fromisoformat(after["next_run_at"]).timestamp() == missed + 3600
    assert after["skipped_runs"] == 0
    # A restart finds nothing more to do.
    stack.restart("scheduler")
    time.sleep(3)
    assert len(arrived(stack, "catch up")) == 1
    assert [m["id"] for m in scheduled_messages(stack, token, made["id"])] == [after["last_message_id"]]


def test_a_run_missed_past_grace_is_skipped_and_counted(stack, token, schedules):
    stack.stop("scheduler")
    # Hourly at a minute ten to eleven minutes ago: past the 300 s grace.
    missed = minute_start(time.time()) - 600
    made = make(stack, token, "too late", cron=f"{time.gmtime(missed).tm_min} * * * *")
    as_if_down_since(schedules, made["id"], missed)
    assert missed < time.time() - GRACE
    stack.start("scheduler")
    after = wait_until(lambda: (s := show(stack, token, made["id"]))["skipped_runs"] == 1 and s, RUN_WAIT,
                       0.2, "the skip")
    assert after["last_skipped_at"] == datetime.fromtimestamp(missed, timezone.utc).isoformat(
        timespec="milliseconds")
    assert after["runs"] == 0 and after["last_run_at"] is None
    assert datetime.fromisoformat(after["next_run_at"]).timestamp() == missed + 3600
    time.sleep(2)
    assert arrived(stack, "too late") == [] and scheduled_messages(stack, token, made["id"]) == []


def test_several_missed_runs_send_the_latest_and_count_the_rest(stack, token, schedules):
    stack.stop("scheduler")
    early_in_a_minute()
    start = minute_start(time.time())
    made = make(stack, token, "latest only")
    as_if_down_since(schedules, made["id"], start - 120)
    stack.start("scheduler")
    after = wait_until(lambda: (s := show(stack, token, made["id"]))["runs"] == 1 and s, RUN_WAIT, 0.2,
                       "the latest missed run")
    assert after["last_run_at"] == datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="milliseconds")
    assert after["skipped_runs"] == 2
    assert after["last_skipped_at"] == datetime.fromtimestamp(start - 60, timezone.utc).isoformat(
        timespec="milliseconds")
    assert len(arrived(stack, "latest only")) == 1


def test_a_scheduler_that_died_after_sending_is_taken_over_without_a_second_message(stack, token, schedules):
    stack.stop("scheduler")
    made = make(stack, token, "sent before the crash", cron="0 9 * * *")
    run = minute_start(time.time())
    # What a scheduler killed between the send and marking the run done leaves:
    # the message, made with the run's key, and its hold, since run out.
    first = v1(stack, token, "POST", "/messages", made["send"],
               headers={"Idempotency-Key": f"schedule-{made['id']}-{int(run)}"})
    assert first.status_code == 202, first.text
    as_if_down_since(schedules, made["id"], run, holder="a scheduler that died")
    stack.start("scheduler")
    after = wait_until(lambda: (s := show(stack, token, made["id"]))["runs"] == 1 and s, RUN_WAIT, 0.2,
                       "the run taken over")
    assert after["last_message_id"] == first.json()["id"]
    wait_until(lambda: arrived(stack, "sent before the crash"), RUN_WAIT)
    assert len(arrived(stack, "sent before the crash")) == 1


def test_a_scheduler_killed_amid_runs_leaves_each_run_one_message(stack, token, schedules):
    # At the shipped hold: what the killed scheduler held waits HOLD_SECONDS, then is taken over.
    made = [make(stack, token, f"amid {n}", cron="0 9 * * *") for n in range(KILLED_AMID)]
    ids = [m["id"] for m in made]
    # All due at once, the scheduler already running (its start waits for it to be ready: runs go meanwhile).
    run = minute_start(time.time())
    due = schedules.update_many({"_id": {"$in": ids}}, {"$set": {"next_run_at": run, "try_at": run}})
    assert due.modified_count == KILLED_AMID
    wait_until(lambda: schedules.find_one({"_id": {"$in": ids}, "runs": 1}), RUN_WAIT, 0.002, "a first run")
    stack.kill("scheduler")
    killed_at = time.time()
    done = schedules.count_documents({"_id": {"$in": ids}, "runs": 1})
    held = schedules.count_documents({"_id": {"$in": ids}, "runs": 0, "holder": {"$exists": True}})
    assert done < KILLED_AMID, "the kill came after every run"
    stack.start("scheduler")
    wait_until(lambda: schedules.count_documents({"_id": {"$in": ids}, "runs": 1}) == KILLED_AMID,
               TAKEN_OVER, 0.5, f"every run ({done} done and {held} held at the kill)")
    wait_until(lambda: all(arrived(stack, m["send"]["text"]) for m in made), RUN_WAIT, 0.5, "every delivery")
    page = v1(stack, token, "GET", "/messages", params={"page_size": 100}).json()
    made_by = [m["schedule_id"] for m in page]
    assert sorted(made_by) == sorted(ids), (done, held)
    texts = [r["text"] for r in received(stack)]
    assert sorted(texts) == sorted(m["send"]["text"] for m in made), (done, held)
    assert max(r["time"] for r in received(stack)) < killed_at + TAKEN_OVER


def test_a_schedule_held_by_a_live_scheduler_waits_for_its_hold(stack, token, schedules):
    made = make(stack, token, "held", cron="0 9 * * *")
    run, held_until = minute_start(time.time()), time.time() + 4
    schedules.update_one({"_id": made["id"]}, {"$set": {"next_run_at": run, "try_at": held_until,
                                                        "holder": "a scheduler still sending"}})
    after = wait_until(lambda: (s := show(stack, token, made["id"]))["runs"] == 1 and s, RUN_WAIT, 0.2,
                       "the run after the hold")
    assert time.time() >= held_until
    assert after["last_run_at"] == datetime.fromtimestamp(run, timezone.utc).isoformat(timespec="milliseconds")


def test_a_schedule_that_cannot_be_read_holds_up_no_other(stack, token, schedules):
    broken, fine = make(stack, token, "broken", cron="0 9 * * *"), make(stack, token, "fine", cron="0 9 * * *")
    run = minute_start(time.time())
    as_if_down_since(schedules, broken["id"], run - 1, cron="not cron")
    as_if_down_since(schedules, fine["id"], run)
    wait_until(lambda: show(stack, token, fine["id"])["runs"] == 1, RUN_WAIT, 0.2, "the other schedule's run")
    assert show(stack, token, broken["id"])["runs"] == 0
    assert stack.pid("scheduler") is not None


def test_a_run_refused_is_recorded_and_the_schedule_goes_on(stack, token, schedules):
    made = make(stack, token, "to Lera", cron="0 9 * * *")
    assert v1(stack, token, "PUT", f"/schedules/{made['id']}", {}).status_code == 405
    schedules.update_one({"_id": made["id"]}, {"$set": {"send.to": ["Lera"]}})
    assert v1(stack, token, "DELETE", "/contacts/Lera").status_code == 204
    missed = minute_start(time.time())
    as_if_down_since(schedules, made["id"], missed)
    after = wait_until(lambda: (s := show(stack, token, made["id"]))["last_error"] and s, RUN_WAIT, 0.2,
                       "the refusal")
    assert after["last_error"]["status"] == 404 and "Lera" in after["last_error"]["message"]
    assert after["runs"] == 0
    assert datetime.fromisoformat(after["next_run_at"]).timestamp() > time.time()
    assert arrived(stack, "to Lera") == []


def test_a_paused_schedule_does_not_run_and_resumes_without_catching_up(stack, token, schedules):
    made = make(stack, token, "paused", cron="0 9 * * *")
    v1(stack, token, "POST", f"/schedules/{made['id']}/pause")
    as_if_down_since(schedules, made["id"], minute_start(time.time()))
    time.sleep(3)
    assert show(stack, token, made["id"])["runs"] == 0 and arrived(stack, "paused") == []
    resumed = v1(stack, token, "POST", f"/schedules/{made['id']}/resume").json()
    assert datetime.fromisoformat(resumed["next_run_at"]).timestamp() == run_after("0 9 * * *", "UTC", time.time())
    time.sleep(2)
    assert arrived(stack, "paused") == []


def test_a_template_schedule_renders_per_contact(stack, token, schedules, tmp_path):
    assert v1(stack, token, "PUT", "/contacts/Lera", {"telegram": "t_Lera", "fields": {"first": "Lera"}}
              ).status_code == 200
    made = make(stack, token, "Hi {{ fields.first | default(name) }}", to=["Artem", "Lera"], template=True)
    as_if_down_since(schedules, made["id"], minute_start(time.time()))
    wait_until(lambda: show(stack, token, made["id"])["runs"] == 1, RUN_WAIT, 0.2, "the run")
    wait_until(lambda: len([r for r in received(stack) if r["text"].startswith("Hi ")]) == 2, RUN_WAIT)
    assert sorted(r["text"] for r in received(stack) if r["text"].startswith("Hi ")) == ["Hi Artem", "Hi Lera"]
    message_id = scheduled_messages(stack, token, made["id"])[0]["id"]
    env = {**CLEAR, "DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token,
           "DISPATCHER_CONFIG": str(tmp_path / "config.json")}
    shown = CliRunner().invoke(main, ["messages", "show", message_id], env=env, prog_name="python cli.py")
    assert shown.exit_code == 0, shown.output
    assert f"Schedule:   {made['id']}" in shown.output
    assert sorted(line.split()[-2:] for line in shown.output.splitlines()[-2:]) == [["Hi", "Artem"], ["Hi", "Lera"]]


# The CLI.

def test_the_cli_adds_lists_shows_pauses_resumes_and_removes(stack, token, tmp_path):
    env = {**CLEAR, "DISPATCHER_URL": stack.api_url, "DISPATCHER_TOKEN": token,
           "DISPATCHER_CONFIG": str(tmp_path / "config.json")}

    def cli(*args):
        result = CliRunner().invoke(main, list(args), env=env, prog_name="python cli.py")
        assert result.exit_code == 0, result.output
        return result.output

    added = cli("schedules", "add", "Weekly report", "--to", "Artem", "--to", "Lera", "--cron", "0 9 * * MON",
                "--tz", "Europe/Moscow", "--only", "telegram")
    schedule_id = added.splitlines()[0]
    assert schedule_id.startswith("sch_") and "'0 9 * * MON' in Europe/Moscow" in added
    listed = cli("schedules", "ls")
    assert schedule_id in listed and "Artem, Lera" in listed and "Weekly report" in listed
    shown = cli("schedules", "show", schedule_id)
    assert "Cron:       0 9 * * MON in Europe/Moscow" in shown and "Runs:       0 sent, 0 skipped" in shown
    assert f"Paused schedule {schedule_id}." in cli("schedules", "pause", schedule_id)
    assert "paused" in cli("schedules", "ls")
    assert f"Resumed schedule {schedule_id}: next run" in cli("schedules", "resume", schedule_id)
    assert f"Deleted schedule {schedule_id}." in cli("schedules", "rm", schedule_id)
    assert "No schedules." in cli("schedules", "ls")
    refused = CliRunner().invoke(main, ["schedules", "add", "x", "--to", "Artem", "--cron", "nope"], env=env)
    assert refused.exit_code == 1 and "cron" in refused.output
