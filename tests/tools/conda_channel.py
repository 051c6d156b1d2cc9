"""A local conda channel (``file://``) with python and pip packages, for a real ``conda create``.

conda-forge cannot be reached from the test machines, so the tests build the two packages that
cudaenv's conda backend asks for. They are real conda packages (``.tar.bz2`` with
``info/index.json`` and ``info/paths.json``, listed in ``repodata.json``), solved, fetched,
verified and linked by conda itself. Only the interpreter is borrowed: the ``python`` package
makes its prefix a venv-shaped environment of an interpreter already on this machine (a
``pyvenv.cfg`` plus a post-link script that links ``bin/python`` to it), with its own
``lib/pythonX.Y/site-packages``. The ``pip`` package is the pip wheel bundled with ``ensurepip``,
unpacked into that site-packages.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import sys
import tarfile
import time
import zipfile
from pathlib import Path

__all__ = ["conda_subdir", "make_channel"]

_POST_LINK = """#!/bin/sh
# made by cudaenv's tests: link the borrowed interpreter into the new prefix
ln -sf {python} "$PREFIX/bin/python"
ln -sf python "$PREFIX/bin/python3"
ln -sf python "$PREFIX/bin/python{minor}"
"""


def conda_subdir() -> str:
    machine = platform.machine()
    return {"x86_64": "linux-64", "aarch64": "linux-aarch64"}.get(machine, f"linux-{machine}")


def _tar_bz2(files: dict[str, bytes], index: dict[str, object]) -> bytes:
    paths = [
        {
            "_path": name,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        for name, data in sorted(files.items())
    ]
    meta = {
        "info/index.json": json.dumps(index).encode(),
        "info/files": "".join(f"{n}\n" for n in sorted(files)).encode(),
        "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}).encode(),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:bz2") as tar:
        for name, data in {**meta, **files}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _python_files(python: Path, version: str) -> dict[str, bytes]:
    minor = ".".join(version.split(".")[:2])
    cfg = f"home = {python.parent}\ninclude-system-site-packages = false\nversion = {version}\n"
    return {
        "pyvenv.cfg": cfg.encode(),
        f"lib/python{minor}/site-packages/README.cudaenv-tests": b"site-packages of the env\n",
        "bin/.python-post-link.sh": _POST_LINK.format(python=python, minor=minor).encode(),
    }


def _pip_files(minor: str) -> tuple[str, dict[str, bytes]]:
    import ensurepip

    bundled = Path(ensurepip.__file__).parent / "_bundled"
    wheel = next(bundled.glob("pip-*.whl"))
    version = wheel.name.split("-")[1]
    site = f"lib/python{minor}/site-packages"
    with zipfile.ZipFile(wheel) as zf:
        files = {f"{site}/{n}": zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    return version, files


def _package(
    folder: Path, name: str, version: str, files: dict[str, bytes], depends: list[str]
) -> tuple[str, dict[str, object]]:
    """Write one ``.tar.bz2`` into the subdir ``folder``; return its repodata entry."""
    index = {
        "name": name,
        "version": version,
        "build": "0",
        "build_number": 0,
        "depends": depends,
        "subdir": folder.name,
        "platform": "linux",
        "timestamp": int(time.time() * 1000),
    }
    data = _tar_bz2(files, index)
    filename = f"{name}-{version}-0.tar.bz2"
    (folder / filename).write_bytes(data)
    record = {
        **index,
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    return filename, record


def make_channel(root: Path, python: Path | None = None) -> str:
    """Write the channel under ``root``; return its ``file://`` URL. ``python`` defaults to
    the interpreter running the tests (resolved, so the link outlives a venv's symlink)."""
    python = Path(python or sys.executable).resolve()
    version = ".".join(str(n) for n in sys.version_info[:3])
    minor = ".".join(version.split(".")[:2])
    folder = root / conda_subdir()
    pip_version, pip_files = _pip_files(minor)
    (root / "noarch").mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    (root / "noarch" / "repodata.json").write_text(
        json.dumps({"info": {"subdir": "noarch"}, "packages": {}, "repodata_version": 1})
    )
    records = dict(
        [
            _package(folder, "python", version, _python_files(python, version), []),
            _package(folder, "pip", pip_version, pip_files, [f"python {minor}.*"]),
        ]
    )
    repodata = {
        "info": {"subdir": folder.name},
        "packages": records,
        "packages.conda": {},
        "repodata_version": 1,
    }
    (folder / "repodata.json").write_text(json.dumps(repodata))
    return root.resolve().as_uri()
