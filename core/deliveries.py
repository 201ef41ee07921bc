"""Messages and their deliveries' status in Redis, changed only by atomic steps.

Every delivery that is not finished has one entry in the schedule (see
core/schedule.py): the moment someone must act on it next. Each step below
that changes a delivery's status moves or removes that entry in the same
script, so no crash between two writes can leave a delivery with nobody to
act on it. A message counts its open deliveries, and its deliveries by
status (so a list of messages reads no delivery); when the last one
finishes, the message is put in the retention index, to be deleted after
the retention period with its deliveries. A user counts their open
deliveries, for the quota on them. Messages recorded before these counts
existed carry no `counted` field and are counted by reading.

For a user with webhooks, each step also records what happened in the
events stream (delivery.sent, .delivered, .read, .failed, .suppressed and
message.completed), in the same script: no status changes without its event.
"""

import json
import math
from collections import Counter, namedtuple

from core.blocked import blocked_field
from core.keys import Keys
from core.lua import Script, lua_source
from core.messages import message_id_of
from core.pacing import PACED_KEYS, TAKE_TURN
from core.statuses import (
    STANDBY,
    waiting_status,
)

# step, last: its place in a fallback chain and the chain's last delivery's
# number (None outside chains); after, within: the message's fallback rule.
# text is the delivery's own (a template's rendering) or else the message's;
# parts, how many of a long text's parts the messenger has accepted; was,
# the status a 'go' claim took the delivery from.
Claim = namedtuple("Claim", "outcome detail messenger to sender contact text time attempts due lane "
                            "step last after within parts was")
# The messengers whose receipts name their own message ids (kept for them only).
RECEIPT_MESSENGERS = ("whatsapp", "viber")
# What a finishing step does to its fallback chain: the ids of its later
# steps, the action ("close": not needed; "wait": the next one starts at
# `moment` unless a delivered receipt comes first), and the moment the next
# step's schedule entry gets if it starts.
Chain = namedtuple("Chain", "later action moment", defaults=((), "", 0))
# A delivery outside any chain: nothing to close or start.
NO_CHAIN = Chain()

# The scripts of each step (core/scripts/, where each says its KEYS and ARGV).
_CLAIM = lua_source("claim", before=TAKE_TURN + PACED_KEYS)
_SENT = lua_source("sent")
_RETRY = lua_source("retry")
_FAIL = lua_source("fail")
_SUPPRESS = lua_source("suppress")
_OPTED_OUT = lua_source("opted_out")
_ACTIVATE = lua_source("activate")
_RECEIPT = lua_source("receipt")
_RESEND = lua_source("resend")
_DEFER = lua_source("defer")
_CANCEL = lua_source("cancel")


def open_count(reader, keys, user) -> int:
    """A user's unfinished deliveries: opened less closed, read through `reader` (a client or a watching pipeline).

    Closed is read first: finishes in between only make the count higher than
    it is, never lower.
    """
    closed = int(reader.get(keys.user_closed(user)) or 0)
    return int(reader.hget(keys.user_usage(user), "open") or 0) - closed


class DeliveryStore:
    """Messages, deliveries and their status transitions."""

    def __init__(self, redis, keys: Keys, retention_seconds: float):
        self._redis = redis
        self._keys = keys
        self._keep = retention_seconds
        self._claim = Script(redis, _CLAIM)
        self._sent = Script(redis, _SENT)
        self._retry = Script(redis, _RETRY)
        self._fail = Script(redis, _FAIL)
        self._suppress = Script(redis, _SUPPRESS)
        self._opted_out = Script(redis, _OPTED_OUT)
        self._activate = Script(redis, _ACTIVATE)
        self._receipt = Script(redis, _RECEIPT)
        self._resend = Script(redis, _RESEND)
        self._defer = Script(redis, _DEFER)
        self._cancel = Script(redis, _CANCEL)

    @classmethod
    def from_config(cls, redis, keys, config):
        """The store, keeping finished records for the settings' retention period."""
        return cls(redis, keys, config.retention_days * 86400)

    def write(self, pipe, message, now: float, lane=None):
        """Queue the writes that record a new message and its deliveries (in `lane`, if not the main one)."""
        k = self._keys
        # A delivery is due when the message (or its own time) is, or on
        # receipt if that is past: its lateness, in the latency metric too,
        # never counts from a date long gone.
        dues = [max(message.due if d.due is None else d.due, now) for d in message.deliveries]
        statuses = [STANDBY if d.waits else waiting_status(due, now)
                    for d, due in zip(message.deliveries, dues, strict=True)]
        count = len(message.deliveries)
        counts = {f"n:{s}": n for s, n in Counter(statuses).items()}
        chain = {}
        if message.fallback:
            chain = dict(zip(("fallback_after", "fallback_within"), message.fallback, strict=True))
        pipe.hset(k.message(message.id), mapping={
            "sender": message.sender, "text": message.text, "time": json.dumps(message.time),
            "due": message.due, "created_at": message.created_at,
            "count": count, "open": count, "counted": 1, **counts, **chain, **message.asked,
        })
        pipe.hincrby(k.user_usage(message.sender), "open", count)
        pipe.zadd(k.user_messages(message.sender), {message.id: message.created_at})
        if not message.deliveries:
            pipe.zadd(k.retention(), {k.retention_message(message.id): now + self._keep})
        extra = {} if lane is None else {"lane": lane}
        for d, due, status in zip(message.deliveries, dues, statuses, strict=True):
            own = {"step": d.step, "last": d.last} if d.step else {}
            if d.text is not None:
                own["text"] = d.text
            if d.whatsapp_template is not None:
                own["whatsapp_template"] = d.whatsapp_template
            pipe.hset(k.delivery(d.id), mapping={
                "message_id": message.id, "sender": message.sender, "contact": d.contact,
                "messenger": d.messenger, "to": d.to, "status": status,
                "attempts": 0, "ticket": 1, "due": due, "due_at": due, "lease": 0, "last_error": "",
                "updated_at": now, **extra, **own,
            })

    def claim(self, delivery_id, ticket, lease_seconds, pacing="") -> Claim:
        """Take a delivery for sending for `lease_seconds`, if this ticket may send it now.

        `pacing` (workers.ratelimit.RateLimiter.pacing): the rate limits,
        under which the claim also takes the send's turn. A 'go' claim's
        detail is the seconds to wait for that turn (the lease begins after
        it); a 'throttled' one's, the seconds until its booked place, for
        which it is to be handed back unclaimed. An 'early' claim's detail
        is the seconds until it is due (to be handed back for as long, as
        a throttled one); a 'busy' one's, the end of the
        holder's lease; a 'blocked' one's, the messenger ID that refused
        the sender (see suppress).
        """
        k = self._keys
        reply = self._claim(
            keys=[k.delivery(delivery_id), k.message(message_id_of(delivery_id)), k.schedule(),
                  k.blocked()],
            args=[ticket, lease_seconds, k.schedule_member(delivery_id, ticket), pacing],
        )
        reply += [None] * (len(Claim._fields) - len(reply))
        return Claim(*reply)

    def mark_sent(self, delivery_id, ticket, now, sender, messenger=None, provider_id=None,
                  chain=NO_CHAIN) -> bool:
        """Record a delivery of `sender`'s that the gateway accepted (as `provider_id`, if it said).

        A chain step's later steps are not needed (`chain.action` "close"),
        or the next one starts at `chain.moment` unless this one's delivered
        receipt comes first ("wait").
        """
        keys, args = self._finishing(delivery_id, ticket, sender)
        kept = provider_id if provider_id and messenger in RECEIPT_MESSENGERS else ""
        return bool(self._sent(
            keys=[*keys, self._keys.provider_message(messenger, kept), *self._steps(chain.later)],
            args=[ticket, now, *args, kept, math.ceil(self._keep), chain.action, chain.moment],
        ))

    def mark_retrying(self, delivery_id, ticket, attempt, now, error, due, moment) -> bool:
        """Record an attempt's transient failure; the next ticket's schedule entry acts at `moment`."""
        k = self._keys
        return bool(self._retry(
            keys=[k.delivery(delivery_id), k.schedule(), k.message(message_id_of(delivery_id))],
            args=[ticket, now, due, error, k.schedule_member(delivery_id, ticket),
                  k.schedule_member(delivery_id, ticket + 1), moment, attempt],
        ))

    def mark_failed(self, delivery_id, ticket, attempt, now, error, sender, record: dict,
                    blocked_id=None, chain=NO_CHAIN) -> int:
        """Record a delivery whose attempt failed for good: 0 if this ticket no longer held it.

        `blocked_id`: the messenger ID whose answer means the person refuses
        the sender's messages; later deliveries to it are suppressed. 1: its
        failed-store record written; 2: instead, its chain's next step
        started, due now, its schedule entry at `chain.moment`.
        """
        keys, args = self._finishing(delivery_id, ticket, sender)
        field = "" if blocked_id is None else blocked_field(record["messenger"], sender, record["contact"])
        return self._fail(
            keys=[*keys, self._keys.failed(sender), self._keys.failed_index(sender),
                  self._keys.blocked(), *self._steps(chain.later[:1])],
            args=[ticket, now, *args, error, json.dumps(record), field, blocked_id or "",
                  chain.moment, attempt],
        )

    def suppress(self, delivery_id, ticket, now, sender, error, chain=NO_CHAIN) -> int:
        """End a waiting delivery to a blocked messenger ID, unsent (2: its chain's next step started)."""
        keys, args = self._finishing(delivery_id, ticket, sender)
        return self._suppress(keys=[*keys, *self._steps(chain.later[:1])],
                              args=[ticket, now, *args, error, chain.moment])

    def mark_opted_out(self, delivery_id, ticket, attempt, now, error, sender, messenger, contact, to,
                       chain=NO_CHAIN) -> int:
        """End a delivery the person refused at its send: suppressed, `to` opted out (2: next step started)."""
        keys, args = self._finishing(delivery_id, ticket, sender)
        return self._opted_out(
            keys=[*keys, self._keys.blocked(), self._keys.opted_out(), *self._steps(chain.later[:1])],
            args=[ticket, now, *args, error, blocked_field(messenger, sender, contact), to, chain.moment, attempt],
        )

    def activate(self, delivery_id, ticket, now, moment) -> bool:
        """Start a chain step on standby whose wait for the step before it's receipt ran out."""
        k = self._keys
        return bool(self._activate(
            keys=[k.delivery(delivery_id), k.message(message_id_of(delivery_id)), k.schedule()],
            args=[ticket, now, moment],
        ))

    def apply_receipt(self, delivery_id, fields, provider_id, status, now, at, error="", record=None,
                      chain=NO_CHAIN) -> int:
        """Move a delivery (its `fields`) on to a receipt's status: 0 if that would go back.

        0 too if the delivery no longer holds `provider_id`, the messenger's
        id the receipt names (it was sent again since).

        In a chain, delivered or read makes the later steps not needed; a
        late failure starts the next one instead of a failed record (2).
        """
        k = self._keys
        sender = fields["sender"]
        return self._receipt(
            keys=[k.delivery(delivery_id), k.message(fields["message_id"]), k.schedule(),
                  k.retention(), k.user_closed(sender), k.events(), k.webhook_users(),
                  k.failed(sender), k.failed_index(sender), *self._steps(chain.later)],
            args=[status, now, delivery_id, at, json.dumps(record) if record else "", error,
                  self._keep, chain.moment, provider_id],
        )

    def _steps(self, delivery_ids) -> list:
        return [self._keys.delivery(d) for d in delivery_ids]

    def by_provider_id(self, messenger, provider_id):
        """The id of the delivery a messenger's own message id belongs to, or None."""
        return self._redis.get(self._keys.provider_message(messenger, provider_id))

    def defer(self, delivery_id, ticket, moment, queue, message) -> bool:
        """Hand a waiting delivery's task back for later: `message` queued, its entry at `moment`."""
        k = self._keys
        return bool(self._defer(
            keys=[k.delivery(delivery_id), k.schedule(), queue],
            args=[ticket, moment, k.schedule_member(delivery_id, ticket), message],
        ))

    def _finishing(self, delivery_id, ticket, sender):
        k = self._keys
        message_id = message_id_of(delivery_id)
        keys = [k.delivery(delivery_id), k.message(message_id), k.schedule(), k.retention(),
                k.user_closed(sender), k.events(), k.webhook_users()]
        return keys, [k.schedule_member(delivery_id, ticket), message_id, self._keep, sender,
                      delivery_id]

    def resend(self, delivery_id, sender, now, moment):
        """Hand a failed delivery back to the schedule; its new ticket, or None."""
        k = self._keys
        message_id = message_id_of(delivery_id)
        ticket = self._resend(
            keys=[k.delivery(delivery_id), k.message(message_id), k.schedule(), k.retention(),
                  k.user_usage(sender), k.failed(sender), k.failed_index(sender)],
            args=[delivery_id, now, moment, message_id],
        )
        return ticket or None

    def cancel(self, message_id, sender, delivery_ids, now) -> list:
        """Cancel those of `sender`'s message's deliveries that have not started; the ids cancelled."""
        if not delivery_ids:
            return []
        k = self._keys
        keys = [k.schedule(), k.retention(), k.message(message_id), k.user_closed(sender),
                k.events(), k.webhook_users(), *(k.delivery(d) for d in delivery_ids)]
        return self._cancel(keys=keys, args=[now, message_id, self._keep, sender, *delivery_ids])

    def get(self, delivery_id) -> dict:
        """A delivery's fields, or an empty dict."""
        return self._redis.hgetall(self._keys.delivery(delivery_id))

    def whatsapp_template(self, delivery_id):
        """The WhatsApp template a delivery goes as outside the 24-hour window ({name, language, params}), or None."""
        kept = self._redis.hget(self._keys.delivery(delivery_id), "whatsapp_template")
        return None if kept is None else json.loads(kept)

    def get_many(self, delivery_ids) -> list:
        """Several deliveries' fields, in order (empty dicts for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for d in delivery_ids:
                pipe.hgetall(self._keys.delivery(d))
            return pipe.execute()

    def heads(self, delivery_ids) -> list:
        """Several deliveries' (status, ticket, due, lease, updated_at, lane), in order (Nones for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for d in delivery_ids:
                pipe.hmget(self._keys.delivery(d), "status", "ticket", "due", "lease", "updated_at", "lane")
            return pipe.execute()

    def message(self, message_id) -> dict:
        """A message's fields, or an empty dict."""
        return self._redis.hgetall(self._keys.message(message_id))

    def message_ids_for(self, user, offset=0, limit=None) -> list:
        """The ids of a user's messages, newest first."""
        stop = -1 if limit is None else offset + limit - 1
        return self._redis.zrevrange(self._keys.user_messages(user), offset, stop)

    def open_count_for(self, user) -> int:
        """How many of a user's deliveries are not finished (those recorded since counts were kept)."""
        return open_count(self._redis, self._keys, user)

    def message_count_for(self, user) -> int:
        """How many messages a user has sent."""
        return self._redis.zcard(self._keys.user_messages(user))

    def messages(self, message_ids) -> list:
        """Several messages' fields, in order (empty dicts for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for m in message_ids:
                pipe.hgetall(self._keys.message(m))
            return pipe.execute()

    def statuses(self, delivery_ids) -> list:
        """Several deliveries' statuses, in order (None for unknown ids)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for d in delivery_ids:
                pipe.hget(self._keys.delivery(d), "status")
            return pipe.execute()

    @staticmethod
    def delivery_ids_of(message_id, message: dict) -> list:
        """The ids of a message's deliveries, given the message's fields."""
        return [f"{message_id}-{i}" for i in range(int(message.get("count", 0)))]
