"""What a text must be for the service to store and send it."""

# The longest text a /api/v1 send takes: one longer than a messenger takes
# goes in parts (core/parts.py).
LONG_TEXT_MAX = 20000


def unicode_problem(text: str):
    """Why a text is not Unicode that encodes as UTF-8 (its first lone surrogate and where), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate ({text[exc.start]!r}) at position {exc.start}"
    return None
