"""File links of a simple index project page (PEP 691 JSON and PEP 503 HTML) as values.

The index client (``index.py``) fetches pages; this module turns their bodies into
:class:`FileLink` values and nothing else, so it needs no network to test. A link's name,
version and tags are parsed once from its filename here, at the edge.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from packaging.tags import Tag
    from packaging.utils import NormalizedName
    from packaging.version import Version

__all__ = ["FileLink", "parse_html_page", "parse_json_page"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLink:
    """One downloadable file of a project, as the index describes it.

    ``yanked`` is ``None`` when not yanked, else the reason (``""`` when none was given).
    ``core_metadata`` is PEP 714's value: ``False``, ``True`` or a ``{"sha256": ...}`` mapping,
    saying that ``url + ".metadata"`` serves the file's METADATA. ``name``, ``version`` and
    ``tags`` come from the filename; ``version`` is ``None`` and ``tags`` empty for files that
    are neither wheels nor sdists with a parseable name.
    """

    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None
    requires_python: SpecifierSet | None = None
    yanked: str | None = None
    upload_time: datetime | None = None
    core_metadata: bool | Mapping[str, str] = field(default=False, hash=False)
    name: NormalizedName | None = field(init=False, default=None)
    version: Version | None = field(init=False, default=None)
    tags: frozenset[Tag] = field(init=False, default=frozenset())
    is_wheel: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if self.filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(self.filename)
            object.__setattr__(self, "tags", tags)
            object.__setattr__(self, "is_wheel", True)
        elif self.filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(self.filename)
        else:
            return
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "version", version)

    @property
    def metadata_sha256(self) -> str | None:
        """The sha256 the index gave for the PEP 658 ``.metadata`` file, if any."""
        if isinstance(self.core_metadata, bool):
            return None
        return self.core_metadata.get("sha256")

    @property
    def metadata_url(self) -> str:
        return self.url + ".metadata"


def _specifiers(value: object) -> SpecifierSet | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:  # seen on old uploads; pip ignores these too
        return None


def _upload_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _yanked(value: object) -> str | None:
    if value is True:
        return ""
    if isinstance(value, str):
        return value
    return None


def _core_metadata(value: object) -> bool | Mapping[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return value is True


def _link(**kwargs: Any) -> FileLink | None:
    try:
        return FileLink(**kwargs)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None  # a file the index lists that no installer could use


def parse_json_page(body: bytes | str, page_url: str) -> tuple[FileLink, ...]:
    """Links of a PEP 691 project page; relative URLs are resolved against *page_url*."""
    data = json.loads(body)
    links = []
    for entry in data.get("files", ()):
        meta = entry.get("core-metadata", entry.get("data-dist-info-metadata", False))
        link = _link(
            filename=entry["filename"],
            url=urljoin(page_url, entry["url"]),
            sha256=(entry.get("hashes") or {}).get("sha256"),
            size=entry.get("size"),
            requires_python=_specifiers(entry.get("requires-python")),
            yanked=_yanked(entry.get("yanked")),
            upload_time=_upload_time(entry.get("upload-time")),
            core_metadata=_core_metadata(meta),
        )
        if link is not None:
            links.append(link)
    return tuple(links)


class _Anchors(HTMLParser):
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


def _html_core_metadata(attrs: Mapping[str, str | None]) -> bool | Mapping[str, str]:
    value = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
    if value is None or value == "false":
        return False
    algo, _, digest = value.partition("=")
    return {algo: digest} if digest else True


def _html_link(attrs: Mapping[str, str | None], base: str) -> FileLink | None:
    href = attrs.get("href")
    if not href:
        return None
    url, fragment = urldefrag(urljoin(base, href))
    filename = url.rsplit("/", 1)[-1]
    match = re.fullmatch(r"sha256=([0-9a-fA-F]{64})", fragment)
    return _link(
        filename=filename,
        url=url,
        sha256=match.group(1).lower() if match else None,
        requires_python=_specifiers(attrs.get("data-requires-python")),
        yanked=(attrs.get("data-yanked") or "") if "data-yanked" in attrs else None,
        core_metadata=_html_core_metadata(attrs),
    )


def parse_html_page(body: bytes | str, page_url: str) -> tuple[FileLink, ...]:
    """Links of a PEP 503 project page (with PEP 592/658/714 data attributes)."""
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    return tuple(_nonnull(_html_link(a, base) for a in parser.anchors))


def _nonnull(links: Iterable[FileLink | None]) -> list[FileLink]:
    return [link for link in links if link is not None]
