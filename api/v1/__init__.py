"""The REST API under /api/v1, documented at /api/openapi.json and /api/docs."""

import flask
import flask_smorest
from flask_smorest.pagination import PAGINATION_HEADER
from marshmallow import RAISE, validate
from swagger_ui_bundle import swagger_ui_path
from werkzeug.routing import BaseConverter, PathConverter

from api.auth import authenticate
from api.bodies import Parser
from api.errors import http_error
from api.fields import NAME_MAX, NO_CONTROL_PATTERN

DOCS_ASSETS = "/api/docs/assets/"
DELIVERY_ID_PATTERN = r"[0-9a-f]{32}-[0-9]+"
# Far beyond any list's last page, and far below the 64-bit offsets Redis takes.
PAGE_MAX = 1_000_000
SETTINGS = {
    "API_TITLE": "Messenger dispatcher",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Served from the swagger-ui-bundle package: the page works with no internet.
    "OPENAPI_SWAGGER_UI_URL": DOCS_ASSETS,
    "OPENAPI_SWAGGER_UI_CONFIG": {"persistAuthorization": True},
    "API_SPEC_OPTIONS": {"security": [{"bearerAuth": []}]},
}


class Api(flask_smorest.Api):
    """flask-smorest's Api with its errors in the service's one shape."""

    def handle_http_exception(self, error):
        """Render an HTTP error as every other error is rendered."""
        return http_error(error)

    def _register_pagination_header(self):
        # X-Pagination carries JSON, which a header's plain `schema` (style "simple") does not say.
        self.spec.components.header("PAGINATION", {
            "description": PAGINATION_HEADER["description"],
            "content": {"application/json": {"schema": PAGINATION_HEADER["schema"]}},
        }, lazy=True)


class ContactName(PathConverter):
    """A contact name in a path: any characters, '/' and '//' too."""

    regex = r"[\s\S]+"
    part_isolating = False


class DeliveryId(BaseConverter):
    """A delivery id: its message's id, '-', its number (so /failed/retry names none)."""

    regex = DELIVERY_ID_PATTERN


class MessageId(BaseConverter):
    """A message id: any path segment but the name of an action on messages (/messages/preview)."""

    regex = r"(?!preview$)[^/]+"


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint: bodies within limits, unknown query parameters refused, pages bounded."""

    ARGUMENTS_PARSER = Parser()
    PAGINATION_ARGUMENTS_PARSER = Parser(unknown=RAISE)

    def paginate(self, *args, **kwargs):
        """flask-smorest's pagination, with `page` at most PAGE_MAX (documented, and a 422 beyond)."""
        paginated = super().paginate(*args, **kwargs)

        def decorator(func):
            view = paginated(func)
            # The page schema is made per view; bounded before any instance copies its fields.
            schema = view._apidoc["pagination"]["parameters"]["schema"]
            schema._declared_fields["page"].validators = [validate.Range(min=1, max=PAGE_MAX)]
            return view
        return decorator


def blueprint(name, description) -> Blueprint:
    """A blueprint of /api/v1 whose every request needs a valid token."""
    blp = Blueprint(name, __name__, url_prefix="/api/v1", description=description)
    blp.before_request(authenticate)
    return blp


def init_app(app):
    """Add /api/v1 and its documentation to the app."""
    from api.v1 import contacts, failed, inbox, invites, me, messages, schedules, tokens, webhooks, whatsapp

    app.config.update(SETTINGS)
    api = Api(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer",
                       "description": "An API token: `python cli.py admin create-user NAME`."})
    app.url_map.converters["contact"] = ContactName
    api.register_converter(ContactName, lambda _: {
        "type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": NO_CONTROL_PATTERN})
    app.url_map.converters["delivery"] = DeliveryId
    api.register_converter(DeliveryId, lambda _: {
        "type": "string", "pattern": f"^{DELIVERY_ID_PATTERN}$"})
    app.url_map.converters["message"] = MessageId
    api.register_converter(MessageId, lambda _: {"type": "string"})
    app.register_blueprint(flask.Blueprint(
        "docs-assets", __name__, static_folder=swagger_ui_path, static_url_path=DOCS_ASSETS))
    for module in (me, tokens, contacts, invites, inbox, messages, schedules, failed, webhooks, whatsapp):
        api.register_blueprint(module.blp)
