"""Kombu's Redis transport, with fewer round trips per task message.

The stock transport spends, per message a worker consumes: a BRPOP and an
event-loop cycle to fetch it, a pipeline to record it as unacknowledged, a
pipeline to acknowledge it, and a new ``redis.Redis`` object for each of
those commands. Together they were half of a worker's CPU per delivery. Here:

- commands share one Redis client per channel;
- after a BRPOP hands over one message, one script takes up to the prefetch
  room more from the same list *and* records them as unacknowledged, in one
  atomic step (no moment where a message is in neither place);
- acknowledgements made during one turn of the worker's event loop are
  removed from the unacknowledged set together, before the loop next waits.

When the connection is lost (Redis restarts), what the channel held but
could not put back in the queue then is put back by the next channel, so
tasks waiting for their ETA come back in time. What a killed worker held
stays in the unacknowledged set, as with the stock transport, and returns
to the queue after the visibility timeout; by
then the schedule (core/schedule.py) has long sent its deliveries, and the
claims skip these late copies, as they skip any repeat. So does an
acknowledgement lost with the process (at most one loop turn's).

The same channel runs on a master that Redis Sentinel names
(SentinelTransport): its connections ask the sentinels where the master is,
and a failover drops them, as a restart would.
"""

import logging
import time
from collections import deque
from contextlib import contextmanager
from queue import Empty

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.retry import Retry
from redis.sentinel import Sentinel

log = logging.getLogger("workers.broker")

# Most messages one script call takes after a BRPOP.
BATCH = 32
# Delivery tags of messages a channel held when its connection was lost and
# could not put back then (this process's, for the next channel to restore).
_left_behind = set()

# KEYS: queue list, unacked hash, unacked index. ARGV: now, count. Pops up to
# count messages and records each as kombu's QoS.append would:
# unacked[tag] = [message, exchange, routing_key], index[tag] = now.
POP_AND_RECORD = """
local items = redis.call('RPOP', KEYS[1], ARGV[2])
if not items then return {} end
for _, item in ipairs(items) do
    local properties = cjson.decode(item)['properties']
    local info = properties['delivery_info'] or {}
    local tag = properties['delivery_tag']
    redis.call('HSET', KEYS[2], tag, '[' .. item .. ',' .. cjson.encode(info['exchange'] or '')
        .. ',' .. cjson.encode(info['routing_key'] or '') .. ']')
    redis.call('ZADD', KEYS[3], ARGV[1], tag)
end
return items
"""


class QoS(kombu_redis.QoS):
    """Unacknowledged-message bookkeeping that knows pre-recorded messages and defers acks."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._recorded = set()
        self._acked = deque()

    def recorded(self, delivery_tag):
        """Note a message the pop script already recorded as unacknowledged."""
        self._recorded.add(delivery_tag)

    def append(self, message, delivery_tag):
        if delivery_tag in self._recorded:
            self._recorded.discard(delivery_tag)
            virtual.QoS.append(self, message, delivery_tag)
        else:
            super().append(message, delivery_tag)

    def ack(self, delivery_tag):
        transport = self.channel.connection
        if transport is None:
            # A task that finished after its channel closed with a lost
            # connection: its message stays unacknowledged, and the copy
            # that comes back after the visibility timeout is skipped.
            virtual.QoS.ack(self, delivery_tag)
            return
        if not transport.defer_acks:
            super().ack(delivery_tag)
            return
        self._acked.append(delivery_tag)
        virtual.QoS.ack(self, delivery_tag)

    def restore_unacked_once(self, stderr=None):
        # At a channel's close kombu puts what it held back in the queue. When
        # the close follows a lost connection that fails too; the messages
        # stay unacknowledged and the schedule brings their deliveries back,
        # where an error here would stop the worker for good.
        held = list(self._delivered)
        try:
            super().restore_unacked_once(stderr)
        except RedisError as exc:
            # Still in Redis's unacknowledged set: the next channel puts them back.
            _left_behind.update(held)
            log.warning("%d unacknowledged messages left to restore: %s", len(held), exc)

    def flush_acks(self):
        """Remove every deferred acknowledgement's message from the unacknowledged set."""
        tags = []
        while self._acked:
            tags.append(self._acked.popleft())
        if not tags:
            return
        try:
            with self.channel.conn_or_acquire() as client:
                client.pipeline().zrem(self.unacked_index_key, *tags).hdel(self.unacked_key, *tags).execute()
        except RedisError as exc:
            # As a lost ack would: the messages come back after the
            # visibility timeout, and their deliveries' claims skip them.
            log.warning("acknowledgements not recorded (%d): %s", len(tags), exc)


class Channel(kombu_redis.Channel):
    """A Redis channel: one command client, batched consumption and acknowledgement."""

    QoS = QoS
    _command_client = None
    _pop_and_record = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._restore_left_behind()

    def _restore_left_behind(self):
        """Put back in the queue what a channel closed by a lost connection still held."""
        # Tasks waiting for their ETA were dropped from memory with that
        # channel: back in the queue now, they come back in time, where the
        # schedule would send them only a grace after they were due.
        tags = list(_left_behind)
        try:
            for tag in tags:
                self.qos.restore_by_tag(tag)
                _left_behind.discard(tag)
        except RedisError as exc:
            log.warning("unacknowledged messages not restored yet: %s", exc)
            return
        if tags:
            log.info("restored %d messages left unacknowledged by a lost connection", len(tags))

    def _commands(self):
        if self.connection is None or self.connection.client is None:
            # The connection is being torn down or gone (an ack or reject of a
            # task that outlived it): kombu's pool would fail with an
            # AttributeError, which Celery takes for a fatal error.
            raise RedisConnectionError("the broker connection is closed")
        # The pool is replaced after a fork or a disconnect; follow it.
        pool = self.pool
        if self._command_client is None or self._command_client.connection_pool is not pool:
            self._command_client = self._create_client()
            self._pop_and_record = self._command_client.register_script(POP_AND_RECORD)
        return self._command_client

    @contextmanager
    def conn_or_acquire(self, client=None):
        yield client if client is not None else self._commands()

    def _brpop_read(self, **options):
        # kombu's own, plus the batch taken after the first message.
        try:
            try:
                key_item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if not key_item:
                raise Empty()
            key, item = key_item
            queue = bytes_to_str(key).rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(queue)
            self.connection._deliver(loads(bytes_to_str(item)), queue)
            self._deliver_more(key, queue)
            return True
        finally:
            self._in_poll = None
            self._flush_brpop_reauth()

    def _deliver_more(self, key, queue):
        room = self.qos.can_consume_max_estimate()
        count = BATCH if room is None else min(room, BATCH)
        if count <= 0:
            return
        client = self._commands()
        items = self._pop_and_record(
            keys=[key, self.unacked_key, self.unacked_index_key], args=[time.time(), count], client=client
        )
        for item in items:
            payload = loads(bytes_to_str(item))
            self.qos.recorded(payload["properties"]["delivery_tag"])
            self.connection._deliver(payload, queue)

    def close(self):
        if self._qos is not None:
            self._qos.flush_acks()
        super().close()


class Transport(kombu_redis.Transport):
    """The Redis transport with the channel above."""

    Channel = Channel
    # Acks wait for the next loop turn only where there is a loop to turn.
    defer_acks = False

    def register_with_event_loop(self, connection, loop):
        super().register_with_event_loop(connection, loop)
        self.defer_acks = True
        loop.on_tick.add(self._flush_acks)

    def _flush_acks(self):
        for channel in self.channels:
            if channel._qos is not None:
                channel._qos.flush_acks()


class SentinelChannel(Channel, kombu_redis.SentinelChannel):
    """The channel above, on the master the sentinels name."""

    from_transport_options = kombu_redis.SentinelChannel.from_transport_options + ("sentinels",)
    # [host, port] of each sentinel. kombu's own channel takes them from the
    # connection's failover URLs instead; on a connection error kombu's
    # Connection moves to the next of those, and with it to kombu's transport.
    sentinels = ()
    master_name = None
    min_other_sentinels = 0
    sentinel_kwargs = None

    def _sentinel_managed_pool(self, asynchronous=False):
        if self.master_name is None:
            raise ValueError("the 'master_name' transport option must be given")
        params = self._connparams(asynchronous)
        addresses = [tuple(address) for address in self.sentinels] or [(params["host"], params["port"])]
        del params["host"], params["port"]
        manager = Sentinel(
            addresses,
            min_other_sentinels=self.min_other_sentinels,
            # Unretried: the next sentinel is the retry.
            sentinel_kwargs={"retry": Retry(NoBackoff(), retries=0), **(self.sentinel_kwargs or {})},
            **params,
        )
        # Closed with the channel's pools (kombu's _disconnect_pools).
        if asynchronous:
            self._async_sentinel_manager = manager
        else:
            self._sentinel_manager = manager
        return manager.master_for(self.master_name, Redis).connection_pool


class SentinelTransport(Transport):
    """The transport above, through Redis Sentinel."""

    Channel = SentinelChannel
    default_port = kombu_redis.SentinelTransport.default_port
