"""Messages and deliveries as /api/v1 shows them, from the delivery store's fields (pure functions)."""

import json

from core.statuses import DELIVERED, FINAL, NOT_NEEDED, READ, SENT, STANDBY, waiting_status
from core.timeutil import epoch_to_iso

# Got through, from the least to the most a messenger tells of it.
REACHED = (SENT, DELIVERED, READ)

DELIVERY_FIELDS = ("contact", "messenger", "to", "status", "last_error")


def summary_status(statuses) -> str:
    """One word for a message's deliveries: the status they share, or where they stand together.

    Deliveries that all got through (sent, delivered, read; a fallback step
    not needed beside them) share the least of those they reached.
    """
    distinct = set(statuses)
    if not distinct:
        return "empty"
    if len(distinct) == 1:
        return statuses[0]
    reached = [s for s in REACHED if s in distinct]
    if reached and distinct <= {*REACHED, NOT_NEEDED}:
        return reached[0]
    return "partial" if distinct <= set(FINAL) else "in_progress"


def delivery_view(delivery_id, delivery: dict) -> dict:
    """One delivery: whom it is for, its status, attempts and last error (and its fallback step)."""
    view = {"id": delivery_id, **{k: delivery[k] for k in DELIVERY_FIELDS},
            "attempts": int(delivery["attempts"]),
            "updated_at": epoch_to_iso(float(delivery["updated_at"]))}
    if int(delivery.get("step") or 0):
        view["step"] = int(delivery["step"])
    # Deliveries recorded before they kept their own due time were due with their first attempt.
    view["due_at"] = epoch_to_iso(float(delivery.get("due_at") or delivery["due"]))
    if delivery.get("text") is not None:
        view["text"] = delivery["text"]
    if delivery.get("whatsapp_template") is not None:
        view["whatsapp_template"] = json.loads(delivery["whatsapp_template"])
    return view


def message_head(message_id, message: dict) -> dict:
    """What every view of a message starts with: id, text and times."""
    return {
        "id": message_id,
        "text": message["text"],
        "not_before": epoch_to_iso(float(message["due"])),
        "created_at": epoch_to_iso(float(message["created_at"])),
    }


def message_view(message_id, message: dict, delivery_ids, deliveries) -> dict:
    """A message and every delivery's status, from the store's fields."""
    asked = {}
    if message.get("template"):
        asked["template"] = True
    for name in ("local_time", "schedule_id"):
        if message.get(name):
            asked[name] = message[name]
    for name in ("quiet_hours", "whatsapp_template"):
        if message.get(name):
            asked[name] = json.loads(message[name])
    return {
        **message_head(message_id, message),
        "sender": message["sender"],
        "status": summary_status([d["status"] for d in deliveries]),
        **asked,
        "deliveries": [delivery_view(delivery_id, d) for delivery_id, d in zip(delivery_ids, deliveries, strict=True)],
    }


def new_message_view(message, now) -> dict:
    """A message just recorded, as the store holds it now (what a send answers)."""
    # As DeliveryStore.write records it: waiting, no attempt yet.
    fields = {"sender": message.sender, "text": message.text, "due": message.due,
              "created_at": message.created_at, **message.asked}
    deliveries = []
    for d in message.deliveries:
        due = max(message.due if d.due is None else d.due, now)
        deliveries.append({"contact": d.contact, "messenger": d.messenger, "to": d.to,
                           "status": STANDBY if d.waits else waiting_status(due, now), "attempts": 0,
                           "last_error": "", "updated_at": now, "step": d.step, "due_at": due,
                           "text": d.text, "whatsapp_template": d.whatsapp_template})
    return message_view(message.id, fields, [d.id for d in message.deliveries], deliveries)
