"""Per-messenger rate limits: the pacer on its own, and a stack of several workers
that never lets a messenger see more than its limit in any second, losing nothing."""

import threading
import time
from collections import Counter

import pytest
import redis

from apiclient import add_contact, failed, received, send, v1
from conftest import consenting, token_for
from core.deliveries import DeliveryStore
from core.keys import Keys
from helpers import wait_until
from people import wrote
from workers.ratelimit import RateLimiter

pytestmark = pytest.mark.timing


def busiest_second(times):
    """The most events that fall in any half-open 1-second window."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.fixture
def store(stack):
    """A Redis client on the session stack's (emptied) Redis."""
    client = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
    yield client
    client.close()


def pacer(client, rate=0.0, chat_rate=0.0, headroom=0.0, linger=0.25):
    """A limiter for Telegram alone, with these rates."""
    return RateLimiter(client, Keys("test:"), {"telegram": (rate, chat_rate)}, headroom, linger)


def test_a_turn_near_enough_is_awaited_in_place_and_a_later_one_comes_back(store):
    limiter = pacer(store, rate=10)
    turns = [limiter.take("telegram", "a", f"d{n}|1", "u") for n in range(4)]
    assert [t.go for t in turns] == [True, True, True, False]
    assert turns[0].wait == 0
    for turn, expected in zip(turns[1:], (0.1, 0.2, 0.3), strict=True):
        assert expected - 0.02 < turn.wait <= expected


def test_each_delivery_held_back_gets_its_own_place_in_line(store):
    limiter = pacer(store, rate=1)
    assert limiter.take("telegram", "a", "d|1", "u") == (True, 0.0)
    waits = [limiter.take("telegram", str(i), f"d{i}|1", "u").wait for i in range(3)]
    assert [round(w) for w in waits] == [1, 2, 3]


def test_the_chat_limit_holds_one_chat_and_not_the_others(store):
    limiter = pacer(store, chat_rate=1)
    assert limiter.take("telegram", "alice", "d1|1", "u").go
    again = limiter.take("telegram", "alice", "d2|1", "u")
    assert not again.go and 0.9 < again.wait <= 1.0
    assert limiter.take("telegram", "bob", "d3|1", "u") == (True, 0.0)


def test_a_delivery_back_for_its_booked_turn_goes_before_newcomers(store):
    limiter = pacer(store, rate=1)
    assert limiter.take("telegram", "a", "first|1", "u").go
    booked = limiter.take("telegram", "b", "booked|1", "u")
    assert not booked.go
    time.sleep(booked.wait)
    newcomer = limiter.take("telegram", "c", "newcomer|1", "u")
    assert not newcomer.go and newcomer.wait > 0.5
    assert limiter.take("telegram", "b", "booked|1", "u").go


def test_another_users_message_goes_at_the_next_free_send_not_behind_a_booked_fan_out(store):
    limiter = pacer(store, rate=10)
    fan_out = [limiter.take("telegram", f"c{n}", f"a{n}|1", "alice") for n in range(50)]
    assert not fan_out[-1].go and fan_out[-1].wait > 4.5
    # The next free send: Alice's first three took theirs in place.
    assert limiter.take("telegram", "bob's chat", "b1|1", "bob").wait <= 0.31
    # Alice's own newcomers still wait behind her bookings.
    assert limiter.take("telegram", "c50", "a50|1", "alice").wait > fan_out[-1].wait


def test_users_with_bookings_share_the_limit_in_equal_parts(store):
    limiter = pacer(store, rate=10)
    alice = [limiter.take("telegram", f"a{n}", f"a{n}|1", "alice").wait for n in range(20)]
    bob = [limiter.take("telegram", f"b{n}", f"b{n}|1", "bob").wait for n in range(20)]
    carol = [limiter.take("telegram", f"c{n}", f"c{n}|1", "carol").wait for n in range(20)]
    more = [limiter.take("telegram", f"a{n}", f"a{n}|1", "alice").wait for n in range(20, 30)]
    spacing = lambda waits: (waits[-1] - waits[5]) / (len(waits) - 6)  # noqa: E731
    assert spacing(alice) == pytest.approx(0.1, abs=0.01)
    assert spacing(bob) == pytest.approx(0.2, abs=0.01), "two users with bookings: half each"
    assert spacing(carol) == pytest.approx(0.3, abs=0.01)
    assert spacing(more) == pytest.approx(0.3, abs=0.01)
    # A user's first booking is at the next free send (0.3 s: Alice took three in place).
    assert bob[0] < 0.31 and carol[0] < 0.31


def test_copies_of_the_task_holding_the_turn_share_it(store):
    limiter = pacer(store, rate=10, chat_rate=1)
    assert limiter.take("telegram", "a", "d1|1", "u") == (True, 0.0)
    near = limiter.take("telegram", "b", "d2|1", "u")
    assert near.go and 0.08 < near.wait <= 0.1
    copy = limiter.take("telegram", "b", "d2|1", "u")
    assert copy.go and copy.wait <= near.wait
    assert limiter.take("telegram", "c", "d3|1", "u").wait > near.wait, "the copy took a turn of its own"


def test_headroom_paces_below_the_limit(store):
    limiter = pacer(store, rate=10, headroom=0.5)
    limiter.take("telegram", "a", "d1|1", "u")
    assert 0.18 < limiter.take("telegram", "b", "d2|1", "u").wait <= 0.2


def test_zero_means_unlimited_and_keeps_no_state(store):
    limiter = pacer(store)
    assert all(limiter.take("telegram", "a", f"d{n}|1", "u") == (True, 0.0) for n in range(100))
    assert store.dbsize() == 0


def test_pacing_state_expires_soon_after_the_last_turn(store):
    pacer(store, rate=10, chat_rate=1).take("telegram", "a", "d|1", "u")
    ttls = [store.pttl(key) for key in store.keys("test:rate:*")]
    assert len(ttls) == 2 and all(0 < ttl <= 2000 for ttl in ttls)


def test_competing_senders_never_exceed_the_rate_in_any_second(store):
    limiter = pacer(store, rate=20, headroom=0.1)
    sent, stop = [], time.monotonic() + 2.5

    def sender(n):
        # Each sender delivers one message after another, coming back as
        # itself when told to, as a handed-back task does.
        ticket = 1
        while time.monotonic() < stop:
            turn = limiter.take("telegram", f"chat{n}", f"d{n}|{ticket}", "u")
            time.sleep(turn.wait)
            if turn.go:
                sent.append(time.time())
                ticket += 1

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert busiest_second(sent) <= 20
    assert len(sent) >= 40, "the pacer let too little through"


def test_several_workers_keep_each_messenger_under_its_limits_and_lose_nothing(make_stack):
    stack = consenting(make_stack(messenger_api="real", telegram_rate=20, telegram_chat_rate=1,
                                  whatsapp_rate=10))
    stack.add_worker()
    stack.add_worker()
    names = [f"c{i}" for i in range(40)]
    for i, name in enumerate(names):
        add_contact(stack, "test", name, telegram=f"{1000 + i}", whatsapp=f"+1555{i:04d}")
    # Within WhatsApp's 24-hour window, so that the texts go.
    wrote(stack, *(f"+1555{i:04d}" for i in range(len(names))))
    add_contact(stack, "test", "Chatty", telegram="777")
    assert send(stack, "test", names, "bulk").json()["deliveries"] == 80
    for n in range(4):
        assert send(stack, "test", ["Chatty"], f"one of four {n}").status_code == 200

    got = wait_until(lambda: len(received(stack)) >= 84 and received(stack), timeout=60)
    time.sleep(1)
    got = received(stack)
    assert len(got) == 84 and set(Counter(r["key"] for r in got).values()) == {1}
    assert failed(stack, "test") == []

    telegram = [r["time"] for r in got if r["messenger"] == "telegram"]
    whatsapp = [r["time"] for r in got if r["messenger"] == "whatsapp"]
    chatty = sorted(r["time"] for r in got if r["to"] == "777")
    assert busiest_second(telegram) <= 20
    assert busiest_second(whatsapp) <= 10
    assert len(chatty) == 4
    assert all(b - a >= 1.0 for a, b in zip(chatty, chatty[1:], strict=False)), chatty
    assert max(whatsapp) - min(whatsapp) >= (40 - 10) / 10

    client = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
    deliveries = DeliveryStore.from_config(client, Keys(stack.config.redis_prefix), stack.config)
    assert {deliveries.get(r["key"])["attempts"] for r in got} == {"1"}, "a wait used up an attempt"
    client.close()


def test_each_part_of_a_long_text_takes_a_turn_and_goes_ahead_of_its_users_fan_out(make_stack):
    stack = consenting(make_stack(messenger_api="real", auth_mode="token", telegram_rate=10,
                                  telegram_chat_rate=1))
    token = token_for(stack)
    names = [f"c{i}" for i in range(30)]
    for i, name in enumerate(names + ["Reader"]):
        assert v1(stack, token, "POST", "/contacts", {"name": name, "telegram": f"{1000 + i}"}).status_code == 201
    long_text = v1(stack, token, "POST", "/messages", {"to": "Reader", "text": "word " * 1800})
    fan_out = v1(stack, token, "POST", "/messages", {"to": names, "text": "bulk"})
    assert (fan_out.status_code, long_text.status_code) == (202, 202)

    wait_until(lambda: len(received(stack)) >= 33, timeout=60)
    time.sleep(1)
    got = received(stack)
    assert len(got) == 33 and set(Counter(r["key"] for r in got).values()) == {1}
    parts = [r for r in got if r["to"] == "1030"]
    assert [r["key"][-2:] for r in parts] == [".1", ".2", ".3"]
    times = [r["time"] for r in parts]
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False)), times
    assert busiest_second([r["time"] for r in got]) <= 10
    [delivery] = v1(stack, token, "GET", f"/messages/{long_text.json()['id']}").json()["deliveries"]
    # A later part waits for the next free send, not behind the fan-out
    # booked after its first part went (which would cost it a retry).
    assert (delivery["status"], delivery["attempts"]) == ("sent", 1)
