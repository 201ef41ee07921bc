"""The delivery latency histogram observes only deliveries sent, from when each was due or
accepted, whichever is later."""

import time

import pytest

from apiclient import add_contact, failed, received, send, v1
from core.metrics import LATENCY_BUCKETS
from helpers import wait_until
from test_ops import sample, scrape

pytestmark = pytest.mark.timing

LATENCY = "dispatcher_delivery_latency_seconds"


def sent_latency(stack, messenger, count):
    """The latency samples of a messenger, once `count` sends were counted (workers add theirs once a second)."""
    return wait_until(
        lambda: (s := scrape(stack)) and sample(s, LATENCY + "_count", messenger=messenger) == count and s,
        timeout=10, message="sends counted")


@pytest.mark.parametrize("when", [[2, 1, 1, 0, 0, 0], [2019, 11, 30, 14, 0, 6]])
def test_a_send_dated_in_the_past_counts_from_when_it_was_accepted(stack, when):
    add_contact(stack, "test", "Artem", telegram="t1")
    assert send(stack, "test", ["Artem"], "long ago", when).status_code == 200
    wait_until(lambda: received(stack), timeout=10)
    samples = sent_latency(stack, "telegram", 1)
    assert 0 <= sample(samples, LATENCY + "_sum", messenger="telegram") < 1
    assert sample(samples, LATENCY + "_bucket", messenger="telegram", le="1.0") == 1


def test_v1_not_before_in_year_2_counts_from_acceptance(stack, user_token):
    token = user_token("alice")
    v1(stack, token, "POST", "/contacts", {"name": "Artem", "whatsapp": "w1"})
    reply = v1(stack, token, "POST", "/messages",
               {"to": "Artem", "text": "x", "not_before": "0002-01-01T00:00:00+00:00"})
    assert reply.status_code == 202, reply.text
    samples = sent_latency(stack, "whatsapp", 1)
    assert 0 <= sample(samples, LATENCY + "_sum", messenger="whatsapp") < 1


def test_failed_attempts_have_no_latency_and_the_top_bucket_is_an_hour(stack):
    add_contact(stack, "test", "Artem", telegram="t1", viber="v1")
    send(stack, "test", ["Artem"], "hi")
    wait_until(lambda: failed(stack, "test"), timeout=30, message="viber failed")
    samples = wait_until(
        lambda: (s := scrape(stack)) and sample(s, "dispatcher_deliveries_total", messenger="viber",
                                                outcome="failed") and s,
        timeout=10, message="failure counted")
    assert sample(samples, "dispatcher_deliveries_total", messenger="viber", outcome="retrying") == \
        stack.config.max_attempts - 1
    assert sample(samples, LATENCY + "_count", messenger="viber") is None
    samples = sent_latency(stack, "telegram", 1)
    bounds = [le for (name, labels) in samples if name == LATENCY + "_bucket"
              for key, le in labels if key == "le"]
    assert bounds == [*map(str, LATENCY_BUCKETS), "+Inf"]
    assert LATENCY_BUCKETS[-1] == 3600.0


def test_a_send_due_ahead_counts_from_its_due_time(stack):
    add_contact(stack, "test", "Artem", telegram="t1")
    due = int(time.time()) + 3
    t = time.gmtime(due)
    send(stack, "test", ["Artem"], "later", [t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec])
    samples = sent_latency(stack, "telegram", 1)
    # Not the 3 s it waited since accepted: only its lateness after the due time.
    assert 0 <= sample(samples, LATENCY + "_sum", messenger="telegram") < 1
