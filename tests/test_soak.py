"""The chaos soak: its accounting on made-up records, and a short soak of the real stack (`make soak`)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from soak.__main__ import exit_status
from soak.chaos import Kill
from soak.ledger import account, spread
from soak.load import Accepted, Plan
from soak.observe import Look
from soak.report import render

pytestmark = pytest.mark.timing

REPO = Path(__file__).resolve().parent.parent
SHORT_SOAK = ["--seconds", "60", "--contacts", "40", "--rate", "2"]
# Start-up, 60 s of sends, the last due 60 s later, drain and settle, stop.
SHORT_SOAK_TIMEOUT = 400
P99_BOUND = 5.0

NOW = 1_700_000_000.0
WORKERS = ["worker", "worker2"]
# What a run adds to the ledger in the report.
FACTS = {"seconds": 60, "contacts": 4, "rate": 1, "worker_processes": 2, "seed": 1,
         "sends": {"original": 1, "v1": 1}, "accepted_sends": 2, "unanswered": {},
         "kills": {"worker": 1}, "exits": {}}


def delivery(n, due=NOW, messenger="telegram", far=False):
    """An accepted delivery of made-up message m<n>."""
    return Accepted(f"m{n}-0", due, messenger, "v1", far)


def got(key, at):
    """A gateway record of one accepted message."""
    return {"key": key, "time": at, "messenger": "telegram", "to": "x", "text": "t"}


def look(received=(), failed=(), statuses=None, at=NOW + 100):
    """A last look at a made-up system."""
    return Look(list(received), set(failed), statuses or {}, at)


def test_all_delivered_on_time_passes():
    accepted = [delivery(1), delivery(2, messenger="viber"), delivery(3, due=NOW + 500, far=True)]
    ledger = account(accepted, look([got("m1-0", NOW + 0.2)], failed=["m2-0"],
                                    statuses={"m3-0": "scheduled"}), [], WORKERS)
    assert (ledger.sent, ledger.failed, ledger.pending, ledger.missing) == (1, 1, 1, [])
    assert ledger.problems() == []
    assert exit_status(ledger) == 0
    assert ledger.lateness == {"p50": 0.2, "p99": 0.2, "max": 0.2}


def test_a_missing_delivery_fails_the_soak():
    accepted = [delivery(1), delivery(2)]
    ledger = account(accepted, look([got("m1-0", NOW + 1)], statuses={"m2-0": "sending"}), [], WORKERS)
    assert ledger.missing == ["m2-0"]
    assert ledger.missing_by_status == {"sending": 1}
    assert ledger.problems() == ["1 missing"]
    assert exit_status(ledger) == 1
    assert "FAIL: 1 missing" in render(ledger, FACTS)


def test_a_waiting_delivery_already_due_is_missing_not_pending():
    ledger = account([delivery(1, due=NOW)], look(statuses={"m1-0": "queued"}), [], WORKERS)
    assert (ledger.pending, ledger.missing) == (0, ["m1-0"])


def test_an_early_delivery_fails_the_soak():
    ledger = account([delivery(1, due=NOW + 10)], look([got("m1-0", NOW + 9.99)]), [], WORKERS)
    assert ledger.early == ["m1-0"]
    assert exit_status(ledger) == 1


def test_a_delivery_on_the_millisecond_is_not_early():
    ledger = account([delivery(1, due=NOW + 10)], look([got("m1-0", NOW + 9.9995)]), [], WORKERS)
    assert ledger.early == []


def test_a_duplicate_explained_only_by_a_worker_kill_at_its_first_receipt():
    accepted = [delivery(1), delivery(2)]
    received = [got("m1-0", NOW + 1), got("m1-0", NOW + 20), got("m2-0", NOW + 1), got("m2-0", NOW + 5)]
    ledger = account(accepted, look(received), [Kill("worker2", NOW + 1.4)], WORKERS)
    assert ledger.duplicates == ["m1-0", "m2-0"]
    assert ledger.in_flight == ["m1-0", "m2-0"]
    assert exit_status(ledger) == 0
    ledger = account(accepted, look(received), [Kill("worker", NOW + 3.0), Kill("redis", NOW + 1.2)],
                     WORKERS)
    assert ledger.unexplained == ["m1-0", "m2-0"]
    assert ledger.unexplained_near == {"redis": 2}
    assert ledger.problems() == ["2 duplicated with no worker kill to explain it"]
    assert exit_status(ledger) == 1


def test_deliveries_of_unanswered_sends_are_counted_apart():
    received = [got("m1-0", NOW), got("m9-0", NOW), got("m9-1", NOW)]
    ledger = account([delivery(1)], look(received), [], WORKERS)
    assert (ledger.arrived_unasked, ledger.unasked_messages) == (2, 1)
    assert exit_status(ledger) == 0


def test_sent_with_a_status_not_final_is_unsettled():
    ledger = account([delivery(1)], look([got("m1-0", NOW)], statuses={"m1-0": "sending"}), [], WORKERS)
    assert ledger.unsettled == ["m1-0"]


def test_lateness_percentiles_by_nearest_rank():
    assert spread([i / 100 for i in range(1, 201)]) == {"p50": 1.0, "p99": 1.98, "max": 2.0}


def test_far_sends_come_due_during_the_load_or_after_any_drain():
    plan = Plan(seconds=600)
    assert plan.far_allowed(100, 310)
    assert not plan.far_allowed(280, 330)
    assert not Plan(seconds=300).far_allowed(50, 310)
    short = Plan(seconds=60)
    assert short.far_allowed(10, 305)
    assert not short.far_allowed(30, 305)


@pytest.fixture(scope="module")
def short_soak(tmp_path_factory):
    """A 60 s soak, run as `make soak` runs it; its output, exit status and figures."""
    figures = tmp_path_factory.mktemp("soak") / "soak.json"
    done = subprocess.run([sys.executable, "-m", "soak", *SHORT_SOAK, "--json", str(figures)],
                          cwd=REPO, capture_output=True, text=True, timeout=SHORT_SOAK_TIMEOUT)
    print(done.stdout, done.stderr)
    return done, json.loads(figures.read_text()) if figures.exists() else None


def test_short_soak_loses_nothing_sends_nothing_early_and_repeats_only_in_flight(short_soak):
    done, figures = short_soak
    assert figures is not None, done.stdout + done.stderr
    ledger = figures["ledger"]
    assert ledger["accepted"] > 0 and ledger["sent"] > 0 and ledger["failed"] > 0
    assert sum(figures["kills"].values()) >= 5
    assert ledger["missing"] == 0, ledger["missing_sample"]
    assert ledger["early"] == 0, ledger["early_sample"]
    assert ledger["unexplained_duplicates"] == 0, ledger["unexplained_sample"]
    assert ledger["lateness"]["p99"] <= P99_BOUND
    assert done.returncode == 0, done.stdout
