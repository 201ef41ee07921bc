"""Messengers' delivery receipts applied to deliveries: delivered, read, or a late failure.

A receipt names the messenger's own id of a message, which the delivery
kept when it was sent (DeliveryStore.mark_sent, for RECEIPT_MESSENGERS).
Statuses only move on (core/statuses.py RECEIPT_STEPS): a late `delivered`
after `read` changes nothing. A receipt for an id nobody kept (another
service's message, or one older than the retention period) is ignored, and
so is one for an id a delivery sent again no longer holds.
In a fallback chain, delivered or read ends the chain, and a late failure
starts its next step.
"""

import json
import time

from core.deliveries import Chain
from core.messages import later_steps
from core.statuses import NEXT_STEP_STARTED
from core.timeutil import epoch_to_iso


class Receipts:
    """Applies receipts to the delivery store."""

    def __init__(self, deliveries, dispatcher, urls: dict):
        self._deliveries = deliveries
        self._dispatcher = dispatcher
        # Each messenger's send URL, for a failure's failed-store record.
        self._urls = urls

    def apply(self, messenger, provider_id, status, at, error="") -> bool:
        """Move the delivery the receipt names on to `status` (delivered, read, failed); whether it moved."""
        store = self._deliveries
        delivery_id = store.by_provider_id(messenger, str(provider_id))
        if delivery_id is None:
            return False
        fields = store.get(delivery_id)
        if not fields:
            return False
        now = time.time()
        record = None
        if status == "failed":
            record = self._failed_record(delivery_id, fields, error, now)
        chain = Chain()
        if fields.get("step"):
            chain = Chain(later_steps(delivery_id, fields["last"]), "",
                          self._dispatcher.schedule.moment(now, now))
        moved = store.apply_receipt(delivery_id, fields, str(provider_id), status, now, at, error, record,
                                    chain)
        if moved == NEXT_STEP_STARTED:
            self._dispatcher.start_next_step(store, chain.later[0], fields.get("lane"), now)
        return bool(moved)

    def _failed_record(self, delivery_id, fields, error, now) -> dict:
        """The failed store's record of a delivery the messenger gave up after accepting it."""
        message = self._deliveries.message(fields["message_id"])
        return {
            "sender": fields["sender"],
            "message": message.get("text", ""),
            "contact": fields["contact"],
            "url": self._urls.get(fields["messenger"], ""),
            "time": json.loads(message.get("time", "null")),
            "delivery_id": delivery_id,
            "messenger": fields["messenger"],
            "error": error,
            "attempts": int(fields.get("attempts", 0)),
            "failed_at": epoch_to_iso(now),
        }
