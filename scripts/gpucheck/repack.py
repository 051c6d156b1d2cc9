"""Wheels made from distributions installed on this machine, so that nothing large travels.

The lent machine's image already holds the CUDA 13 NVIDIA wheels, CuPy and NumPy (gigabytes);
the check needs them as wheels, to make a cudaenv environment from a wheelhouse offline. An
installed distribution lists every file it installed, with its sha256, in ``RECORD``: the wheel
is those files under site-packages (``.pyc`` caches and files outside site-packages, such as
console scripts the installer writes again, left out), its ``*.dist-info`` with the ``WHEEL``
file's tags, and a new ``RECORD``. Every file's bytes are checked against the installed
``RECORD`` as they are copied, so a wheel holds exactly what the distribution installed.
Members are stored, not compressed: the wheel is unpacked again a minute later on the same disk.

Standard library only: the first stage of ``scripts/gpu-check`` runs this with any Python 3
(the image's), before cudaenv's own dependencies are there.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

__all__ = ["Dist", "RepackError", "installed", "wheel_name", "wheel_of"]

_SKIP_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
_CHUNK = 1 << 20


class RepackError(Exception):
    """An installed distribution that cannot be made into a wheel (a file changed or missing)."""


@dataclass(frozen=True)
class Dist:
    """One installed distribution: canonical name, version, and its ``*.dist-info`` folder."""

    name: str
    version: str
    info: Path

    @property
    def site(self) -> Path:
        return self.info.parent

    def metadata(self) -> str:
        return (self.info / "METADATA").read_text(errors="replace")

    def requires(self) -> list[str]:
        """Its ``Requires-Dist`` lines, as written."""
        return HeaderParser().parsestr(self.metadata()).get_all("Requires-Dist") or []


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(site: Path) -> dict[str, Dist]:
    """Every distribution in ``site`` (a site-packages folder), by canonical name."""
    found: dict[str, Dist] = {}
    for info in sorted(site.glob("*.dist-info")):
        try:
            head = HeaderParser().parsestr((info / "METADATA").read_text(errors="replace"))
        except OSError:
            continue
        name, version = head.get("Name"), head.get("Version")
        if name and version:
            found.setdefault(canonical(name), Dist(canonical(name), version.strip(), info))
    return found


def wheel_name(dist: Dist) -> str:
    """The wheel's file name: name and version escaped, the ``WHEEL`` file's tags compressed."""
    head = HeaderParser().parsestr((dist.info / "WHEEL").read_text(errors="replace"))
    tags = [t.strip().split("-") for t in head.get_all("Tag") or [] if t.count("-") == 2]
    if not tags:
        raise RepackError(f"{dist.info / 'WHEEL'} names no tag")
    parts = [".".join(dict.fromkeys(t[i] for t in tags)) for i in range(3)]
    name = re.sub(r"[-_.]+", "_", dist.name)
    return f"{name}-{dist.version.replace('-', '_')}-{'-'.join(parts)}.whl"


def _record(dist: Dist) -> list[tuple[str, str]]:
    """(path relative to site-packages, its sha256 entry) for every file worth carrying."""
    rows = []
    text = (dist.info / "RECORD").read_text(errors="replace")
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0]:
            continue
        path = row[0]
        if path.startswith(("/", "..")) or "__pycache__/" in path or path.endswith(".pyc"):
            continue
        if Path(path).parent == Path(dist.info.name) and Path(path).name in _SKIP_INFO:
            continue
        rows.append((path, row[1] if len(row) > 1 else ""))
    return rows


def _digest(digest: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _copy(
    zf: zipfile.ZipFile, source: Path, arcname: str, expected: str, strict: bool
) -> tuple[str, int]:
    """Stream ``source`` into the wheel; its RECORD entry; RepackError if it is not what the
    installed RECORD says (``strict``)."""
    info = zipfile.ZipInfo.from_file(source, arcname)
    info.compress_type = zipfile.ZIP_STORED
    hasher, size = hashlib.sha256(), 0
    with source.open("rb") as f, zf.open(info, "w", force_zip64=True) as w:
        while chunk := f.read(_CHUNK):
            hasher.update(chunk)
            w.write(chunk)
            size += len(chunk)
    entry = _digest(hasher.digest())
    if strict and expected.startswith("sha256=") and expected != entry:
        raise RepackError(f"{source} changed since it was installed (its RECORD says otherwise)")
    return entry, size


def wheel_of(dist: Dist, out_dir: Path, *, strict: bool = True) -> Path:
    """Write ``dist`` as a wheel into ``out_dir``; return its path. ``strict``: a file that is
    no longer what the installed RECORD says is an error (else it is taken as it is now, and
    the new RECORD says so). Cost: one read of every file it installed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / wheel_name(dist)
    rows = []
    part = target.with_name(target.name + ".part")
    with zipfile.ZipFile(part, "w", allowZip64=True) as zf:
        for path, expected in _record(dist):
            source = dist.site / path
            if not source.is_file():
                raise RepackError(f"{source} is in {dist.name}'s RECORD but not on disk")
            entry, size = _copy(zf, source, path, expected, strict)
            rows.append((path, entry, str(size)))
        record = f"{dist.info.name}/RECORD"
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([*rows, (record, "", "")])
        zf.writestr(record, buffer.getvalue())
    part.replace(target)
    return target
