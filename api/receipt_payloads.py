"""The receipts in WhatsApp's and Viber's callbacks, read strictly: a 400 names what is wrong.

Each receipt is (provider id, status, epoch seconds, error), the status
one of the service's (Viber's `seen` is `read`); the statuses and events
that are not receipts (WhatsApp's `sent`, Viber's `subscribed`, ...) are
checked and left out.
"""

from api.errors import ApiError

WHATSAPP_STATUSES = {"delivered": "delivered", "read": "read", "failed": "failed"}
VIBER_EVENTS = {"delivered": "delivered", "seen": "read", "failed": "failed"}
# Epoch seconds beyond this (the year 5138) are no provider's timestamps.
LATEST_SECONDS = 10 ** 11


def _bad(path, problem):
    return ApiError(400, f"The callback body is not what the provider sends: {path} {problem}.",
                    {"json": {path: [problem[0].upper() + problem[1:] + "."]}})


def _at(key, path):
    return f"{path}.{key}" if path else key


def _object(parent, key, path):
    value = parent.get(key)
    if not isinstance(value, dict):
        raise _bad(_at(key, path), "must be an object")
    return value


def _objects(parent, key, path, optional=False):
    """The objects of a list field, each with its path."""
    where = _at(key, path)
    value = parent.get(key, [] if optional else None)
    if not isinstance(value, list):
        raise _bad(where, "must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _bad(f"{where}[{i}]", "must be an object")
    return [(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _string(parent, key, path):
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(_at(key, path), "must be a non-empty string")
    return value


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def whatsapp_receipts(body):
    """The receipts in a Cloud API notification: `entry[].changes[].value.statuses[]`."""
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object")
    receipts = []
    for entry, entry_path in _objects(body, "entry", ""):
        for change, path in _objects(entry, "changes", entry_path):
            # Other fields (account updates, templates, ...) hold no statuses.
            if _string(change, "field", path) != "messages":
                continue
            value = _object(change, "value", path)
            for status, status_path in _objects(value, "statuses", f"{path}.value", optional=True):
                receipt = _whatsapp_status(status, status_path)
                if receipt is not None:
                    receipts.append(receipt)
    return receipts


def _whatsapp_status(status, path):
    wamid = _string(status, "id", path)
    kind = _string(status, "status", path)
    stamp = status.get("timestamp")
    if isinstance(stamp, str) and stamp.isascii() and stamp.isdigit() and len(stamp) <= 11:
        stamp = int(stamp)
    if not _integer(stamp) or not 0 <= stamp < LATEST_SECONDS:
        raise _bad(f"{path}.timestamp", "must be unix seconds, a string of digits")
    if kind not in WHATSAPP_STATUSES:
        return None
    error = _whatsapp_error(status, path) if kind == "failed" else ""
    return wamid, WHATSAPP_STATUSES[kind], float(stamp), error


def _whatsapp_error(status, path):
    """'WhatsApp <code>: <title> (<details>)' from a failed status's first error."""
    errors = _objects(status, "errors", path, optional=True)
    if not errors:
        return "WhatsApp: failed, no error given"
    error, error_path = errors[0]
    code, title = error.get("code"), error.get("title") or error.get("message")
    if not _integer(code):
        raise _bad(f"{error_path}.code", "must be an integer")
    if not isinstance(title, str):
        raise _bad(f"{error_path}.title", "must be a string")
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    return f"WhatsApp {code}: {title}" + (f" ({details})" if isinstance(details, str) and details else "")


def viber_receipts(body):
    """The receipt in a Viber callback: none unless its event is delivered, seen or failed."""
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object")
    event = _string(body, "event", "")
    if event not in VIBER_EVENTS:
        return []
    token, stamp = body.get("message_token"), body.get("timestamp")
    if not _integer(token) or token < 0:
        raise _bad("message_token", "must be a non-negative integer")
    if not _integer(stamp) or not 0 <= stamp < LATEST_SECONDS * 1000:
        raise _bad("timestamp", "must be unix milliseconds, an integer")
    error = ""
    if event == "failed":
        desc = body.get("desc")
        error = f"Viber: {desc}" if isinstance(desc, str) and desc else "Viber: failed, no desc given"
    return [(str(token), VIBER_EVENTS[event], stamp / 1000, error)]
