"""The stores and dispatcher the API's routes use, built once per app."""

import time
from functools import cached_property

from flask import current_app

from core.awaiting import AwaitingDeliveries
from core.clients import mongo_database, redis_client
from core.contact_migration import migrate
from core.contacts import ContactBook
from core.deliveries import DeliveryStore
from core.dispatch import Dispatcher
from core.failed import FailedStore
from core.idempotency import IdempotencyStore
from core.inbound import InboundQueue
from core.inbox import InboxStore
from core.invites import InviteStore
from core.keys import Keys
from core.metrics import Metrics
from core.blocked import BlockedIds
from core.quotas import RequestLimiter
from core.receipts import Receipts
from core.recurring import ScheduleStore
from core.users import UserStore
from core.webhook_posts import PostStore
from core.webhooks import WebhookStore
from core.whatsapp_templates import TemplateRegistry
from workers.gateways import build_gateways


class Services:
    """Lazily built stores, so no client is made before the server forks."""

    def __init__(self, config):
        self.config = config
        self.keys = Keys(config.redis_prefix)

    @cached_property
    def redis(self):
        """This process's Redis client, which sends nothing to a server it finds hung."""
        return redis_client(self.config, ping_first=True)

    @cached_property
    def mongo(self):
        """This process's MongoDB database."""
        return mongo_database(self.config)

    @cached_property
    def contacts(self) -> ContactBook:
        """Users' contact books, indexed and converted from the old shape before first use."""
        book = ContactBook(self.mongo)
        book.ensure_indexes()
        migrate(self.mongo)
        return book

    @cached_property
    def deliveries(self) -> DeliveryStore:
        """Messages and delivery status."""
        return DeliveryStore.from_config(self.redis, self.keys, self.config)

    @cached_property
    def receipts(self) -> Receipts:
        """Messengers' delivery receipts, applied to the deliveries."""
        urls = {m: gateway.url for m, gateway in build_gateways(self.config).items()}
        return Receipts(self.deliveries, self.dispatcher, urls)

    @cached_property
    def awaiting(self) -> AwaitingDeliveries:
        """Telegram deliveries waiting for their contact's chat id."""
        return AwaitingDeliveries(self.redis, self.keys)

    @cached_property
    def blocked(self) -> BlockedIds:
        """Messenger IDs of contacts that refused their user's messages."""
        return BlockedIds(self.redis, self.keys)

    @cached_property
    def inbound(self) -> InboundQueue:
        """What people send the bot, handed to Celery once per update."""
        return InboundQueue(self.redis, self.keys, self.config)

    @cached_property
    def invites(self) -> InviteStore:
        """Invite codes of users' contacts."""
        return InviteStore(self.redis, self.keys, self.config)

    @cached_property
    def inbox(self) -> InboxStore:
        """Texts people sent the bot."""
        return InboxStore(self.redis, self.keys, self.config)

    @cached_property
    def failed(self) -> FailedStore:
        """Failed-delivery records."""
        return FailedStore(self.redis, self.keys)

    @cached_property
    def users(self) -> UserStore:
        """Users and their API tokens."""
        return UserStore(self.mongo)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        """First answers to sends made with an Idempotency-Key."""
        return IdempotencyStore(self.redis, self.keys, self.config.send_deadline)

    @cached_property
    def metrics(self) -> Metrics:
        """Counters shared by every process."""
        return Metrics(self.redis, self.keys)

    @cached_property
    def request_limiter(self) -> RequestLimiter:
        """The rate limit on each caller's requests."""
        return RequestLimiter.from_config(self.redis, self.keys, self.config)

    @cached_property
    def webhooks(self) -> WebhookStore:
        """Users' outgoing webhooks and their attempt logs."""
        return WebhookStore(self.redis, self.keys)

    @cached_property
    def webhook_posts(self) -> PostStore:
        """Webhook posts waiting to be sent."""
        return PostStore(self.redis, self.keys)

    @cached_property
    def schedules(self) -> ScheduleStore:
        """Users' recurring sends, indexed before first use."""
        store = ScheduleStore(self.mongo)
        store.ensure_indexes()
        return store

    @cached_property
    def whatsapp_templates(self) -> TemplateRegistry:
        """The WhatsApp business account's message templates, synced from the Graph API."""
        return TemplateRegistry(self.redis, self.keys, self.config)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """Records deliveries and hands them to Celery."""
        return Dispatcher(self.config, self.redis, self.keys)


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["dispatcher"]


def max_recipients() -> int:
    """How many contacts one send may name (MAX_RECIPIENTS)."""
    return services().config.max_recipients


def release_waiting(user, name, ids) -> int:
    """A Telegram chat id written by hand takes effect as a join's does: the contact's waiting deliveries go to it.

    Only with the real APIs, where deliveries wait (core/awaiting.py); how many went.
    """
    svc = services()
    if svc.config.messenger_api != "real":
        return 0
    return svc.awaiting.send_now(svc.dispatcher, user, name, ids.get("telegram"), time.time())
