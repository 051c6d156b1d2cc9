"""``scripts/gpu-check --prepare DIR``, here, where the index is reachable: what the lent machine
lacks, packed into DIR (:mod:`.carry`), measured against the limits.

What is carried is solved with cudaenv's own solver for the lent machines' image (Python 3.12,
manylinux x86_64) and downloaded hash-checked by its wheelhouse code: cudaenv's runtime
dependencies but uv (the installer falls back to pip; uv's wheel alone would take half the
budget), and spaCy 3.8 with everything it needs, solved against the image's NumPy (CuPy's, which
must stay the image's) and carried without it. The machine's NVIDIA wheels, CuPy and NumPy are
not carried: they are made into wheels there (:mod:`.repack`).
"""

from __future__ import annotations

import io
import json
import lzma
import tarfile
import tempfile
import time
import zipfile
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from gpucheck.carry import ARCHIVE, MANIFEST

if TYPE_CHECKING:
    from cudaenv.resolution import Pin, Resolution

__all__ = ["IMAGE", "LIMIT", "SPACY_LIMIT", "pack", "prepare", "tool_requirements"]

MiB = 1024 * 1024
LIMIT = 48 * MiB  # everything carried (the device takes 64 MiB a call, the tree included)
SPACY_LIMIT = 40 * MiB  # spaCy's share
# What the lent machines' image was seen to hold (the device's own package list): Python 3.12
# with NumPy 2.5.2 beside cupy-cuda13x 14.2.0. The carried spaCy is solved to run on that NumPy.
IMAGE = {"python": "3.12", "platform": "manylinux_2_28_x86_64", "numpy": "2.5.2"}
SPACY = "spacy==3.8.*"
FROM_IMAGE = frozenset({"numpy"})  # solved with, never carried
NOT_CARRIED = frozenset({"uv"})  # cudaenv installs with pip where no uv exists


def say(text: str) -> None:
    print(f"gpu-check --prepare: {text}", flush=True)


def tool_requirements() -> list[str]:
    """cudaenv's own runtime requirements on the image's Python, less uv (from cudaenv's
    installed metadata, so they follow pyproject.toml)."""
    from packaging.requirements import Requirement

    from cudaenv.request import Target

    environment = dict(Target.from_strings(IMAGE["python"], IMAGE["platform"]).marker_environment())
    out = []
    for text in metadata.requires("cudaenv") or []:
        req = Requirement(text)
        marker = req.marker
        if req.name in NOT_CARRIED or (marker is not None and "extra" in str(marker)):
            continue
        if marker is None or marker.evaluate(environment):
            out.append(f"{req.name}{req.specifier}")  # the marker holds on the image
    return out


def _closure(resolution: Resolution, roots: set[str]) -> set[str]:
    """The names ``roots`` need in ``resolution``, through the lock's recorded edges."""
    pins = {p.name: p for p in resolution.pins}
    seen, todo = set(), [r for r in roots if r in pins]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [d for d in pins[name].dependencies or () if d in pins]
    return seen


def solve(spacy: str = SPACY, numpy: str = IMAGE["numpy"]) -> Resolution:
    from packaging.requirements import Requirement

    from cudaenv.machine import Overrides
    from cudaenv.pipeline import steps
    from cudaenv.request import Request, Target

    wanted = [spacy, *tool_requirements()]
    request = Request(
        frameworks=(),
        target=Target.from_strings(IMAGE["python"], IMAGE["platform"]),
        gpu=False,
        packages=tuple(Requirement(x) for x in wanted),
        fixed=(Requirement(f"numpy=={numpy}"),),
    )
    return steps.solve(request, Overrides(), steps.IndexOptions()).resolution


def groups(resolution: Resolution) -> dict[str, list[str]]:
    """Which carried package serves whom: ``tool`` (cudaenv itself), ``spacy``, or both."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    roots = {canonicalize_name(Requirement(t).name) for t in tool_requirements()}
    tool = _closure(resolution, roots)
    spacy = _closure(resolution, {canonicalize_name("spacy")})
    out: dict[str, list[str]] = {}
    for pin in resolution.pins:
        if pin.name in FROM_IMAGE:
            continue
        out[pin.name] = [g for g, names in (("tool", tool), ("spacy", spacy)) if pin.name in names]
    return out


def download(resolution: Resolution, names: set[str], folder: Path) -> list[Pin]:
    from cudaenv import wheelhouse
    from cudaenv.net.http import Http

    pins = tuple(p for p in resolution.pins if p.name in names)
    url = resolution.index_url or "https://pypi.org/simple"
    http = Http(url, connections=4)
    try:
        wheelhouse.download(replace(resolution, pins=pins), folder, http=http)
    finally:
        http.close()
    return list(pins)


def pack(wheels: list[tuple[Path, str, list[str]]], folder: Path) -> dict:
    """``carried.tar.xz`` of every wheel's members and ``manifest.json``; (path, sha256,
    groups) per wheel. Members are ordered by file type so that alike files sit together
    inside LZMA's window. Cost: minutes (LZMA at its strongest preset)."""
    entries, members = [], []
    for path, sha256, in_groups in wheels:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            entries.append(
                {
                    "filename": path.name,
                    "sha256": sha256,
                    "size": path.stat().st_size,
                    "groups": in_groups,
                    "members": [i.filename for i in infos],
                    "dates": [list(i.date_time) for i in infos],
                    "modes": [i.external_attr for i in infos],
                }
            )
            members += [(Path(i.filename).suffix, path.name, i.filename, zf.read(i)) for i in infos]
    members.sort(key=lambda m: (m[0], m[1], m[2]))
    folder.mkdir(parents=True, exist_ok=True)
    preset = 9 | lzma.PRESET_EXTREME
    with tarfile.open(folder / ARCHIVE, "w:xz", preset=preset) as tar:
        for _, wheel, name, data in members:
            info = tarfile.TarInfo(f"{wheel}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, fileobj=io.BytesIO(data))
    found = {"format": 1, "image": IMAGE, "wheels": entries}
    (folder / MANIFEST).write_text(json.dumps(found, indent=1))
    return found


def measure(folder: Path, found: dict) -> dict[str, int]:
    archive = (folder / ARCHIVE).stat().st_size
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    raw = {"spacy": 0, "tool": 0}
    for wheel in found["wheels"]:
        for group in wheel["groups"]:
            raw[group] += wheel["size"]
    return {"archive": archive, "carried": total, "wheels_spacy": raw["spacy"],
            "wheels_tool": raw["tool"]}  # fmt: skip


def prepare(folder: Path) -> int:
    started = time.monotonic()
    say("solving spaCy 3.8 and cudaenv's dependencies for Python 3.12, manylinux x86_64")
    resolution = solve()
    serves = groups(resolution)
    with tempfile.TemporaryDirectory(prefix="gpu-check-prepare-") as tmp:
        say(f"downloading {len(serves)} wheels (hash-checked)")
        pins = download(resolution, set(serves), Path(tmp))
        wheels = [(Path(tmp) / p.wheel.filename, p.wheel.sha256, serves[p.name]) for p in pins]
        say("packing their members with LZMA (a few minutes)")
        found = pack(wheels, folder)
    for _ in range(3):  # the manifest holds the sizes, its own included: until they hold
        sizes = measure(folder, found)
        if found.get("sizes") == sizes:
            break
        found["sizes"] = sizes
        (folder / MANIFEST).write_text(json.dumps(found, indent=1))
    say(
        f"{folder}: {sizes['carried'] / MiB:.1f} MiB carried ({len(found['wheels'])} wheels: "
        f"{sizes['wheels_spacy'] / MiB:.1f} MiB of spaCy's and {sizes['wheels_tool'] / MiB:.1f} "
        f"MiB of cudaenv's as wheels) in {time.monotonic() - started:.0f} s"
    )
    if sizes["carried"] > LIMIT:
        say(f"over the {LIMIT // MiB} MiB limit")
        return 2
    if sizes["carried"] > SPACY_LIMIT:
        say(f"note: over the {SPACY_LIMIT // MiB} MiB spaCy may take (cudaenv's share included)")
    return 0
