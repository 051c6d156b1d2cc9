"""The carried wheels: packed small here (``--prepare``), rebuilt into wheels there.

PyPI's spaCy 3.8 wheel alone is 34 MiB and blis's 14 MiB, more than the 40 MiB the check may
carry for spaCy: a wheel is a zip whose members are compressed one by one (deflate), so the
same code in many extension modules is compressed again and again. Carried is instead one
``carried.tar.xz`` of every wheel's members (LZMA over all of them at once: about 35 MiB for
spaCy's 47 wheels and cudaenv's own dependencies, against 62 MiB of wheels), with
``manifest.json`` naming each wheel, its sha256 on the index, and its members in order.

There each wheel is rebuilt from its members, and every member is checked against the wheel's
own ``RECORD`` (which came from the index's wheel, checked against the lock's sha256 when it
was downloaded here), so the rebuilt wheel installs exactly the files the index's wheel holds.
Its own sha256 differs (members stored, not deflated): the lock made there records the
rebuilt file's.

Standard library only: the first stage of ``scripts/gpu-check`` runs this with any Python 3.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["ARCHIVE", "MANIFEST", "CarryError", "unpack"]

ARCHIVE = "carried.tar.xz"
MANIFEST = "manifest.json"


class CarryError(Exception):
    """The carried folder is incomplete or does not match its manifest."""


def _record(text: str) -> dict[str, str]:
    return {row[0]: row[1] for row in csv.reader(io.StringIO(text)) if len(row) > 1 and row[1]}


def _entry(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _member_path(root: Path, wheel: str, name: str) -> Path:
    path = PurePosixPath(wheel, name)
    if path.is_absolute() or ".." in path.parts:
        raise CarryError(f"{wheel}: member {name!r} leaves the wheel")
    return root / path


def _rebuild(root: Path, wheel: dict, out_dir: Path) -> Path:
    """One wheel from its unpacked members, each checked against the wheel's RECORD."""
    names = wheel["members"]
    record_name = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
    if record_name is None:
        raise CarryError(f"{wheel['filename']} has no RECORD in the manifest")
    record = _record(_member_path(root, wheel["filename"], record_name).read_text())
    target = out_dir / wheel["filename"]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, date_time, attr in zip(names, wheel["dates"], wheel["modes"], strict=True):
            data = _member_path(root, wheel["filename"], name).read_bytes()
            expected = record.get(name)
            if expected and expected.startswith("sha256=") and _entry(data) != expected:
                raise CarryError(f"{wheel['filename']}: {name} is not what its RECORD says")
            info = zipfile.ZipInfo(name, tuple(date_time))
            info.external_attr = attr
            zf.writestr(info, data)
    return target


def manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise CarryError(f"{folder / MANIFEST} cannot be read: {e}") from e


def unpack(folder: Path, out_dir: Path) -> dict[str, list[Path]]:
    """Rebuild every carried wheel into ``out_dir``; {group: wheels} (``tool``: cudaenv's own
    dependencies; ``spacy``: spaCy and what it needs). Cost: decompressing ~215 MB."""
    found = manifest(folder)
    members = out_dir / "members"
    members.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(folder / ARCHIVE, "r:xz") as tar:
            tar.extractall(members, filter="data")
    except (OSError, tarfile.TarError) as e:
        raise CarryError(f"{folder / ARCHIVE} cannot be unpacked: {e}") from e
    wheels = out_dir / "wheels"
    wheels.mkdir(exist_ok=True)
    groups: dict[str, list[Path]] = {}
    for wheel in found["wheels"]:
        built = _rebuild(members, wheel, wheels)
        for group in wheel["groups"]:
            groups.setdefault(group, []).append(built)
    return groups
