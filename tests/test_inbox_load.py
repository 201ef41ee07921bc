"""Texts people send the bot under load: 1,000 in 10 s all kept while a 10,000-delivery fan-out runs."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from apiclient import v1
from conftest import token_for
from core.statuses import WAITING
from helpers import wait_until
from people import fresh, people_stack
from test_inbound import post_signed, whatsapp_text

pytestmark = pytest.mark.timing

FAN_OUT, INBOUND = 10_000, 1000


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with people_stack(tmp_path_factory, "inbox-load") as running:
        yield running


@pytest.fixture
def stack(live):
    return fresh(live)


def test_1000_texts_in_10_s_are_all_kept_while_a_10000_delivery_fan_out_runs(stack):
    token = token_for(stack, "alice")
    book = [{"name": f"c{n:05d}", "whatsapp": f"+1555{n:07d}"} for n in range(FAN_OUT)]
    imported = v1(stack, token, "POST", "/contacts/import", book, timeout=120)
    assert imported.status_code == 200, imported.text
    # Outside WhatsApp's 24-hour window: the account's sample template goes to each.
    sent = v1(stack, token, "POST", "/messages", {"to": [c["name"] for c in book], "text": "News",
                                                  "whatsapp_template": {"name": "hello_world", "language": "en_US"}},
              timeout=60)
    assert sent.status_code == 202, sent.text
    # Signed as WhatsApp signs them, posted straight to the webhook: the
    # simulator's own hop would halve the rate this shared machine can offer.
    bodies = [whatsapp_text(f"1555{n:07d}", f"wamid.load{n}", f"reply {n}") for n in range(INBOUND)]
    began = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda body: post_signed(stack, "whatsapp", body).status_code, bodies))
    took = time.monotonic() - began
    assert answers == [200] * INBOUND
    found = wait_until(lambda: len(got := v1(stack, token, "GET", "/inbox", params={"limit": 1000}).json())
                       >= INBOUND and got, timeout=60, interval=0.5, message="all 1000 kept")
    kept_after = time.monotonic() - began
    [message] = v1(stack, token, "GET", "/messages").json()
    print(f"1000 texts posted in {took:.1f} s, all kept {kept_after:.1f} s after the first; "
          f"the fan-out meanwhile: {message['counts']}")
    assert took <= 10
    assert sorted(m["text"] for m in found) == sorted(f"reply {n}" for n in range(INBOUND))
    # The fan-out was still running: the texts did not wait for it.
    assert sum(count for status, count in message["counts"].items() if status in WAITING) > 0
