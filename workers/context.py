"""What a worker or scheduler process needs, made once per process after fork."""

import os
from functools import cached_property

from core.awaiting import AwaitingDeliveries
from core.blocked import BlockedIds
from core.clients import mongo_database, redis_client
from core.contacts import ContactBook
from core.deliveries import DeliveryStore
from core.dispatch import Dispatcher
from core.inbox import InboxStore
from core.invites import InviteStore
from core.keys import Keys
from core.metrics import DeliveryTally
from core.opt_changes import OptChanges
from core.parts import PartProgress
from core.retention import Retention
from core.webhook_posts import PostStore
from core.webhooks import WebhookStore
from core.whatsapp_window import CustomerWindows
from workers.gateways import build_gateways
from workers.ratelimit import RateLimiter

_contexts: dict = {}
os.register_at_fork(after_in_child=_contexts.clear)


class WorkerContext:
    """Stores, dispatcher and gateways of one process."""

    def __init__(self, config):
        redis = redis_client(config)
        keys = Keys(config.redis_prefix)
        self.config = config
        self.redis = redis
        self.keys = keys
        self.deliveries = DeliveryStore.from_config(redis, keys, config)
        self.parts = PartProgress(redis, keys, config.claim_lease)
        self.dispatcher = Dispatcher(config, redis, keys)
        self.retention = Retention(redis, keys)
        self.gateways = build_gateways(config)
        self.limiter = RateLimiter.from_config(redis, keys, config)
        self.tally = DeliveryTally(redis, keys)
        self.webhooks = WebhookStore(redis, keys)
        self.webhook_posts = PostStore(redis, keys)
        self.blocked = BlockedIds(redis, keys)
        self.awaiting = AwaitingDeliveries(redis, keys)
        self.opt_changes = OptChanges(redis, keys)
        self.invites = InviteStore(redis, keys, config)
        self.inbox = InboxStore(redis, keys, config)
        self.windows = CustomerWindows(redis, keys)

    @cached_property
    def contacts(self) -> ContactBook:
        """The contact book, for what people send the bot (MongoDB is reached only then)."""
        return ContactBook(mongo_database(self.config))


def worker_context(config) -> WorkerContext:
    """This process's context for a set of settings (built on first use)."""
    context = _contexts.get(id(config))
    if context is None:
        context = _contexts[id(config)] = WorkerContext(config)
    return context
