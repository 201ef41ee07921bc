"""WhatsApp's message templates as a send uses them: the account's (or TryLater), a send's checked (or SendRefused)."""

from core.sending.errors import SendRefused, TryLater
from core.templates import MessageTemplate, TemplateRefused
from core.whatsapp_templates import TEMPLATE_PARAM_MAX, TemplateProblem, TemplatesUnavailable, WhatsAppTemplate, checked

# Seconds a caller refused for want of the templates is told to wait.
SYNC_PAUSE = 5


def account_templates(svc, refresh=False) -> list:
    """The business account's templates (synced now if `refresh`); TryLater when the Graph API does not list them."""
    try:
        return svc.whatsapp_templates.all(refresh)
    except TemplatesUnavailable as exc:
        raise TryLater(f"WhatsApp's message templates could not be synced from the Graph API ({exc}); "
                       "nothing was written. Try again shortly; if it persists, check WHATSAPP_API_URL, "
                       "WHATSAPP_BUSINESS_ACCOUNT_ID and WHATSAPP_TOKEN.", SYNC_PAUSE) from None


def template_problem(exc: TemplateProblem) -> SendRefused:
    """The refusal of a send's WhatsApp template that cannot go, naming its sub-field."""
    return SendRefused(f"The WhatsApp template cannot be used: {exc}", ("whatsapp_template", exc.field),
                       [str(exc)])


def send_template(svc, given, rendered, budget) -> WhatsAppTemplate:
    """A send's `whatsapp_template`, checked against the account's approved templates.

    With `rendered` (a template send) each parameter is compiled as a
    template, to be rendered per contact within its share of `budget`
    (CPU seconds for all of the send's renderings of the parameters).
    """
    name, language, params = given["name"], given["language"], given["params"]
    try:
        checked(account_templates(svc), name, language, params)
    except TemplateProblem as exc:
        raise template_problem(exc) from None
    if not rendered:
        return WhatsAppTemplate(name, language, tuple(params))
    compiled = []
    for number, param in enumerate(params, 1):
        try:
            compiled.append(MessageTemplate(param, TEMPLATE_PARAM_MAX, svc.config.template_render_budget,
                                            budget / len(params)))
        except TemplateRefused as exc:
            raise template_problem(TemplateProblem("params", f"Parameter {number}: {exc}")) from None
    return WhatsAppTemplate(name, language, tuple(compiled))
