"""An import's memory is bounded by its body's size, whatever the body holds (issue 33, finding 4).

Each case restarts the API so that its workers' peak resident size
(VmHWM) is this import's alone.
"""

import json
from pathlib import Path

import pytest
import requests

from conftest import running_stack, token_for
from core.config import Config

IMPORT = "/api/v1/contacts/import"
MIB = 1024 * 1024
# The figure docs/guides/contacts.md gives: the most an API worker holds at once for one import of MAX_IMPORT_BYTES.
PEAK_LIMIT = 300 * MIB
WAIT = 240


@pytest.fixture(scope="module")
def shipped_stack(tmp_path_factory):
    with running_stack(tmp_path_factory, "memory", shipped=True) as running:
        yield running


def workers(stack):
    """The pids of gunicorn's workers: the children of the API's master."""
    master = stack.pid("api")
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def peak(pid) -> int:
    """A process's peak resident size so far, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def zeros(size):
    """A JSON list of zeros `size` bytes long: millions of items, no contact among them."""
    return b"[" + b"0," * ((size - 2) // 2) + b"0]", "application/json"


def short_rows(size):
    """A CSV file of one-letter names `size` bytes long: millions of rows."""
    return b"name\n" + b"a\n" * ((size - 5) // 2), "text/csv"


def largest_book(size):
    """As many valid contacts as fit in `size` bytes of JSON, up to MAX_IMPORT_CONTACTS: the largest valid import."""
    count = Config().max_import_contacts
    filler = size // count - 345
    book = [{"name": f"{i:06d} " + "n" * 93, "telegram": f"t{i}" + "t" * 60, "whatsapp": f"+7920{i:07d}",
             "viber": f"+7920{i:07d}", "timezone": "Europe/Moscow",
             "fields": {"code": f"A{i}", "note": "x" * (filler // 2), "more": "y" * (filler - filler // 2)}}
            for i in range(count)]
    return json.dumps(book).encode(), "application/json"


@pytest.mark.parametrize("body, size, status", [
    (zeros, 66_000_000, 413),
    (short_rows, 16_000_000, 413),
    (largest_book, 64 * MIB, 200),
], ids=["json-zeros-66MB", "csv-16MB", "largest-valid"])
def test_an_import_peaks_below_the_documented_bound(shipped_stack, body, size, status):
    stack = shipped_stack
    stack.restart("api")
    token = token_for(stack, f"u{status}{size}")
    data, content_type = body(min(size, Config().max_import_bytes))
    before = max(peak(pid) for pid in workers(stack))
    reply = requests.post(stack.api_url + IMPORT, data=data, timeout=WAIT, params={"mode": "replace"},
                          headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    assert reply.status_code == status, reply.text[:500]
    after = max(peak(pid) for pid in workers(stack))
    print(f"{len(data):,} bytes: worker peak {before / MIB:.0f} -> {after / MIB:.0f} MiB")
    assert after < PEAK_LIMIT
