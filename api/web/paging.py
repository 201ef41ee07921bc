"""A page of a list in the console: which page the query asks for, and the links around it."""

from dataclasses import dataclass

from flask import request

from api.errors import ApiError


@dataclass(frozen=True)
class Page:
    """Page `number` (from 1) of `size` items, of `total` in all."""

    number: int
    size: int
    total: int = 0

    @property
    def first(self) -> int:
        """The index of its first item."""
        return (self.number - 1) * self.size

    @property
    def last_number(self) -> int:
        """The number of the last page (1 for an empty list)."""
        return max(1, -(-self.total // self.size))

    def counted(self, total: int) -> "Page":
        """The same page, knowing how many items there are."""
        return Page(self.number, self.size, total)


def requested_page(size: int) -> Page:
    """The page ?page=N asks for (1 if none); 400 naming `page` for anything but a number from 1."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 1_000_000:
        raise ApiError(400, "page must be a whole number from 1.", errors={"query": {"page": ["Not a page number."]}})
    return Page(int(raw), size)


def paged(size: int, total: int, read) -> tuple:
    """The page ?page=N asks for of a list of `total` items, and its items, read(first, size); none past the end."""
    page = requested_page(size).counted(total)
    return page, (read(page.first, page.size) if page.first < page.total else [])
