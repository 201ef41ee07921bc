"""The ids the fake gateway's WhatsApp and Viber answers name, and their receipts name again."""

# Viber's message tokens are 64-bit integers, such as 5741311803571721087.
VIBER_TOKEN_BASE = 5_741_311_803_571_000_000


def whatsapp_id(number):
    """The wamid WhatsApp answers for the gateway's message number `number`."""
    return f"wamid.fake{number}"


def viber_token(number):
    """The message_token Viber answers for the gateway's message number `number`."""
    return VIBER_TOKEN_BASE + number


def wa_id(to):
    """The WhatsApp id of a phone number: its digits."""
    return "".join(c for c in to if c.isdigit())
