"""The ``<a>`` elements of a PEP 503 HTML page, with their attributes and text.

Split from :mod:`.links` so that ``html.parser`` is imported only when an index serves HTML
(most serve PEP 691 JSON, and every run reads pages through :mod:`.links`).
"""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["Anchors"]


class Anchors(HTMLParser):
    """Collects ``anchors`` (their attributes, and the text as ``#text``) and the first
    ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self._open["#text"] = "".join(self._text).strip()
            self.anchors.append(self._open)
            self._open = None
