"""The stores, clients and dispatcher of one process, wired in this one place from its settings.

The API, the workers, the scheduler (its recurring runs too) and the admin
CLI each build a Services and reach every store through it; each store is
built on first use, so no client is made before a server forks its workers
and a process makes only what it uses.
"""

from functools import cached_property

from core.awaiting import AwaitingDeliveries
from core.blocked import BlockedIds
from core.clients import mongo_database, redis_client
from core.console_sessions import ConsoleSessions
from core.contact_migration import migrate
from core.contacts import ContactBook
from core.deliveries import DeliveryStore
from core.dispatch import Dispatcher
from core.failed import FailedStore
from core.gateway_urls import send_urls
from core.idempotency import IdempotencyStore
from core.inbound import InboundQueue
from core.inbox import InboxStore
from core.invites import InviteStore
from core.keys import Keys
from core.metrics import DeliveryTally, Metrics
from core.opt_changes import OptChanges
from core.parts import PartProgress
from core.quotas import RequestLimiter
from core.receipts import Receipts
from core.retention import Retention
from core.users import UserStore
from core.webhook_posts import PostStore
from core.webhooks import WebhookStore
from core.whatsapp_window import CustomerWindows


class Services:
    """Every store of the service, made on first use from one Config.

    `records_sends`: the process records users' sends (the API, the
    scheduler's recurring runs). Its Redis client then sends nothing on a
    quiet connection before a PING on it is answered (core/clients.py says
    why), and its contact book is indexed, and converted from the old
    shape, before first use; a worker's is used as it is.
    """

    def __init__(self, config, records_sends=False):
        self.config = config
        self.keys = Keys(config.redis_prefix)
        self._records_sends = records_sends

    @cached_property
    def redis(self):
        """This process's Redis client."""
        return redis_client(self.config, ping_first=self._records_sends)

    @cached_property
    def mongo(self):
        """This process's MongoDB database (reached only when a store of it is first used)."""
        return mongo_database(self.config)

    @cached_property
    def contacts(self) -> ContactBook:
        """Users' contact books."""
        book = ContactBook(self.mongo)
        if self._records_sends:
            book.ensure_indexes()
            migrate(self.mongo)
        return book

    @cached_property
    def users(self) -> UserStore:
        """Users and their API tokens."""
        return UserStore(self.mongo)

    @cached_property
    def console_sessions(self) -> ConsoleSessions:
        """Who is signed in to the web console."""
        return ConsoleSessions(self.redis, self.keys, self.config.console_session_hours * 3600)

    @cached_property
    def schedules(self):
        """Users' recurring sends, indexed before first use."""
        # Imported here: cronsim is of no use to a worker process.
        from core.recurring import ScheduleStore

        store = ScheduleStore(self.mongo)
        store.ensure_indexes()
        return store

    @cached_property
    def deliveries(self) -> DeliveryStore:
        """Messages and delivery status."""
        return DeliveryStore.from_config(self.redis, self.keys, self.config)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        """Records deliveries and hands them to Celery."""
        return Dispatcher(self.config, self.redis, self.keys)

    @cached_property
    def parts(self) -> PartProgress:
        """How many parts of a long text each delivery's messenger has accepted."""
        return PartProgress(self.redis, self.keys, self.config.claim_lease)

    @cached_property
    def receipts(self) -> Receipts:
        """Messengers' delivery receipts, applied to the deliveries."""
        return Receipts(self.deliveries, self.dispatcher, send_urls(self.config))

    @cached_property
    def awaiting(self) -> AwaitingDeliveries:
        """Telegram deliveries waiting for their contact's chat id."""
        return AwaitingDeliveries(self.redis, self.keys)

    @cached_property
    def blocked(self) -> BlockedIds:
        """Messenger IDs of contacts that refused their user's messages."""
        return BlockedIds(self.redis, self.keys)

    @cached_property
    def opt_changes(self) -> OptChanges:
        """People opting out of the bot's messages and back in, in order."""
        return OptChanges(self.redis, self.keys)

    @cached_property
    def windows(self) -> CustomerWindows:
        """When each WhatsApp number last wrote to the business (its 24-hour window)."""
        return CustomerWindows(self.redis, self.keys)

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
    def retention(self) -> Retention:
        """Deletes expired messages (with their deliveries) and failed records."""
        return Retention(self.redis, self.keys)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        """First answers to sends made with an Idempotency-Key."""
        return IdempotencyStore(self.redis, self.keys, self.config.send_deadline)

    @cached_property
    def metrics(self) -> Metrics:
        """Counters shared by every process."""
        return Metrics(self.redis, self.keys)

    @cached_property
    def tally(self) -> DeliveryTally:
        """A worker's delivery counts and latencies."""
        return DeliveryTally(self.redis, self.keys)

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
    def whatsapp_templates(self):
        """The WhatsApp business account's message templates, synced from the Graph API."""
        # Imported here: jinja2 is of no use to a worker process.
        from core.whatsapp_templates import TemplateRegistry

        return TemplateRegistry(self.redis, self.keys, self.config)
