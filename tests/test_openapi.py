"""schemathesis against /api/openapi.json on the live stack: no 5xx, no answer that breaks the schema.

Tests are made per operation when this module is collected, before any
stack runs, so the document comes from the app factory; the first test
checks that the live stack serves that same document.
"""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    allow_header_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    unsupported_method,
)

from api import create_app
from apiclient import v1
from core.config import Config
from helpers import free_ports

# Stores on ports nobody uses: the request this makes counts itself in Redis,
# which must not be the one `make run` started.
NOWHERE = dict(zip(("redis_port", "mongo_port"), free_ports(2), strict=True))
SPEC = create_app(Config(**NOWHERE)).test_client().get("/api/openapi.json").get_json()
schema = schemathesis.openapi.from_dict(SPEC)
# Cases are made when this module is collected, before any user has a token:
# they carry this until their test puts the user's in its place.
PLACEHOLDER = "Bearer token-of-the-test"


@schema.auth()
class Bearer:
    """A token on every case but those whose negation leaves it out on purpose.

    Given to schemathesis rather than passed as a header to each call, which
    would put the token back on such a case and so make it a valid request.
    """

    def get(self, case, ctx):
        return PLACEHOLDER

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": data}


@pytest.fixture
def token(stack, user_token):
    """A user with a contact, so that generated sends can also succeed."""
    token = user_token("fuzz")
    v1(stack, token, "POST", "/contacts", {"name": "Artem", "telegram": "t", "viber": "v"})
    return token


def test_the_live_stack_serves_the_document_tested(stack):
    assert requests.get(stack.api_url + "/api/openapi.json", timeout=10).json() == SPEC


def excluded_checks(case):
    """Checks that cannot hold for an operation, and why."""
    if case.method == "POST" and case.path in ("/api/v1/messages", "/api/v1/messages/preview",
                                               "/api/v1/schedules"):
        # JSON Schema cannot say which [Y, M, D, h, m, s] lists or date-times are real
        # calendar times, which texts are templates that render, that quiet hours
        # end when they start, nor which strings are cron expressions, so some
        # schema-valid sends (and previews and schedules of them) are rightly refused.
        return [positive_data_acceptance]
    if (case.method, case.path) == ("POST", "/api/v1/webhooks"):
        # Nor which hosts resolve, and to a public address: a webhook's url
        # must (SSRF), and the test machine may have no DNS at all.
        return [positive_data_acceptance]
    if case.method == "GET" and case.path in ("/api/v1/messages", "/api/v1/failed"):
        # A list ignores query parameters it does not know (a cache-buster,
        # say), where schemathesis counts any unknown one as invalid.
        return [negative_data_rejection]
    if case.path == "/api/v1/contacts/import":
        # The URL is also the contact named "import" (GET, PUT, DELETE
        # /api/v1/contacts/{name}), so Allow rightly lists those too; and a
        # CSV body is a string to JSON Schema, which cannot say which are CSV.
        return [allow_header_conformance, positive_data_acceptance]
    if case.path in ("/api/v1/contacts/{name}/unblock", "/api/v1/contacts/{name}/invites",
                     "/api/v1/contacts/{name}/inbox"):
        # The URL is also the contact named "{name}/unblock" (and so on: a
        # name may hold '/'), which GET, PUT and DELETE rightly reach instead of a 405.
        return [unsupported_method, allow_header_conformance]
    return []


@schema.parametrize()
@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, stack, token):
    if (case.headers or {}).get("Authorization") == PLACEHOLDER:
        case.headers["Authorization"] = f"Bearer {token}"
    case.call_and_validate(base_url=stack.api_url, excluded_checks=excluded_checks(case), timeout=10)
