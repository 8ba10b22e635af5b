"""Following @odata.nextLink: a small strategy object with loop detection, an origin check and a page cap."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


class NextLinkPaginator:
    """Decides the next URL from a Graph collection page.

    Graph says: follow @odata.nextLink verbatim until it is absent; a page may be empty. We also refuse a
    link we already followed (a loop would never end), a link to another origin (the bearer token must
    only ever go to Graph), and more than `max_pages` pages.
    """

    def __init__(self, first_url: str, *, max_pages: int = 10_000) -> None:
        self._origin = _origin(first_url)
        self._seen = {first_url}
        self.max_pages = max_pages
        self.pages = 0

    def next_url(self, page: dict[str, Any]) -> str | None:
        """The URL of the next page, or None when the collection is complete. Raises ValueError on a bad link."""
        self.pages += 1
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
        self._seen.add(link)
        return link


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
