"""The task messages the API writes itself are the ones Celery would publish."""

import base64
import json
import time
from datetime import datetime, timezone

import redis

from core.dispatch import DELIVER_TASK
from core.publisher import TaskPublisher
from workers.celery_app import create_celery

TASK_ID = "m1:telegram:0"
ARGS = (TASK_ID, 3)


def comparable(raw):
    """A message as JSON, its body decoded, without what differs by sender.

    The delivery tag is unique to each message; reply_to names the sending
    app for results, which the service does not keep (task_ignore_result).
    """
    message = json.loads(raw)
    message["properties"].pop("delivery_tag")
    message["properties"].pop("reply_to")
    message["body"] = json.loads(base64.b64decode(message["body"]))
    return message


def test_messages_match_celerys_own_for_now_and_for_later(make_stack):
    config = make_stack(["redis"]).config
    celery = create_celery(config)
    client = redis.Redis.from_url(config.redis_url)
    publisher = TaskPublisher(DELIVER_TASK, config.delivery_queue)
    for eta in (None, time.time() + 60):
        when = None if eta is None else datetime.fromtimestamp(eta, timezone.utc)
        celery.send_task(DELIVER_TASK, args=ARGS, task_id=TASK_ID, eta=when, ignore_result=True)
        with client.pipeline() as pipe:
            publisher.add(pipe, TASK_ID, ARGS, eta)
            pipe.execute()
        celerys, ours = client.rpop(config.delivery_queue, 2)
        assert comparable(ours) == comparable(celerys)
