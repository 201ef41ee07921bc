"""Bounded storage: finished messages, their deliveries and failed records go after RETENTION_DAYS."""

import time

import redis

from apiclient import add_contact, call, failed, received, send, wallclock
from core.keys import Keys
from helpers import wait_until

DAY = 86400


def test_finished_messages_and_failed_records_expire_and_open_ones_stay(make_stack):
    keep = 3.0
    stack = make_stack(retention_days=keep / DAY)
    keys = Keys(stack.config.redis_prefix)
    client = redis.Redis.from_url(stack.config.redis_url, decode_responses=True)
    add_contact(stack, "test", "Artem", telegram="artem", viber="artem-v")
    done = send(stack, "test", ["Artem"], "now").json()["message_id"]
    due = int(time.time()) + 40
    later = send(stack, "test", ["Artem"], "later", wallclock(due)).json()["message_id"]

    wait_until(lambda: failed(stack, "test"), timeout=20, message="viber failed")
    finished_at = time.time()
    assert client.exists(keys.message(done), keys.delivery(f"{done}-0"), keys.delivery(f"{done}-1")) == 3

    wait_until(lambda: not client.exists(keys.message(done)), timeout=keep + 5,
               message="the finished message deleted")
    assert time.time() - finished_at >= keep - 1
    assert not client.exists(keys.delivery(f"{done}-0"), keys.delivery(f"{done}-1"))
    assert failed(stack, "test") == []
    assert client.zrange(keys.user_messages("test"), 0, -1) == [later]
    assert call(stack, "GET", "/api/v1/messages/" + done).status_code in (401, 404)

    # The message still to be sent keeps everything it needs.
    assert client.hget(keys.message(later), "text") == "later"
    assert client.zcard(keys.schedule()) == 2
    assert [r["key"] for r in received(stack)] == [f"{done}-0"]

