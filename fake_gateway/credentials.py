"""The credentials the fake gateway's real-API emulations accept, and sign their receipts with."""

from core.config import Config

FIELDS = ("telegram_bot_token", "whatsapp_token", "whatsapp_phone_number_id", "viber_auth_token",
          "whatsapp_app_secret")


class CredentialError(ValueError):
    """A credentials change with an unknown name or a bad value."""


def from_config(config: Config) -> dict:
    """The credentials a service with these settings sends."""
    return {name: getattr(config, name) for name in FIELDS}


class Credentials:
    """The current credentials, changeable by tests and reset to the initial ones."""

    def __init__(self, initial=None):
        self.initial = {**from_config(Config()), **(initial or {})}
        self.reset()

    def reset(self):
        """Go back to the credentials the gateway started with."""
        self.current = dict(self.initial)

    def update(self, changes):
        """Validate and apply some credentials, all or nothing."""
        if not isinstance(changes, dict):
            raise CredentialError("credentials must be a JSON object")
        for name, value in changes.items():
            if name not in FIELDS:
                raise CredentialError(f"{name}: unknown credential; known: {', '.join(FIELDS)}")
            if not isinstance(value, str) or not value:
                raise CredentialError(f"{name}: must be a non-empty string")
        self.current.update(changes)

    def get(self, name):
        """One current credential."""
        return self.current[name]

    def as_dict(self):
        """The current credentials."""
        return dict(self.current)
