"""What a worker or scheduler process needs, made once per process after fork."""

import os

from core.clients import redis_client
from core.deliveries import DeliveryStore
from core.keys import Keys
from core.metrics import DeliveryTally
from core.schedule import Schedule
from workers.dispatch import Dispatcher
from workers.gateways import build_gateways
from workers.ratelimit import RateLimiter

_contexts: dict = {}
os.register_at_fork(after_in_child=_contexts.clear)


class WorkerContext:
    """Stores, dispatcher and gateways of one process."""

    def __init__(self, config, celery):
        redis = redis_client(config)
        keys = Keys(config.redis_prefix)
        self.config = config
        self.deliveries = DeliveryStore(redis, keys)
        self.schedule = Schedule(redis, keys)
        self.dispatcher = Dispatcher(config, redis, celery, self.schedule)
        self.gateways = build_gateways(config)
        self.limiter = RateLimiter.from_config(redis, keys, config)
        self.tally = DeliveryTally(redis, keys)
        # A send may hold a delivery this long; a copy finding it held waits.
        self.lease_seconds = config.http_connect_timeout + config.http_read_timeout + 5


def worker_context(celery) -> WorkerContext:
    """This process's context for a Celery app (built on first use)."""
    context = _contexts.get(id(celery))
    if context is None:
        context = _contexts[id(celery)] = WorkerContext(celery.dispatcher_config, celery)
    return context
