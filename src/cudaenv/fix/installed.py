"""What an environment someone else made holds, read from its ``*.dist-info`` folders.

``cudaenv fix`` treats the environment as the lock: every installed distribution is a pin. So
it needs more of each than ``verify`` does: the wheel tags it was built for (``WHEEL``), the
sha256 of its ``METADATA`` (to tell the index's file from another build of the same version),
the URL and hash of the file it came from where the installer recorded one (PEP 610
``direct_url.json``: cudaenv's own installs, ``pip install URL``), what it requires, and
whether it is one of the packages ``fix`` may change (:func:`is_free`: the NVIDIA wheels, CuPy,
the frameworks' CUDA plugins) or one it holds where it is. Nothing is imported or run.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag, parse_tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from cudaenv.resolution import WheelFile
from cudaenv.verify.installed import scan

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["FRAMEWORKS", "Dist", "cuda_major", "is_free", "read"]

# The frameworks whose GPU use fix repairs, in the solver's order (cudaenv.request).
FRAMEWORKS = ("tensorflow", "torch", "jax", "spacy")
# What fix may add, replace or remove: NVIDIA's wheels (cuda-toolkit is their meta package),
# CuPy's builds, JAX's CUDA plugins and TensorRT (TensorFlow's and-cuda extra). Everything
# else stays at the version installed.
_FREE = re.compile(
    r"^(nvidia-.+|cuda-toolkit|cupy|cupy-cuda\d+x?|jax-cuda\d+-(plugin|pjrt)|tensorrt(-.+)?)$"
)
_MAJOR = re.compile(r"^(?:nvidia-.+-cu|cupy-cuda|jax-cuda)(\d+)(?:x|-plugin|-pjrt)?$")


def is_free(name: str) -> bool:
    """Whether ``fix`` may change package ``name`` (else it holds it at its version)."""
    return bool(_FREE.match(canonicalize_name(name)))


def cuda_major(name: str) -> int | None:
    """The CUDA major a package is built for, from its name (``nvidia-cudnn-cu11`` -> 11,
    ``cupy-cuda12x`` -> 12, ``jax-cuda12-plugin`` -> 12); None where the name does not say."""
    m = _MAJOR.match(canonicalize_name(name))
    return int(m.group(1)) if m else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Dist:
    """One installed distribution, as ``fix`` needs to know it."""

    name: NormalizedName
    version: Version
    folder: Path  # its .dist-info
    installer: str | None  # INSTALLER: "uv", "pip", "conda"...
    tags: frozenset[Tag]  # WHEEL's Tag lines: the wheel it came from
    build: str | None  # WHEEL's Build line
    metadata_sha256: str | None  # of its METADATA, as PEP 658 hashes the index's copy
    direct: WheelFile | None  # the file it came from, where direct_url.json records one
    local: bool  # direct_url.json names a folder (an editable or local tree): no index has it
    requires: tuple[Requirement, ...]

    @property
    def free(self) -> bool:
        return is_free(self.name)

    def needs(self, environment: Mapping[str, str]) -> tuple[Requirement, ...]:
        """Its requirements that apply in ``environment`` (a marker environment; no extra)."""
        env = {**environment, "extra": ""}
        return tuple(r for r in self.requires if r.marker is None or r.marker.evaluate(env))


def read(site_packages: Path) -> tuple[Dist, ...]:
    """Every distribution in ``site_packages`` with a valid version, sorted by name."""
    out = []
    for found in scan(site_packages):
        if found.path.suffix != ".dist-info":
            continue  # an .egg-info (setup.py develop): nothing to read its wheel from
        try:
            version = Version(found.version)
        except InvalidVersion:
            continue
        out.append(_dist(found.name, version, found.path, found.installer))
    return tuple(out)


def _dist(name: NormalizedName, version: Version, folder: Path, installer: str | None) -> Dist:
    tags, build = _wheel(folder)
    direct, local = _direct_url(folder, name)
    return Dist(
        name=name,
        version=version,
        folder=folder,
        installer=installer,
        tags=tags,
        build=build,
        metadata_sha256=_sha256(folder / "METADATA"),
        direct=direct,
        local=local,
        requires=_requires(folder / "METADATA"),
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _wheel(folder: Path) -> tuple[frozenset[Tag], str | None]:
    head = email.parser.HeaderParser().parsestr(_text(folder / "WHEEL"))
    tags: set[Tag] = set()
    for value in head.get_all("Tag") or ():
        tags |= parse_tag(str(value).strip())
    build = head.get("Build")
    return frozenset(tags), str(build).strip() if build else None


def _requires(metadata: Path) -> tuple[Requirement, ...]:
    head = _text(metadata).split("\n\n", 1)[0]
    out = []
    for raw in email.parser.HeaderParser().parsestr(head).get_all("Requires-Dist") or ():
        try:
            out.append(Requirement(str(raw).strip()))
        except InvalidRequirement:
            continue
    return tuple(out)


def _direct_url(folder: Path, name: str) -> tuple[WheelFile | None, bool]:
    """(the wheel's URL and sha256, whether it came from a folder), from PEP 610's
    ``direct_url.json``; (None, False) for an install from an index, or from a local file (an
    index may have the same file: it is looked for there)."""
    try:
        data = json.loads((folder / "direct_url.json").read_text(encoding="utf-8"))
        url = str(data["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, False
    if "dir_info" in data:
        return None, True
    if url.startswith("file:"):
        return None, False
    info = data.get("archive_info") or {}
    hashes = info.get("hashes") or {}
    sha = hashes.get("sha256") or _legacy_hash(info.get("hash"))
    filename = url.split("#", 1)[0].rsplit("/", 1)[-1]
    if not sha or not filename.endswith(".whl") or not _names(filename, name):
        return None, False
    return WheelFile(filename=filename, url=url.split("#", 1)[0], sha256=str(sha)), False


def _legacy_hash(text: object) -> str | None:
    """``archive_info.hash`` of older installers: ``sha256=<hex>``."""
    if isinstance(text, str) and text.startswith("sha256="):
        return text.removeprefix("sha256=")
    return None


def _names(filename: str, name: str) -> bool:
    return canonicalize_name(filename.split("-", 1)[0]) == canonicalize_name(name)
