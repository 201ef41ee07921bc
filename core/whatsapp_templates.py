"""The WhatsApp business account's message templates: synced from the Graph API, cached, checked, rendered.

Outside WhatsApp's 24-hour customer-service window only an approved
message template goes (core/whatsapp_window.py). A send names one as
`whatsapp_template` {name, language, params}; it is checked here against
the account's templates as the Graph API lists them
(core/bot_calls.whatsapp_templates), which are kept in Redis
(Keys.whatsapp_templates) for TEMPLATES_TTL seconds: a burst of sends reads
them once, and a template approved in WhatsApp Manager counts within a
minute. Only an APPROVED template is sent, with one body parameter for each
of its placeholders {{1}}..{{n}}
(https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates).
"""

import json
import re
from dataclasses import dataclass

from core.bot_calls import BotCallFailed, whatsapp_templates
from core.templates import TemplateRefused

TEMPLATES_TTL = 60
APPROVED = "APPROVED"
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
# WhatsApp's own bounds: a template's name is at most 512 characters, and a
# body parameter's text at most 1,024 with no line break or tab (error 132018).
TEMPLATE_NAME_MAX = 512
TEMPLATE_PARAM_MAX = 1024
TEMPLATE_PARAMS_MAX = 100


class TemplatesUnavailable(Exception):
    """The Graph API did not list the templates: what it answered, or that it did not."""


class TemplateProblem(ValueError):
    """A send's template that cannot go: the sub-field of `whatsapp_template` at fault, and why."""

    def __init__(self, field, problem):
        super().__init__(problem)
        self.field = field


def template_view(raw) -> dict:
    """A template as the Graph API lists it, as the service keeps and shows it; None if unreadable."""
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("name", "language")):
        return None
    components = raw.get("components") if isinstance(raw.get("components"), list) else []
    body = next((c.get("text") for c in components
                 if isinstance(c, dict) and c.get("type") == "BODY" and isinstance(c.get("text"), str)), "")
    return {"name": raw["name"], "language": raw["language"], "status": str(raw.get("status", "")),
            "category": str(raw.get("category", "")), "body": body,
            "parameters": len(set(PLACEHOLDER.findall(body)))}


class TemplateRegistry:
    """The account's templates, synced from the Graph API at most every TEMPLATES_TTL seconds."""

    def __init__(self, redis, keys, config):
        self._redis = redis
        self._key = keys.whatsapp_templates()
        self._config = config

    def all(self, refresh=False) -> list:
        """Every template, by name and language; synced now if `refresh` or none are kept.

        TemplatesUnavailable when the Graph API does not list them.
        """
        kept = None if refresh else self._redis.get(self._key)
        if kept is not None:
            return json.loads(kept)
        try:
            listed = whatsapp_templates(self._config)
        except BotCallFailed as exc:
            raise TemplatesUnavailable(str(exc)) from None
        views = sorted((v for v in map(template_view, listed) if v is not None),
                       key=lambda v: (v["name"], v["language"]))
        self._redis.set(self._key, json.dumps(views), ex=TEMPLATES_TTL)
        return views


def checked(templates, name, language, params) -> dict:
    """The approved template a send names, given its params; TemplateProblem naming the sub-field if not."""
    named = [t for t in templates if t["name"] == name]
    if not named:
        raise TemplateProblem("name", f"The WhatsApp business account has no template named {name!r} "
                                      "(python cli.py whatsapp templates lists them).")
    template = next((t for t in named if t["language"] == language), None)
    if template is None:
        languages = ", ".join(sorted(t["language"] for t in named))
        raise TemplateProblem("language", f"Template {name!r} has no {language!r} version; it has {languages}.")
    if template["status"] != APPROVED:
        raise TemplateProblem("name", f"Template {name!r} ({language}) is {template['status'] or 'not reviewed'}: "
                                      "WhatsApp sends only an APPROVED template.")
    if len(params) != template["parameters"]:
        raise TemplateProblem("params", f"Template {name!r} ({language}) takes {template['parameters']} "
                                        f"parameter(s), one for each {{{{n}}}} in its body; {len(params)} given.")
    return template


@dataclass(frozen=True)
class WhatsAppTemplate:
    """A send's template for its WhatsApp deliveries outside the window.

    Each parameter is a text, or in a template send a MessageTemplate
    rendered for each contact as the text is.
    """

    name: str
    language: str
    params: tuple

    def for_contact(self, contact, fields) -> str:
        """What a delivery to this contact keeps (JSON): name, language and its parameters' texts."""
        params = []
        for number, param in enumerate(self.params, 1):
            try:
                params.append(param if isinstance(param, str) else param.render(contact, fields, "whatsapp"))
            except TemplateRefused as exc:
                raise TemplateProblem("params", f"Parameter {number}: {exc}") from None
        return json.dumps({"name": self.name, "language": self.language, "params": params},
                          ensure_ascii=False)
