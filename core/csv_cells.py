"""CSV cells a spreadsheet reads as text, never as a formula (OWASP's "CSV Injection"), and back.

A cell that starts with =, +, -, @, a tab or a carriage return is written
with a single quote before it. A cell that already starts with quotes
before one of those gets one more, so reading removes exactly one quote
from every cell written so: what is read back is what was written.
"""

import re

# Quotes, then a character a spreadsheet starts a formula with.
_FORMULA_START = re.compile("'*[=+\\-@\t\r]")
_NEUTRALISED = re.compile("'+[=+\\-@\t\r]")


def neutralised(cell: str) -> str:
    """A cell as written to a CSV file: a leading quote if it would start a formula."""
    return "'" + cell if _FORMULA_START.match(cell) else cell


def restored(cell: str) -> str:
    """A cell as read from a CSV file: the quote neutralised() adds taken off again."""
    return cell[1:] if _NEUTRALISED.match(cell) else cell
