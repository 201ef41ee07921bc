"""The WhatsApp business account's message templates, as WhatsApp Manager keeps them.

A template is addressed by name and language and has a review status;
only an APPROVED one can be sent
(https://developers.facebook.com/docs/whatsapp/business-management-api/message-templates).
Its BODY text holds positional placeholders {{1}}..{{n}}, one body
parameter each. The gateway serves them as Graph API's
GET /{version}/{waba-id}/message_templates (fake_gateway.bot_api), checks
template sends against them in strict mode (fake_gateway.strict), and
renders what an accepted template send says.
"""

import re

STATUSES = ("APPROVED", "PENDING", "REJECTED")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
FIRST_ID = 1_000_000_000_000_001

# hello_world is the sample every new WhatsApp business account has.
SEED = [
    {"name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
     "components": [
         {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
         {"type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your "
                                  "ability to send a WhatsApp message notification from the Cloud "
                                  "API, hosted by Meta. Thank you for taking the time to test with us."},
         {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}]},
    {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
     "components": [{"type": "BODY", "text": "Hello {{1}}, your order {{2}} is on its way."}]},
    {"name": "order_update", "language": "ru", "status": "APPROVED", "category": "UTILITY",
     "components": [{"type": "BODY", "text": "Здравствуйте, {{1}}! Ваш заказ {{2}} в пути."}]},
    {"name": "welcome_back", "language": "en_US", "status": "PENDING", "category": "MARKETING",
     "components": [{"type": "BODY", "text": "Welcome back, {{1}}! We missed you."}]},
    {"name": "spring_sale", "language": "en_US", "status": "REJECTED", "category": "MARKETING",
     "components": [{"type": "BODY", "text": "Spring sale: {{1}} off everything until {{2}}."}]},
]


class TemplateError(ValueError):
    """A template that WhatsApp Manager would not keep, naming the field."""


def body_text(template):
    """The text of a template's BODY component."""
    return next(c["text"] for c in template["components"] if c["type"] == "BODY")


def parameter_count(template):
    """How many body parameters a template takes: its placeholders {{1}}..{{n}}."""
    return len(set(PLACEHOLDER.findall(body_text(template))))


def validate(template):
    """Check one template in Graph's shape, raising TemplateError naming the first bad field."""
    if not isinstance(template, dict):
        raise TemplateError("template must be a JSON object")
    for name in ("name", "language"):
        if not isinstance(template.get(name), str) or not template[name]:
            raise TemplateError(f"{name}: must be a non-empty string")
    if template.get("status") not in STATUSES:
        raise TemplateError(f"status: must be one of {', '.join(STATUSES)}")
    if template.get("category") not in CATEGORIES:
        raise TemplateError(f"category: must be one of {', '.join(CATEGORIES)}")
    components = template.get("components")
    if not isinstance(components, list) or not all(
            isinstance(c, dict) and isinstance(c.get("type"), str) and isinstance(c.get("text", ""), str)
            for c in components):
        raise TemplateError("components: must be a list of objects with a type and a text")
    bodies = [c for c in components if c["type"] == "BODY" and c.get("text")]
    if len(bodies) != 1:
        raise TemplateError("components: must hold exactly one BODY with a text")
    numbers = sorted({int(n) for n in PLACEHOLDER.findall(bodies[0]["text"])})
    if numbers != list(range(1, len(numbers) + 1)):
        raise TemplateError("components: BODY placeholders must be {{1}} to {{n}}, none skipped")


class Templates:
    """The account's templates, changeable by tests and reset to the seed."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Go back to the seeded templates."""
        self.all = []
        self._next_id = FIRST_ID
        for template in SEED:
            self.put(template)

    def put(self, template):
        """Add a template, or replace the one of the same name and language; it as kept."""
        validate(template)
        kept = {key: template[key] for key in ("name", "language", "status", "category", "components")}
        old = self.find(template["name"], template["language"])
        if old is not None:
            kept["id"] = old["id"]
            self.all[self.all.index(old)] = kept
        else:
            kept["id"] = str(self._next_id)
            self._next_id += 1
            self.all.append(kept)
        return kept

    def find(self, name, language):
        """The template of this name and language, or None."""
        return next((t for t in self.all if (t["name"], t["language"]) == (name, language)), None)

    def refusal(self, name, language, params):
        """(WhatsApp error code, details) refusing a send of this template, or None."""
        template = self.find(name, language)
        if template is None or template["status"] != "APPROVED":
            return 132001, f"template name ({name}) does not exist in {language}"
        expected = parameter_count(template)
        if len(params) != expected:
            return 132000, (f"body: number of localizable_params ({len(params)}) does not match "
                            f"the expected number of params ({expected})")
        return None

    def render(self, name, language, params):
        """What a send of this template says: its body with the parameters in, or its name if unknown."""
        template = self.find(name, language)
        if template is None:
            return f"template {name} ({language})"

        def fill(match):
            number = int(match.group(1))
            return params[number - 1] if number <= len(params) else match.group(0)
        return PLACEHOLDER.sub(fill, body_text(template))
