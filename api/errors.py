"""Every error as one JSON shape: code, status, message, errors per field."""

from http import HTTPStatus

from flask import request
from kombu.exceptions import OperationalError
from marshmallow import ValidationError
from pymongo.errors import ConnectionFailure, PyMongoError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

from core.sending.errors import KeyConflict, SendError, SendRefused

STORE_ERRORS = {
    ConnectionFailure: "mongo",
    RedisConnectionError: "redis",
    RedisTimeoutError: "redis",
    OperationalError: "redis",
}


class ApiError(Exception):
    """An error answered to the client: status code, message and field errors."""

    def __init__(self, code, message, errors=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}


def error_body(code, message, errors=None) -> dict:
    """The JSON body of an error answer; the original API's routes add success: false."""
    body = {"code": code, "status": HTTPStatus(code).phrase, "message": message}
    if errors:
        body["errors"] = errors
    if request.blueprint == "legacy":
        body = {"success": False, **body}
    return body


def send_error(err: SendError):
    """A send's refusal (core/sending/errors.py) as the one shape: its status, the field at fault, when to retry."""
    errors = None
    if isinstance(err, SendRefused):
        path = (err.field,) if isinstance(err.field, str) else err.field
        at = err.problems
        for name in reversed(path):
            at = {name: at}
        errors = {"json": at}
    elif isinstance(err, KeyConflict):
        errors = {"headers": {"Idempotency-Key": [err.problem]}}
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after else {}
    return error_body(err.status, err.message, errors), err.status, headers


def http_error(err):
    """An HTTPException as the one shape, with what flask-smorest's abort attached."""
    data = getattr(err, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    message = data.get("message") or (_invalid_fields(errors) if errors else err.description)
    # Keep what werkzeug says beside the body, such as a 405's Allow.
    headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
    headers += list((data.get("headers") or {}).items())
    return error_body(err.code, message, errors), err.code, headers


def _invalid_fields(errors):
    problems = {field: problem for fields in errors.values() if isinstance(fields, dict)
                for field, problem in fields.items()}
    if not problems:
        return "The request is invalid."
    if len(problems) > 1:
        return f"Invalid fields: {', '.join(repr(field) for field in problems)}."
    [(field, problem)] = problems.items()
    said = " ".join(p for p in problem if isinstance(p, str)) if isinstance(problem, list) else ""
    return f"Invalid field '{field}': {said or 'see errors.'}"


def register_error_handlers(app):
    """Render every error, expected or not, as the one JSON shape."""

    @app.errorhandler(ApiError)
    def _api_error(err):
        return error_body(err.code, err.message, err.errors), err.code, err.headers

    app.register_error_handler(SendError, send_error)

    @app.errorhandler(ValidationError)
    def _invalid(err):
        return error_body(422, "The request body is invalid.", {"json": err.messages}), 422

    app.register_error_handler(HTTPException, http_error)
    for exc_type, store in STORE_ERRORS.items():
        app.register_error_handler(exc_type, _unavailable(store, app))
    unavailable = _unavailable("mongo", app)

    @app.errorhandler(PyMongoError)
    def _mongo_error(err):
        # Out of time (timeoutMS) before it was sent, or on the server, where
        # a write's expiry comes back as a write error: too slow, not wrong.
        if err.timeout:
            return unavailable(err)
        return _unexpected(err)

    @app.errorhandler(Exception)
    def _unexpected(err):
        app.logger.exception("request.failed")
        return error_body(500, "Internal error."), 500


def _unavailable(store, app):
    def handler(err):
        app.logger.warning("store.unavailable", extra={"fields": {"store": store, "error": str(err)}})
        return error_body(503, f"The {store} store is unavailable; try again shortly."), 503
    return handler
