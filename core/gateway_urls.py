"""Where each messenger's sends go, read from the settings.

The workers' gateways post there; the API's receipts name the URL in the
failed record of a delivery a messenger gave up after accepting it, as a
worker's failure does. Both read it here, so neither imports the other.
"""

from core.config import MESSENGERS

# How a failed record shows Telegram's bot token, which is part of its URL.
HIDDEN_TOKEN = "<token>"


def send_url(config, messenger, telegram_token=HIDDEN_TOKEN) -> str:
    """The URL a delivery over `messenger` is posted to, in the API family MESSENGER_API names.

    Telegram's holds the bot's token: `telegram_token` (the gateway's own
    endpoint), else HIDDEN_TOKEN, so that a record never shows it.
    """
    if config.messenger_api == "simple":
        return f"{config.gateway_url.rstrip('/')}/{messenger}"
    if messenger == "telegram":
        return f"{config.telegram_api_url.rstrip('/')}/bot{telegram_token}/sendMessage"
    if messenger == "whatsapp":
        return (f"{config.whatsapp_api_url.rstrip('/')}/{config.whatsapp_api_version}/"
                f"{config.whatsapp_phone_number_id}/messages")
    return f"{config.viber_api_url.rstrip('/')}/pa/send_message"


def send_urls(config) -> dict:
    """Each messenger's send URL, tokens hidden."""
    return {m: send_url(config, m) for m in MESSENGERS}
