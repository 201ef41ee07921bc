"""The Telegram poller, for hosts without a public URL (TELEGRAM_UPDATES=poll): getUpdates instead of a webhook.

One poller at a time across hosts holds a lease in Redis (Keys.telegram_poller),
renewed before each long poll; the others wait for it to lapse. Each batch
of updates is handed to Celery as the webhook hands them (core/inbound.py,
once per update_id), then the offset past them is kept in Redis (AOF), so
a restart neither skips an update nor handles one twice.
"""

import contextlib
import logging
import os
import signal
import socket
import time
import uuid

from redis.exceptions import RedisError

from core.bot_calls import BotCallFailed, get_updates
from core.clients import redis_client
from core.config import Config
from core.inbound import InboundQueue
from core.inbound_updates import BadUpdate, telegram_events
from core.keys import Keys
from core.logs import log_event, setup_logging
from core.lua import Script

log = logging.getLogger("workers.telegram_poller")
# Seconds a getUpdates waits for an update, and the lease that outlasts it.
POLL_SECONDS = 10
LEASE_SECONDS = 30
# Seconds between tries while another poller holds the lease or Telegram refuses.
IDLE_SECONDS = 2.0

# KEYS: the lease. ARGV: this poller's token, lease ms. Takes a free lease or renews its own.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# KEYS: the lease. ARGV: this poller's token. Lets go of its own lease only.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
# KEYS: the offset. ARGV: the new offset. Never moves back.
_ADVANCE = """
local now = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > now then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


class Poller:
    """One process's turn at getUpdates."""

    def __init__(self, config):
        self._config = config
        self._keys = Keys(config.redis_prefix)
        self._redis = redis_client(config)
        self._queue = InboundQueue(self._redis, self._keys, config)
        self._hold = Script(self._redis, _HOLD)
        self._advance = Script(self._redis, _ADVANCE)
        self._release = Script(self._redis, _RELEASE)
        self._token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def poll_once(self) -> int:
        """Hold the lease, take one batch of updates and hand it over; how many updates (None: not our turn)."""
        if not self._hold(keys=[self._keys.telegram_poller()], args=[self._token, LEASE_SECONDS * 1000]):
            return None
        offset = int(self._redis.get(self._keys.telegram_offset()) or 0)
        updates = get_updates(self._config, offset, POLL_SECONDS)
        for update in updates:
            try:
                self._queue.hand_over("telegram", telegram_events(update))
            except BadUpdate as exc:
                log_event(log, "poller.bad_update", level=logging.WARNING, error=str(exc))
        if updates:
            last = max(u.get("update_id", -1) for u in updates if isinstance(u, dict))
            self._advance(keys=[self._keys.telegram_offset()], args=[last + 1])
            log_event(log, "poller.updates", updates=len(updates), offset=last + 1)
        return len(updates)


    def release(self) -> None:
        """Let go of the lease, so that another poller (or this one restarted) takes over at once."""
        self._release(keys=[self._keys.telegram_poller()], args=[self._token])


def _stop(signum, frame):
    raise SystemExit(0)


def main():
    """Poll Telegram until stopped, then hand the lease on."""
    config = Config.from_env_or_exit()
    setup_logging(config.log_level)
    signal.signal(signal.SIGTERM, _stop)
    poller = Poller(config)
    log_event(log, "poller.started", mode=config.telegram_updates)
    try:
        while True:
            try:
                if poller.poll_once() is None:
                    time.sleep(IDLE_SECONDS)
            except BotCallFailed as exc:
                # A webhook still set (409), a wrong token: said at each try, then tried again.
                log_event(log, "poller.refused", level=logging.WARNING, error=str(exc))
                time.sleep(IDLE_SECONDS)
            except RedisError as exc:
                # The store away: the next turn tries again, from the offset kept.
                log_event(log, "poller.store_unavailable", level=logging.WARNING, error=str(exc))
                time.sleep(IDLE_SECONDS)
    finally:
        # A poller killed outright cannot: its lease lapses after LEASE_SECONDS.
        with contextlib.suppress(RedisError):
            poller.release()


if __name__ == "__main__":
    main()
