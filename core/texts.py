"""What a text must be for the service to store and send it."""


def unicode_problem(text: str):
    """Why a text is not Unicode that encodes as UTF-8 (its first lone surrogate and where), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate ({text[exc.start]!r}) at position {exc.start}"
    return None
