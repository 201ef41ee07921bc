"""The baseline Celery app and its one task: POST one message to the gateway."""

import json

import redis
import requests
from celery import Celery

from bench.baseline import settings

app = Celery("baseline", broker=settings.BROKER_URL)
app.conf.task_ignore_result = True

failed_store = redis.Redis.from_url(settings.BROKER_URL)


@app.task(bind=True, max_retries=settings.MAX_RETRIES)
def deliver(self, delivery_id, sender, contact, messenger, to, text):
    """Send one message; retry 5xx/408/429 and connection errors, record the rest as failed."""
    url = f"{settings.GATEWAY_URL}/{messenger}"
    try:
        response = requests.post(url, json={"to": to, "text": text},
                                 headers={"Idempotency-Key": delivery_id}, timeout=10)
    except requests.RequestException as exc:
        raise self.retry(exc=exc, countdown=2 ** self.request.retries)
    if response.ok:
        return
    if (response.status_code >= 500 or response.status_code in (408, 429)) \
            and self.request.retries < self.max_retries:
        raise self.retry(countdown=2 ** self.request.retries)
    failed_store.rpush(f"failed:{sender}", json.dumps({
        "sender": sender, "message": text, "contact": contact, "url": url,
        "error": response.text[:200],
    }))
