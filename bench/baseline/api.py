"""The baseline Flask app: the original contacts endpoints, fan-out inline."""

import uuid
from datetime import datetime, timezone

from flask import Flask, jsonify, request
from pymongo import MongoClient

from bench.baseline import settings
from bench.baseline.tasks import deliver

MESSENGERS = {"telegram": "telegram", "whatsApp": "whatsapp", "viber": "viber"}


def create_app():
    """The baseline API."""
    app = Flask(__name__)
    books = MongoClient(settings.MONGO_URL, connect=False)[settings.MONGO_DB]["books"]

    @app.get("/healthz")
    def healthz():
        """The process is up."""
        return {"status": "ok"}

    @app.post("/api/contacts")
    def add_contact():
        """Add or replace a contact."""
        body = request.get_json(force=True)
        contact = body["contact"]
        ids = {MESSENGERS[k]: v for k, v in contact["messangers"].items() if k in MESSENGERS}
        books.update_one({"_id": body["user_name"]},
                         {"$set": {f"contacts.{contact['name']}": ids}}, upsert=True)
        return {"success": True}

    @app.put("/api/contacts")
    def send():
        """Send to contacts: one task per delivery, posted one by one."""
        body = request.get_json(force=True)
        user = body["user_name"]
        names = body.get("contact") or body.get("contacts")
        names = [names] if isinstance(names, str) else names
        book = (books.find_one({"_id": user}) or {}).get("contacts", {})
        if any(name not in book for name in names):
            return jsonify(success=False, error="unknown contact"), 404
        eta = None
        if body.get("time"):
            eta = datetime(*body["time"], tzinfo=timezone.utc)
            if eta <= datetime.now(timezone.utc):
                eta = None
        message_id = uuid.uuid4().hex
        count = 0
        for name in names:
            for messenger, to in book[name].items():
                if not to:
                    continue
                args = (f"{message_id}-{count}", user, name, messenger, to, body["message"])
                if eta is None:
                    deliver.delay(*args)
                else:
                    deliver.apply_async(args, eta=eta)
                count += 1
        return {"success": True, "message_id": message_id, "deliveries": count}

    return app
