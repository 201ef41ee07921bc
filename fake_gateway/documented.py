"""The errors and the text limits each imitated API documents; the errors as a fault script names them.

DOCUMENTED names every error a fault script may ask for, as
"<messenger>:<code>" (Telegram: the HTTP error_code; WhatsApp: error.code;
Viber: status), and GARBLED the answers in the API's envelope with a field
of the wrong type ("telegram:garbled", "whatsapp:garbled"), as a proxy or an
API change might send: answers a client must survive. The shapes that answer
them live in fake_gateway.apis.

LONGEST_TEXT is the fake's own copy of each messenger's longest text, taken
from the documentation and not from the service's table (core/parts.py):
the reference the tests check what the service sends against.
"""

# The most a messenger takes in one text message, in UTF-16 code units (the
# strictest reading: Telegram counts entity offsets in them, WhatsApp's and
# Viber's documentation say "characters"):
# - Telegram sendMessage `text`: 1-4096 characters after entities parsing,
#   https://core.telegram.org/bots/api#sendmessage
# - WhatsApp Cloud API text object `body`: at most 4096 characters,
#   https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
# - Viber REST bot API text message `text`: at most 7000 characters,
#   https://developers.viber.com/docs/api/rest-bot-api/#text-message
LONGEST_TEXT = {"telegram": 4096, "whatsapp": 4096, "viber": 7000}


def utf16_length(text: str) -> int:
    """A text's length in UTF-16 code units, as LONGEST_TEXT counts it."""
    return len(text.encode("utf-16-le")) // 2


TELEGRAM_ERRORS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# What sendMessage answers, in strict mode (fake_gateway.strict), for a chat
# the bot may not write to. The Bot API documents the answer's shape
# (https://core.telegram.org/bots/api#making-requests: "ok": false,
# error_code, description), that a bot cannot write first to a user, who
# must start it (https://core.telegram.org/bots, "Bots can't initiate
# conversations with users"; https://core.telegram.org/bots/features#deep-linking),
# and that sendMessage takes a user by numeric chat id only, a username
# only for a channel (https://core.telegram.org/bots/api#sendmessage,
# chat_id). The descriptions are the ones it returns, as collected in the
# community list https://github.com/TelegramBotAPI/errors.
TELEGRAM_CHAT_ERRORS = {
    "chat_not_found": (400, "Bad Request: chat not found"),
    "not_started": (403, "Forbidden: bot can't initiate conversation with a user"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
}
# getUpdates while a webhook is set, and a long poll cut short by a newer
# one (https://core.telegram.org/bots/api#getupdates: "will not work if an
# outgoing webhook is set up"; texts as the API returns them).
TELEGRAM_WEBHOOK_ACTIVE = ("Conflict: can't use getUpdates method while webhook is active; "
                           "use deleteWebhook to delete the webhook first")
TELEGRAM_OTHER_POLLER = ("Conflict: terminated by other getUpdates request; "
                         "make sure that only one bot instance is running")

# code: (HTTP status, message, details)
WHATSAPP_ERRORS = {
    1: (400, "(#1) An unknown error occurred", "Invalid request or possible server error."),
    2: (503, "(#2) Service temporarily unavailable",
        "Temporary due to downtime or due to being overloaded."),
    4: (400, "(#4) Application request limit reached",
        "The app has reached its API call rate limit."),
    100: (400, "(#100) Invalid parameter",
          "The request included one or more unsupported or misspelled parameters."),
    190: (401, "Error validating access token: Session has expired", None),
    368: (400, "(#368) Temporarily blocked for policies violations", None),
    80007: (400, "(#80007) Rate limit issues",
            "The WhatsApp Business Account has reached its rate limit."),
    130429: (400, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    131000: (500, "(#131000) Something went wrong",
             "Message failed to send due to an unknown error."),
    131016: (503, "(#131016) Service unavailable", "A service is temporarily unavailable."),
    131026: (400, "(#131026) Message undeliverable", "Unable to deliver message."),
    131030: (400, "(#131030) Recipient phone number not in allowed list",
             "Add recipient phone number to recipient list and try again."),
    131031: (400, "(#131031) Business Account locked", None),
    131047: (400, "(#131047) Re-engagement message",
             "More than 24 hours have passed since the recipient last replied to the "
             "sender number."),
    131048: (400, "(#131048) Spam rate limit hit",
             "Message failed to send because there are restrictions on how many messages "
             "can be sent from this phone number."),
    131056: (400, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this "
             "phone number to the same phone number in a short period of time."),
    131057: (400, "(#131057) Account in maintenance mode", None),
    # Template sends, https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
    # ("Template Param Count Mismatch", 400; "Template does not exist": not in
    # that language, or not approved, 404). The messages are the ones Graph
    # returns; a strict refusal's details name the template or the counts.
    132000: (400, "(#132000) Number of parameters does not match the expected number of params",
             "The number of variable parameter values included in the request did not match "
             "the number of variable parameters defined in the template."),
    132001: (404, "(#132001) Template name does not exist in the translation",
             "The template does not exist in the specified language or the template has not "
             "been approved."),
    133004: (503, "(#133004) Server temporarily unavailable", None),
}

VIBER_STATUSES = {
    1: "invalidUrl", 2: "invalidAuthToken", 3: "badData", 4: "missingData",
    5: "receiverNotRegistered", 6: "receiverNotSubscribed", 7: "publicAccountBlocked",
    8: "publicAccountNotFound", 9: "publicAccountSuspended", 10: "webhookNotSet",
    11: "receiverNoSuitableDevice", 12: "tooManyRequests", 13: "apiVersionNotSupported",
    14: "incompatibleWithVersion", 15: "publicAccountNotAuthorized",
    16: "inchatReplyMessageNotAllowed", 17: "publicAccountIsNotInline", 18: "noPublicChat",
    19: "cannotSendBroadcast", 20: "broadcastNotAllowed",
}

GARBLED = frozenset(["telegram:garbled", "whatsapp:garbled"])
DOCUMENTED = frozenset(
    [f"telegram:{c}" for c in TELEGRAM_ERRORS]
    + [f"whatsapp:{c}" for c in WHATSAPP_ERRORS]
    + [f"viber:{c}" for c in VIBER_STATUSES]
) | GARBLED
