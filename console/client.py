"""HTTP access to the API: a timeout on every request, and errors a person can act on."""

import json
from urllib.parse import quote

import click
import requests

DEFAULT_TIMEOUT = 10.0
LOCATIONS = ("json", "query", "headers", "path", "form", "csv")


class ApiError(click.ClickException):
    """The server refused a request or could not be reached (exit code 1)."""

    exit_code = 1

    def __init__(self, message, status=None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


def path_of(*parts) -> str:
    """An /api/v1 path with each part URL-encoded (contact names may hold any character)."""
    return "/api/v1/" + "/".join(quote(str(part), safe="") for part in parts)


def field_errors(errors, field="") -> list[str]:
    """Flatten the API's nested field errors into 'field: problem' lines."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            # "json" or "query" names the part of the request, not a field a person typed.
            top_level_location = not field and key in LOCATIONS
            lines += field_errors(value, "" if top_level_location else _join(field, key))
        return lines
    if isinstance(errors, list) and not all(isinstance(item, str) for item in errors):
        return [line for index, item in enumerate(errors) for line in field_errors(item, _join(field, index))]
    problems = errors if isinstance(errors, list) else [errors]
    return [f"{field or 'request'}: {problem}" for problem in problems]


def _join(field, key) -> str:
    return f"{field}.{key}" if field else str(key)


def refusal(response) -> ApiError:
    """The error to show for a non-2xx answer: the server's message and its field errors."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
        details = field_errors(body.get("errors") or {})
    else:
        message = f"The server answered {response.status_code} {response.reason or ''}".strip() + "."
        details = []
    if response.status_code == 401:
        message = (f"The server refused the token: {message}\n"
                   "Check --token or DISPATCHER_TOKEN, or run 'login' with a valid token.")
    text = "\n".join([message, *(f"  {line}" for line in details)])
    return ApiError(text, status=response.status_code, body=body)


class ApiClient:
    """The /api/v1 API of one server, as one user (Bearer token)."""

    def __init__(self, server: str, token: str | None, timeout: float = DEFAULT_TIMEOUT):
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._http = requests.Session()

    def request(self, method, path, *, body=None, params=None, headers=None, data=None, timeout=None):
        """Send one request and return the response; any failure becomes an ApiError.

        `data`: a raw body (bytes or a file-like object) instead of `body`'s JSON;
        `timeout`: seconds to wait for this request instead of the client's.
        """
        timeout = timeout or self.timeout
        if not self.token:
            raise ApiError("No token: pass --token, set DISPATCHER_TOKEN, or run 'login' once.")
        headers = {**(headers or {}), "Authorization": f"Bearer {self.token}"}
        url = self.server + path
        try:
            response = self._http.request(
                method, url, json=body, data=data, params=params, headers=headers, timeout=timeout
            )
        except requests.exceptions.Timeout as exc:
            raise ApiError(
                f"The server at {self.server} did not answer within {timeout:g}s "
                "(raise --timeout, or check that it is healthy)."
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise ApiError(
                f"Cannot reach the server at {self.server}: {_reason(exc)}. "
                "Is it running? Point to it with --server or DISPATCHER_URL."
            ) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            raise ApiError(f"The server URL {self.server!r} is not valid: {exc}") from exc
        except requests.exceptions.RequestException as exc:
            raise ApiError(f"The request to {self.server} failed: {exc}") from exc
        if response.status_code >= 400:
            raise refusal(response)
        return response

    def call(self, method, path, **kwargs):
        """Send one request and return its JSON body (None for an empty answer)."""
        return self._body(self.request(method, path, **kwargs))

    def page(self, path, page, page_size, **params):
        """One page of a listing: (items, pagination) where pagination comes from X-Pagination."""
        response = self.request("GET", path, params={**params, "page": page, "page_size": page_size})
        return self._body(response), pagination(response)

    def every(self, path, page_size, **params):
        """Every item of a listing, fetched a page at a time."""
        page = 1
        while True:
            items, info = self.page(path, page, page_size, **params)
            yield from items
            if not items or page >= info.get("total_pages", page):
                return
            page += 1

    def _body(self, response):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"The server at {self.server} answered {response.status_code} with something "
                "that is not JSON: is --server the dispatcher's API?"
            ) from exc


def pagination(response) -> dict:
    """The X-Pagination header as a dict ({} when absent or unreadable)."""
    try:
        value = json.loads(response.headers.get("X-Pagination") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _reason(exc) -> str:
    text = str(exc)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "Name or service not known" in text or "getaddrinfo failed" in text or "nodename" in text:
        return "unknown host"
    return text
