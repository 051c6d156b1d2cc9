"""File links of a simple index project page (PEP 691 JSON and PEP 503 HTML) as values.

The index client (:mod:`.client`) fetches pages; this module turns their bodies into
:class:`FileLink` values and nothing else, so it needs no network to test. A link's name,
version and tags are parsed once from its filename here, at the edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
)
from packaging.version import Version

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from packaging.tags import Tag
    from packaging.utils import NormalizedName

__all__ = [
    "JSON_TYPE",
    "FileLink",
    "for_target",
    "parse_html_page",
    "parse_json_page",
    "runs_on",
]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLink:
    """One downloadable file of a project, as the index describes it.

    ``yanked`` is ``None`` when not yanked, else the reason (``""`` when none was given).
    ``core_metadata`` is PEP 714's value: ``False``, ``True`` or a ``{"sha256": ...}`` mapping,
    saying that ``url + ".metadata"`` serves the file's METADATA. ``index`` is the URL of
    the index whose page listed the file, without credentials. ``name``, ``version`` and
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
    index: str | None = None  # the index that listed it (None: a find-links location)
    name: NormalizedName | None = field(init=False, default=None)
    version: Version | None = field(init=False, default=None)
    tags: frozenset[Tag] = field(init=False, default=frozenset())
    is_wheel: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if self.filename.endswith(".whl"):
            name, version, tags = _parse_wheel(self.filename)
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

    def to_json(self) -> dict[str, Any]:
        """The fields a page gave, as JSON values (:meth:`from_json` reads them back)."""
        return {
            "filename": self.filename,
            "url": self.url,
            "sha256": self.sha256,
            "size": self.size,
            "requires_python": None if self.requires_python is None else str(self.requires_python),
            "yanked": self.yanked,
            "upload_time": None if self.upload_time is None else self.upload_time.isoformat(),
            "core_metadata": self.core_metadata,
            "index": self.index,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileLink:
        """A link from :meth:`to_json`'s value; ValueError (or KeyError) when it is not one."""
        return cls(
            filename=data["filename"],
            url=data["url"],
            sha256=data["sha256"],
            size=data["size"],
            requires_python=_specifiers(data["requires_python"]),
            yanked=data["yanked"],
            upload_time=_upload_time(data["upload_time"]),
            core_metadata=_core_metadata(data["core_metadata"]),
            index=data["index"] if isinstance(data.get("index"), str) else None,
        )


# A page of a popular project lists thousands of files that share a few hundred versions, a few
# dozen tag sets and a handful of requires-python values: parsing each distinct string once
# makes reading the pages of a TensorFlow resolve about ten times faster.
_WHEEL_NAME = re.compile(r"[\w.]+", re.ASCII)


@lru_cache(maxsize=8192)
def _version(text: str) -> Version:
    return Version(text)


@lru_cache(maxsize=4096)
def _tags(text: str) -> frozenset[Tag]:
    return parse_tag(text)


@lru_cache(maxsize=2048)
def _name(text: str) -> NormalizedName:
    return canonicalize_name(text)


def _parse_wheel(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag]]:
    """``packaging.utils.parse_wheel_filename`` with each component's parse cached."""
    parts = filename[:-4].split("-")
    build_ok = len(parts) == 5 or (len(parts) == 6 and parts[2][:1].isdigit())
    if not build_ok or not _WHEEL_NAME.fullmatch(parts[0]):
        raise InvalidWheelFilename(f"invalid wheel filename: {filename!r}")
    try:
        return _name(parts[0]), _version(parts[1]), _tags("-".join(parts[-3:]))
    except ValueError as e:  # InvalidVersion, packaging.tags.InvalidTag
        raise InvalidWheelFilename(f"invalid wheel filename: {filename!r}") from e


@lru_cache(maxsize=1024)
def _specifiers(value: object) -> SpecifierSet | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:  # seen on old uploads; pip ignores these too
        return None


def _absolute(base: str, url: str) -> str:
    return url if url.startswith(("https://", "http://")) else urljoin(base, url)


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


def runs_on(platform: str) -> Callable[[str], bool]:
    """A filename filter for a manylinux *platform* tag such as ``manylinux_2_28_x86_64``.

    It keeps sdists, pure wheels, and wheels with a glibc Linux tag for the same architecture;
    it drops Windows, macOS, musl and other-architecture wheels, which are most of the files of
    big pages (grpcio, numpy). The glibc version is left to the solver's tag check.
    """
    arch = "_" + re.sub(r"^(many)?linux(_\d+_\d+|\d+)?_", "", platform)
    # One platform tag of the filename's (dot-separated) last part is "any", or a glibc Linux
    # tag ending in the architecture. A regex: big pages list tens of thousands of files.
    wheel_runs = re.compile(
        rf"-(?:[^-]*\.)?(?:any|(?:many)?linux[^.-]*{re.escape(arch)})(?:\.[^-]*)?\.whl$"
    ).search

    def keep(filename: str) -> bool:
        return not filename.endswith(".whl") or wheel_runs(filename) is not None

    return keep


def for_target(
    platform: str | None, tags: Iterable[Tag], *, sdists: bool = True
) -> Callable[[str], bool]:
    """A filename filter for one target: what :func:`runs_on` keeps for *platform* (everything
    when None), less the wheels that carry none of *tags* (the target's supported tags), and
    less every file that is not a wheel unless *sdists*.

    No solve for that target can use those files, and they are most of what survives the
    platform cut (a TF + spaCy solve: 19,887 files, of which 4,685 wheels the target can use),
    so not making links of them is the larger part of reading a page. A wheel's answer depends
    on its tag text alone (the last three parts of its name), so it is decided once per tag
    text; a name with no tag text is left to :class:`FileLink`, which refuses it.
    """
    on_platform = runs_on(platform) if platform else None
    wanted = frozenset(tags)
    decided: dict[str, bool] = {}

    def keep(filename: str) -> bool:
        if not filename.endswith(".whl"):
            return sdists
        stem = filename[:-4]
        cut = len(stem)
        for _ in range(3):
            cut = stem.rfind("-", 0, cut)
            if cut < 0:
                return on_platform is None or on_platform(filename)
        text = stem[cut + 1 :]
        known = decided.get(text)
        if known is None:
            known = decided[text] = _usable(filename, text, on_platform, wanted)
        return known

    return keep


def _usable(
    filename: str, text: str, on_platform: Callable[[str], bool] | None, wanted: frozenset[Tag]
) -> bool:
    if on_platform is not None and not on_platform(filename):
        return False
    try:
        return not wanted.isdisjoint(_tags(text))
    except ValueError:  # packaging.tags.InvalidTag: FileLink refuses the name
        return True


def parse_json_page(
    body: bytes | str,
    page_url: str,
    keep: Callable[[str], bool] | None = None,
    index: str | None = None,
) -> tuple[FileLink, ...]:
    """Links of a PEP 691 project page; relative URLs are resolved against *page_url*.

    *keep*, given a filename, says whether to make a link of it (see :func:`runs_on`);
    *index* is recorded in every link (the index the page belongs to).
    """
    from cudaenv.index.jsonpage import files

    links = []
    for entry in files(body, keep):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("filename"), str)
            and isinstance(entry.get("url"), str)
        ):
            raise ValueError(f"a file entry without a filename and a URL: {str(entry)[:80]}")
        if keep is not None and not keep(entry["filename"]):
            continue
        meta = entry.get("core-metadata", entry.get("data-dist-info-metadata", False))
        hashes = entry.get("hashes")
        link = _link(
            filename=entry["filename"],
            url=_absolute(page_url, entry["url"]),
            sha256=hashes.get("sha256") if isinstance(hashes, dict) else None,
            size=entry.get("size"),
            requires_python=_specifiers(entry.get("requires-python")),
            yanked=_yanked(entry.get("yanked")),
            upload_time=_upload_time(entry.get("upload-time")),
            core_metadata=_core_metadata(meta),
            index=index,
        )
        if link is not None:
            links.append(link)
    return tuple(links)


def _html_core_metadata(attrs: Mapping[str, str | None]) -> bool | Mapping[str, str]:
    value = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
    if value is None or value == "false":
        return False
    algo, _, digest = value.partition("=")
    return {algo: digest} if digest else True


def _html_link(
    attrs: Mapping[str, str | None], base: str, index: str | None = None
) -> FileLink | None:
    href = attrs.get("href")
    if not href:
        return None
    url, fragment = urldefrag(urljoin(base, href))
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])  # as pip: %2B is "+"
    match = re.fullmatch(r"sha256=([0-9a-fA-F]{64})", fragment)
    return _link(
        filename=filename,
        url=url,
        sha256=match.group(1).lower() if match else None,
        requires_python=_specifiers(attrs.get("data-requires-python")),
        yanked=(attrs.get("data-yanked") or "") if "data-yanked" in attrs else None,
        core_metadata=_html_core_metadata(attrs),
        index=index,
    )


def parse_html_page(
    body: bytes | str,
    page_url: str,
    keep: Callable[[str], bool] | None = None,
    index: str | None = None,
) -> tuple[FileLink, ...]:
    """Links of a PEP 503 project page (with PEP 592/658/714 data attributes)."""
    from cudaenv.index.anchors import Anchors  # html.parser: only for an HTML page

    parser = Anchors()
    parser.feed(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links = (_html_link(a, base, index) for a in parser.anchors)
    return tuple(x for x in links if x is not None and (keep is None or keep(x.filename)))
