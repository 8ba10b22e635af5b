"""Following @odata.nextLink (or reading ahead by `$skip`): a small strategy object with loop detection, an origin
check and caps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MAX_PAGES = 10_000
# Graph may legitimately answer an empty page with a nextLink (a partition with nothing in the window), but
# never many in a row: a run of them is a service fault that would otherwise page until the page cap.
DEFAULT_MAX_EMPTY_PAGES = 25


class NextLinkPaginator:
    """Decides the next URL from a Graph collection page.

    Graph says: follow @odata.nextLink verbatim until it is absent; a page may be empty. We also refuse a
    link we already followed (a loop would never end), a link to another origin (the bearer token must
    only ever go to Graph), more than `max_pages` pages, more than `max_empty_pages` empty pages in a row,
    and paging past `deadline` (a `clock()` value): one endpoint of one tenant never holds a run hostage.

    A collection that documents `$count` and `$skip` can also be read ahead: its first page's `@odata.count`
    says which `$skip` pages remain (`skips_ahead`), so they can be fetched together instead of one nextLink
    at a time; those pages count against the same caps.
    """

    def __init__(
        self,
        first_url: str,
        *,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_empty_pages: int = DEFAULT_MAX_EMPTY_PAGES,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._origin = _origin(first_url)
        self._seen = {first_url}
        self.max_pages = max_pages
        self.max_empty_pages = max_empty_pages
        self.deadline = deadline
        self._clock = clock
        self.pages = 0
        self.empty_in_a_row = 0

    def next_url(self, page: dict[str, Any]) -> str | None:
        """The URL of the next page, or None when the collection is complete. Raises ValueError on a bad link."""
        self.pages += 1
        value = page.get("value")
        self.empty_in_a_row = self.empty_in_a_row + 1 if isinstance(value, list) and not value else 0
        link = page.get("@odata.nextLink")
        if not link:
            return None
        if not isinstance(link, str):
            raise ValueError("@odata.nextLink is not a string")
        if _origin(link) != self._origin:
            raise ValueError(f"@odata.nextLink points to another origin ({_origin(link)})")
        if link in self._seen:
            raise ValueError(f"@odata.nextLink loop after {self.pages} pages")
        if self.pages >= self.max_pages:
            raise ValueError(f"page cap of {self.max_pages} pages reached")
        if self.empty_in_a_row >= self.max_empty_pages:
            raise ValueError(f"{self.empty_in_a_row} empty pages in a row, each with a nextLink")
        self.check_time()
        self._seen.add(link)
        return link

    def skips_ahead(self, count: Any, received: int, page_size: int) -> list[int]:
        """The `$skip` of every page still to come when a page's `@odata.count` says `count` items match and
        `received` have come, `page_size` apart; never more pages than the page cap leaves.

        No pages when the count is absent, not a number, or no more than what came: a stale or wrong count is
        left to the nextLinks, which are always right.
        """
        if isinstance(count, bool) or not isinstance(count, int) or page_size <= 0:
            return []
        return list(range(received, count, page_size))[: max(self.max_pages - self.pages, 0)]

    def expect(self, urls: list[str]) -> None:
        """Pages about to be fetched ahead: a nextLink back to one of them is a loop like any other."""
        self._seen.update(urls)

    def read_ahead(self, page: dict[str, Any]) -> None:
        """Count a page fetched ahead whose successor was fetched ahead too (its own nextLink is not needed)."""
        self.pages += 1
        value = page.get("value")
        self.empty_in_a_row = self.empty_in_a_row + 1 if isinstance(value, list) and not value else 0

    def check_time(self) -> None:
        """Refuse to start another round trip past the deadline. Raises ValueError."""
        if self.deadline is not None and self._clock() >= self.deadline:
            raise ValueError(f"time limit reached after {self.pages} pages")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
