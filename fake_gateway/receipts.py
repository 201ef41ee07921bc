"""The delivery receipts the fake gateway calls back with, as WhatsApp and Viber do.

After it accepts a message in WhatsApp's or Viber's real shape, and when it
has a receipts URL (GATEWAY_RECEIPTS_URL, the API's base URL), the gateway
POSTs that message's statuses, as its recipient's plan (fake_gateway.faults)
has them, in each provider's body and signed its way:

- WhatsApp Cloud API, to {url}/webhooks/whatsapp: `sent` at once, then
  `delivered` and `read` (or `failed` with `errors`), each a
  whatsapp_business_account notification with one `statuses[]` item
  (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components),
  signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`.
- Viber REST API, to {url}/webhooks/viber: `delivered`, then `seen` (or
  `failed` with `desc`), signed `X-Viber-Content-Signature: <hex
  HMAC-SHA256(auth token, body)>`
  (https://developers.viber.com/docs/api/rest-bot-api/#callbacks).

Each callback is a task of its own, started once the send's answer is made.
One the API refuses (any answer but 2xx) or cannot be reached is tried
again after each of RETRY_DELAYS (30 s in all), then dropped; every try is
recorded with its answer.
"""

import asyncio
import hashlib
import hmac
import json
import time

import aiohttp

from fake_gateway.ids import viber_token, wa_id, whatsapp_id

RETRY_DELAYS = (1, 2, 4, 8, 15)
TIMEOUT = aiohttp.ClientTimeout(total=5)
# The business account and number the fake's WhatsApp notifications come from.
WABA_ID = "100000000000009"
DISPLAY_PHONE_NUMBER = "15550000001"
# https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
WHATSAPP_UNDELIVERABLE = {"code": 131026, "title": "Message undeliverable",
                          "message": "Message undeliverable",
                          "error_data": {"details": "Message Undeliverable."}}
VIBER_UNDELIVERABLE = "Message could not be delivered to the receiver's device"
# The provider's word for each step of a plan.
WORDS = {"whatsapp": {"delivered": "delivered", "read": "read", "failed": "failed"},
         "viber": {"delivered": "delivered", "read": "seen", "failed": "failed"}}


def steps(messenger, plan, delivered_after, read_after):
    """(seconds after the answer, status in the provider's words) of one message's receipts."""
    later = {"read": [(delivered_after, "delivered"), (read_after, "read")],
             "delivered": [(delivered_after, "delivered")],
             "never": [],
             "failed": [(delivered_after, "failed")]}[plan]
    # Only WhatsApp tells that a message left for the phone.
    first = [(0.0, "sent")] if messenger == "whatsapp" else []
    return first + [(delay, WORDS[messenger][step]) for delay, step in later]


def whatsapp_body(phone_number_id, message_id, to, status, at):
    """A Cloud API notification of one message's status."""
    item = {"id": whatsapp_id(message_id), "status": status, "timestamp": str(int(at)),
            "recipient_id": wa_id(to)}
    if status in ("sent", "delivered"):
        item["conversation"] = {"id": f"fakeconversation{message_id}", "origin": {"type": "service"}}
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if status == "failed":
        item["errors"] = [WHATSAPP_UNDELIVERABLE]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER,
                          "phone_number_id": phone_number_id},
             "statuses": [item]}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]}


def viber_body(message_id, to, status, at):
    """A Viber callback of one message's event."""
    body = {"event": status, "timestamp": int(at * 1000), "chat_hostname": "SN-CHAT-01_",
            "message_token": viber_token(message_id), "user_id": to}
    if status == "failed":
        body["desc"] = VIBER_UNDELIVERABLE
    return body


def signature(secret, raw):
    """The hex HMAC-SHA256 of a body under a secret, as both providers sign."""
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


class ReceiptSender:
    """Calls the API back with accepted messages' receipts, each in a task of its own."""

    def __init__(self, url, records, credentials):
        self.url = url.rstrip("/")
        self.records = records
        self.credentials = credentials
        self._tasks = set()
        self._session = None

    def expect(self, messenger, message_id, to, faults):
        """Start sending the receipts of a message just accepted, as its recipient's plan says."""
        if not self.url or messenger not in WORDS:
            return
        for delay, status in steps(messenger, faults.receipt_plan(to),
                                   faults.receipt_delivered_after, faults.receipt_read_after):
            task = asyncio.create_task(self._send(messenger, message_id, to, status, delay))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def cancel(self):
        """Drop every receipt not sent yet."""
        for task in list(self._tasks):
            task.cancel()

    async def close(self, app=None):
        """Drop what is left and close the HTTP session (an app's on_cleanup)."""
        self.cancel()
        if self._session is not None:
            await self._session.close()

    async def _send(self, messenger, message_id, to, status, delay):
        await asyncio.sleep(delay)
        at = time.time()
        provider_id = whatsapp_id(message_id) if messenger == "whatsapp" else viber_token(message_id)
        for retry in (*RETRY_DELAYS, None):
            # Signed at each try with the credentials of the moment, as a provider would.
            raw, headers = self._signed(messenger, message_id, to, status, at)
            answer, error = await self.post(f"{self.url}/webhooks/{messenger}", raw, headers)
            self.records.receipt(messenger, to, provider_id, status, time.time(), answer, error)
            if (answer is not None and 200 <= answer < 300) or retry is None:
                return
            await asyncio.sleep(retry)

    def _signed(self, messenger, message_id, to, status, at):
        credentials = self.credentials
        if messenger == "whatsapp":
            body = whatsapp_body(credentials.get("whatsapp_phone_number_id"), message_id, to, status, at)
            raw = json.dumps(body).encode()
            return raw, {"X-Hub-Signature-256": "sha256=" + signature(
                credentials.get("whatsapp_app_secret"), raw)}
        raw = json.dumps(viber_body(message_id, to, status, at)).encode()
        return raw, {"X-Viber-Content-Signature": signature(credentials.get("viber_auth_token"), raw)}

    async def post(self, url, raw, headers):
        """POST a JSON body to a URL; (HTTP status, None), or (None, why it got no answer)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        try:
            async with self._session.post(url, data=raw, headers={
                    **headers, "Content-Type": "application/json"}) as response:
                await response.read()
                return response.status, None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
