"""Each contact's own text and due time in a send: a template, a local time, quiet hours, a WhatsApp template."""

from dataclasses import dataclass
from datetime import datetime

from core.templates import MessageTemplate
from core.timing import at_wall_time, out_of_quiet_hours
from core.whatsapp_templates import WhatsAppTemplate


@dataclass(frozen=True)
class Personal:
    """How a send makes each delivery its own: any of the four, on top of the message's due time."""

    due: float
    default_zone: str
    template: MessageTemplate = None
    local_time: datetime = None
    quiet_hours: tuple = None
    whatsapp: WhatsAppTemplate = None

    def __post_init__(self):
        # A template that does not name the messenger renders once per contact.
        uses = self.template is not None and "messenger" in self.template.variables
        object.__setattr__(self, "_per_messenger", uses)
        object.__setattr__(self, "_texts", {})

    def __call__(self, name, recipient, messenger) -> tuple:
        """(text, due, WhatsApp template) of one delivery; None where the message's own applies, or none."""
        whatsapp = None
        if self.whatsapp is not None and messenger == "whatsapp":
            whatsapp = self.whatsapp.for_contact(name, recipient.fields)
        return self._text(name, recipient, messenger), self._due(recipient), whatsapp

    def _text(self, name, recipient, messenger):
        if self.template is None:
            return None
        key = (name, messenger if self._per_messenger else None)
        if key not in self._texts:
            self._texts[key] = self.template.render(name, recipient.fields, messenger)
        return self._texts[key]

    def _due(self, recipient):
        if self.local_time is None and self.quiet_hours is None:
            return None
        zone = recipient.timezone or self.default_zone
        due = self.due if self.local_time is None else at_wall_time(self.local_time, zone)
        if self.quiet_hours is not None:
            due = out_of_quiet_hours(max(due, self.due), zone, self.quiet_hours)
        return due
