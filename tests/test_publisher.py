"""The task messages the API writes itself are the ones Celery would publish."""

import base64
import json
import time
from datetime import datetime, timezone

import redis

from core.dispatch import DELIVER_TASK
from core.publisher import TaskPublisher
from workers.celery_app import create_celery

DELIVERY_ID = "m1-0"
ARGS = (DELIVERY_ID, 3)
# What a monitor shows of the task: its place among the delivery's attempts, and whom it is for.
SHOWN = {"root_id": "m1-0.1", "parent_id": "m1-0.2", "retries": 2,
         "kwargsrepr": "{'messenger': 'telegram', 'contact': 'Ёлка 🎄', 'message': 'm1'}"}


def comparable(raw):
    """A message as JSON, its body decoded, without what differs by sender.

    The delivery tag is unique to each message; reply_to names the sending
    app for results, which the service does not keep (task_ignore_result);
    send_task copies a kwargsrepr it is given into the properties too,
    where no worker reads it (the headers' copy is the one shown).
    """
    message = json.loads(raw)
    message["properties"].pop("delivery_tag")
    message["properties"].pop("reply_to")
    message["properties"].pop("kwargsrepr", None)
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def test_messages_match_celerys_own_for_now_and_for_later(make_stack):
    config = make_stack(["redis"]).config
    celery = create_celery(config)
    client = redis.Redis.from_url(config.redis_url)
    publisher = TaskPublisher(DELIVER_TASK, config.delivery_queue)
    for eta in (None, time.time() + 60):
        when = None if eta is None else datetime.fromtimestamp(eta, timezone.utc)
        celery.send_task(DELIVER_TASK, args=ARGS, task_id="m1-0.3", eta=when, ignore_result=True, **SHOWN)
        client.lpush(config.delivery_queue, publisher.message("m1-0.3", ARGS, eta, **SHOWN))
        celerys, ours = client.rpop(config.delivery_queue, 2)
        assert comparable(ours) == comparable(celerys)
    # A ticket's first task is its own root, as Celery's are by default.
    celery.send_task(DELIVER_TASK, args=(DELIVERY_ID, 1), task_id="m1-0.1", ignore_result=True)
    client.lpush(config.delivery_queue, publisher.message("m1-0.1", (DELIVERY_ID, 1)))
    celerys, ours = client.rpop(config.delivery_queue, 2)
    assert comparable(ours) == comparable(celerys)
