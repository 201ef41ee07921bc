"""/api/v1/whatsapp: the business account's message templates, which sends outside WhatsApp's window name."""

from flask.views import MethodView
from marshmallow import RAISE, Schema, fields

from api.services import services
from api.v1 import blueprint
from api.v1.schemas import answer_field
from core.sending.whatsapp import account_templates

blp = blueprint("whatsapp", "WhatsApp's message templates: what a send's `whatsapp_template` may name.")


class WhatsAppTemplateViewSchema(Schema):
    """A message template of the WhatsApp business account, as the Graph API lists it."""

    name = answer_field(metadata={"example": "order_update"})
    language = answer_field(metadata={"example": "en_US"})
    status = answer_field(metadata={
        "example": "APPROVED",
        "description": "WhatsApp's review: APPROVED (a send may name it), PENDING, REJECTED, PAUSED, ..."})
    category = answer_field(metadata={"example": "UTILITY"})
    body = answer_field(metadata={"example": "Hello {{1}}, your order {{2}} is on its way.",
                                  "description": "The body's text, {{1}}..{{n}} where the params go."})
    parameters = answer_field(fields.Integer, metadata={
        "description": "How many `params` a send of it must give."})


class RefreshSchema(Schema):
    """Whether to sync the templates now."""

    refresh = fields.Boolean(load_default=False, metadata={
        "description": "Sync from the Graph API now rather than use the list synced within the last "
                       "minute (after a template's review, say)."})


@blp.route("/whatsapp/templates")
class Templates(MethodView):
    """The business account's message templates."""

    @blp.arguments(RefreshSchema, location="query", unknown=RAISE)
    @blp.response(200, WhatsAppTemplateViewSchema(many=True))
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, args):
        """The WhatsApp business account's message templates, by name and language, as last synced.

        Synced from the Graph API (WHATSAPP_BUSINESS_ACCOUNT_ID) at most a
        minute before; a 503 when it cannot be reached or refuses.
        """
        return account_templates(services(), args["refresh"])
