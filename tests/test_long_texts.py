"""Long texts: split into parts at the best boundary, sent in order, resumed where a retry left off."""

import re
import time

import pytest
import redis
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from apiclient import attempts, received, set_faults, v1
from conftest import token_for
from core.keys import Keys
from core.parts import TEXT_LIMITS, PartProgress, breakable, split, text_length
from fake_gateway.documented import LONGEST_TEXT
from helpers import settled, wait_until
from people import wrote
from workers.gateways import build_gateways

TIMEOUT = 10
SPACE = re.compile(r"[^\S\u00a0\u2007\u202f]+")
# Letters, breakable and no-break spaces, line breaks, sentence ends, and
# characters of several code points: accents, skin tones, ZWJ sequences, flags.
ALPHABET = st.sampled_from(["a", "b", "Я", " ", " ", "\n", "\n\n", ".", "!", "\u00a0", "e\u0301",
                            "\U0001f44d", "\U0001f44d\U0001f3fd", "\U0001f469\u200d\U0001f4bb",
                            "\U0001f1ef\U0001f1f5", "\u2764\ufe0f", "\t", "\r\n", "😀"])


def gaps(text, parts):
    """The text between consecutive parts (and before the first), checking parts appear in order."""
    pos, between = 0, []
    for part in parts:
        start = text.index(part, pos) if not text.startswith(part, pos) else pos
        between.append(text[pos:start])
        pos = start + len(part)
    between.append(text[pos:])
    return between


@settings(max_examples=300, deadline=None)
@given(text=st.lists(ALPHABET, max_size=120).map("".join), limit=st.integers(2, 40))
@example(text="ab\u0301\u0301\u0301cd", limit=2)
@example(text="\U0001f1ef\U0001f1f5\U0001f1fa\U0001f1f8\U0001f1eb\U0001f1f7", limit=5)
def test_parts_fit_the_limit_and_rebuild_the_text(text, limit):
    parts = split(text, limit)
    if text_length(text) <= limit:
        assert parts == [text]
        return
    assert parts and all(part and text_length(part) <= limit for part in parts)
    if SPACE.fullmatch(text):
        assert "".join(parts) == text
        return
    between = gaps(text, parts)
    # Nothing lost or doubled: only whitespace at split points (and leading) is dropped.
    assert all(SPACE.fullmatch(gap) for gap in between if gap)
    assert "".join(p + g for p, g in zip(parts, between[1:], strict=True)) == text[len(between[0]):]
    assert all(not SPACE.match(part) for part in parts)
    pos = len(between[0])
    for part, gap in zip(parts, between[1:], strict=True):
        end = pos + len(part)
        if not gap and end < len(text):
            # Split inside a word only when the word alone is over the limit...
            word_start = max([m.end() for m in SPACE.finditer(text, 0, end)] or [0])
            word_end = SPACE.search(text, end).start() if SPACE.search(text, end) else len(text)
            assert text_length(text[word_start:word_end]) > limit
            # ...and between two characters people see as one each, where any such place exists.
            assert breakable(text, end) or not any(breakable(text, i) for i in range(pos + 1, end))
        pos = end + len(gap)


def test_limits_are_the_messengers_documented_ones():
    assert TEXT_LIMITS == {"telegram": 4096, "whatsapp": 4096, "viber": 7000}


def test_a_paragraph_break_is_preferred_to_a_line_break_to_a_sentence_end_to_a_space():
    paragraph = "First one. " * 20 + "\n\n" + "Then a line.\n" + "More words here " * 5
    parts = split(paragraph, 300)
    assert parts[0] == ("First one. " * 20).rstrip()
    lines = "Words and words " * 10 + "\n" + "A sentence. " * 5 + "tail words " * 10
    assert split(lines, 250)[0] == ("Words and words " * 10).rstrip()
    sentences = "Short sentence here. " * 8 + "and words without an end " * 8
    assert split(sentences, 250)[0].endswith("here.")
    words = ("word " * 100).rstrip()
    assert split(words, 52) == ["word " * 9 + "word"] * 10


def test_an_early_boundary_does_not_make_a_short_part():
    text = "Title\n\n" + "many words " * 100
    first = split(text, 400)[0]
    assert len(first) > 200 and first.startswith("Title\n\nmany words")


def test_a_word_longer_than_the_limit_alone_is_split_and_only_it():
    text = "short " + "x" * 25 + " end"
    assert split(text, 10) == ["short", "x" * 10, "x" * 10, "x" * 5 + " end"]


def test_characters_of_several_code_points_are_never_split():
    flags = "\U0001f1ef\U0001f1f5" * 5
    assert split(flags, 6) == ["\U0001f1ef\U0001f1f5"] * 5
    thumbs = "\U0001f44d\U0001f3fd" * 4
    assert split(thumbs, 5) == ["\U0001f44d\U0001f3fd"] * 4
    coder = "\U0001f469\u200d\U0001f4bb" * 3
    assert split(coder, 6) == ["\U0001f469\u200d\U0001f4bb"] * 3
    accents = "e\u0301" * 6
    assert split(accents, 3) == ["e\u0301"] * 6
    hearts = "\u2764\ufe0f" * 3
    assert split(hearts, 3) == ["\u2764\ufe0f"] * 3


def test_the_limit_counts_utf16_units_as_telegram_does():
    emoji = "\U0001f600" * 3000
    assert text_length(emoji) == 6000
    parts = split(emoji, TEXT_LIMITS["telegram"])
    assert [len(p) for p in parts] == [2048, 952]


def test_a_text_of_whitespace_only_goes_as_it_is_never_as_no_part():
    assert split(" " * 5000, 4096) == [" " * 4096, " " * 904]
    assert split("\r\n" * 3, 3) == ["\r\n", "\r\n", "\r\n"]


def test_a_text_within_the_limit_is_one_part_as_it_is():
    assert split("  hello\n\n", 4096) == ["  hello\n\n"]
    assert split("x" * 4096, 4096) == ["x" * 4096]


# ---- the fake gateway and the adapters, over HTTP ----


@pytest.fixture
def adapters(real):
    """Each family's adapters, pointed at the real stack's fake gateway."""
    return {family: build_gateways(real.config.with_changes(messenger_api=family))
            for family in ("simple", "real")}


@pytest.mark.parametrize("messenger, error", [
    ("telegram", "Telegram 400: Bad Request: message is too long"),
    ("whatsapp", "WhatsApp 100: (#100) Param text['body'] must be at most 4096 characters long."),
    ("viber", "Viber 3: badData"),
])
def test_the_real_apis_refuse_an_over_long_text_for_good(real, adapters, messenger, error):
    set_faults(real, viber_accepts=True)
    gateway = adapters["real"][messenger]
    limit = LONGEST_TEXT[messenger]
    outcome = gateway.send("+100", "x" * (limit + 1), key="d-1")
    assert (outcome.kind, outcome.error) == ("permanent", error)
    assert received(real) == []
    assert gateway.send("+100", "x" * limit, key="d-2").kind == "sent"
    # An astral character is two UTF-16 units: half the limit's worth fills it.
    assert gateway.send("+100", "\U0001f600" * (limit // 2 + 1), key="d-3").kind == "permanent"
    assert [r["key"] for r in received(real)] == ["d-2"]


def test_the_simple_api_refuses_an_over_long_text_naming_the_field(real, adapters):
    outcome = adapters["simple"]["telegram"].send("+100", "x" * 4097, key="d-1")
    assert (outcome.kind, outcome.error) == (
        "permanent", "HTTP 400: text: too long, at most 4096 characters")
    assert adapters["simple"]["viber"].send("+100", "x" * 7001, key="d-2").kind == "permanent"
    assert received(real) == []


def test_a_keyed_fault_waits_for_its_key(real, adapters):
    set_faults(real, script=[{"key_ends_with": ".2", "step": 503}])
    telegram = adapters["real"]["telegram"]
    assert telegram.send("1", "a", key="m-0.1").kind == "sent"
    assert telegram.send("1", "b", key="m-0.2").kind == "transient"
    assert telegram.send("1", "b", key="m-0.2").kind == "sent"
    assert [(a["key"], a["status"]) for a in attempts(real)] == [
        ("m-0.1", 200), ("m-0.2", 503), ("m-0.2", 200)]


@pytest.mark.parametrize("step", [{"key_ends_with": "", "step": 503},
                                  {"key_ends_with": ".2", "step": {"key_ends_with": ".3", "step": 503}},
                                  {"key_ends_with": ".2"}, {"key_ends_with": ".2", "step": 302}])
def test_a_bad_keyed_fault_is_refused(real, step):
    reply = requests.put(real.gateway_url + "/faults", json={"script": [step]}, timeout=TIMEOUT)
    assert reply.status_code == 400 and reply.json()["error"].startswith("script:")


def test_progress_is_recorded_only_by_the_attempt_holding_the_delivery(real):
    client = redis.Redis.from_url(real.config.redis_url, decode_responses=True)
    keys = Keys(real.config.redis_prefix)
    progress = PartProgress(client, keys, lease_seconds=15.0)
    client.hset(keys.delivery("m-0"), mapping={"status": "sending", "ticket": 3, "attempts": 2, "lease": 1})
    client.zadd(keys.schedule(), {"m-0|3": 1})
    assert not progress.record("m-0", 3, 1, 1), "an attempt whose lease was taken over"
    assert not progress.record("m-0", 2, 2, 1), "an old ticket"
    assert client.hget(keys.delivery("m-0"), "parts") is None
    assert progress.record("m-0", 3, 2, 1)
    lease = float(client.hget(keys.delivery("m-0"), "lease"))
    assert client.hget(keys.delivery("m-0"), "parts") == "1"
    assert lease > time.time() + 10 and client.zscore(keys.schedule(), "m-0|3") == lease
    client.hset(keys.delivery("m-0"), "status", "retrying")
    assert not progress.record("m-0", 3, 2, 2)
    client.close()


# ---- whole deliveries through the running stack ----


def paragraphs(total):
    """A text of about `total` characters in paragraphs of sentences."""
    sentence = "The quick brown fox jumps over the lazy dog again and again. "
    paragraph = sentence * 12 + "\n\n"
    return (paragraph * (total // len(paragraph) + 1))[:total].rstrip() + "."


def send_to(running, token, name, text, **contact):
    """Add a contact, send it `text` through /api/v1, wait until every delivery is settled."""
    assert v1(running, token, "POST", "/contacts", {"name": name, **contact}).status_code == 201
    if contact.get("whatsapp"):
        # Within WhatsApp's 24-hour window, so that the text goes.
        wrote(running, contact["whatsapp"])
    reply = v1(running, token, "POST", "/messages", {"to": name, "text": text})
    assert reply.status_code == 202, reply.text
    message_id = reply.json()["id"]

    def done():
        message = v1(running, token, "GET", f"/messages/{message_id}").json()
        return message if all(d["status"] in ("sent", "failed") for d in message["deliveries"]) else None
    message = wait_until(done, timeout=40, interval=0.2, message="deliveries settled")
    wait_until(lambda: settled(running.config), timeout=10, message="queues empty")
    return {d["messenger"]: d for d in message["deliveries"]}


def check_parts(got, delivery_id, text, count, limit):
    """The gateway received `count` parts of the delivery, each once, in order, rebuilding the text."""
    assert [r["key"] for r in got] == [f"{delivery_id}.{n}" for n in range(1, count + 1)]
    assert all(text_length(r["text"]) <= limit for r in got)
    assert SPACE.sub(" ", " ".join(r["text"] for r in got)) == SPACE.sub(" ", text)


def test_9000_characters_go_in_three_parts_and_a_failed_second_part_resumes_there(real):
    token = token_for(real)
    text = paragraphs(9000)
    set_faults(real, script=[{"key_ends_with": ".2", "step": 503}])
    delivery = send_to(real, token, "Artem", text, telegram="1001")["telegram"]
    assert (delivery["status"], delivery["attempts"]) == ("sent", 2)
    got = received(real)
    check_parts(got, delivery["id"], text, 3, 4096)
    assert [(a["key"][-2:], a["status"]) for a in attempts(real)] == [
        (".1", 200), (".2", 503), (".2", 200), (".3", 200)]


def test_6000_characters_are_one_part_to_viber_and_two_to_telegram(real):
    token = token_for(real)
    text = paragraphs(6000)
    set_faults(real, viber_accepts=True)
    deliveries = send_to(real, token, "Lera", text, telegram="1002", viber="lera_v")
    assert {m: d["status"] for m, d in deliveries.items()} == {"telegram": "sent", "viber": "sent"}
    [to_viber] = received(real, "viber")
    assert (to_viber["key"], to_viber["text"]) == (deliveries["viber"]["id"], text)
    check_parts(received(real, "telegram"), deliveries["telegram"]["id"], text, 2, 4096)


def test_a_part_refused_for_good_fails_the_delivery_with_the_whole_text(real):
    token = token_for(real)
    text = paragraphs(9000)
    set_faults(real, script=[{"key_ends_with": ".2", "step": 400}])
    delivery = send_to(real, token, "Artem", text, telegram="1001")["telegram"]
    assert (delivery["status"], delivery["attempts"]) == ("failed", 1)
    assert delivery["last_error"].startswith("part 2 of 3: Telegram 400")
    assert [r["key"] for r in received(real)] == [delivery["id"] + ".1"]
    [record] = v1(real, token, "GET", "/failed").json()
    assert record["message"] == text


def test_at_shipped_settings_a_retry_resumes_at_the_second_part(make_stack):
    running = make_stack(shipped=True, auth_mode="none")
    token = token_for(running)
    text = paragraphs(9000)
    set_faults(running, script=[{"key_ends_with": ".2", "step": 503}])
    started = time.time()
    delivery = send_to(running, token, "Artem", text, telegram="1001")["telegram"]
    assert (delivery["status"], delivery["attempts"]) == ("sent", 2)
    got = received(running)
    check_parts(got, delivery["id"], text, 3, 4096)
    assert [(a["key"][-2:], a["status"]) for a in attempts(running)] == [
        (".1", 200), (".2", 503), (".2", 200), (".3", 200)]
    # Parts to one chat keep Telegram's one message a second per chat.
    assert got[2]["time"] - got[1]["time"] >= 0.9
    assert time.time() - started < 30


def exactly(count):
    """A text of words, `count` characters long."""
    return ("Word " * count)[:count - 1] + "."


@pytest.mark.parametrize("messenger", ["telegram", "whatsapp", "viber"])
def test_the_service_fills_each_messengers_documented_limit_and_never_goes_past_it(real, messenger):
    # The fake gateway's own table of the documented limits is the reference:
    # a text at the limit is one part, one character more makes two, all taken.
    token = token_for(real)
    set_faults(real, viber_accepts=True, receipts={"70010001": "never", "70020001": "never"})
    limit = LONGEST_TEXT[messenger]
    at = send_to(real, token, "At", exactly(limit), **{messenger: "70010001"})[messenger]
    past = send_to(real, token, "Past", exactly(limit + 1), **{messenger: "70020001"})[messenger]
    assert (at["status"], past["status"]) == ("sent", "sent")
    assert [r["key"] for r in received(real, messenger)] == [at["id"], past["id"] + ".1", past["id"] + ".2"]
    assert all(a["status"] == 200 for a in attempts(real))


def test_a_long_text_failed_by_a_late_receipt_goes_again_whole_when_retried(real):
    token = token_for(real)
    text = paragraphs(9000)
    phone = "+79920000001"
    # Every part accepted, then the last part's failed receipt fails the delivery.
    set_faults(real, receipts={phone: "failed"}, receipt_delivered_after=1.0)
    delivery = send_to(real, token, "Artem", text, whatsapp=phone)["whatsapp"]
    assert delivery["status"] == "sent"
    first = received(real)
    check_parts(first, delivery["id"], text, 3, LONGEST_TEXT["whatsapp"])
    [record] = wait_until(lambda: v1(real, token, "GET", "/failed").json(), timeout=10,
                          message="the failed receipt taken")
    assert record["delivery_id"] == delivery["id"]
    set_faults(real, receipts={phone: "never"})
    reply = v1(real, token, "POST", f"/failed/{delivery['id']}/retry")
    assert (reply.status_code, reply.json()) == (202, {"retried": [delivery["id"]]})

    def sent_again():
        message = v1(real, token, "GET", f"/messages/{delivery['id'].rsplit('-', 1)[0]}").json()
        return message["deliveries"][0]["status"] == "sent"
    wait_until(sent_again, timeout=20, interval=0.2, message="sent again")
    wait_until(lambda: settled(real.config), timeout=10, message="queues empty")
    got = received(real)
    assert len(got) == 6, [r["key"] for r in got]
    check_parts(got[3:], delivery["id"], text, 3, LONGEST_TEXT["whatsapp"])
