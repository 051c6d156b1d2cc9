"""Build real, installable wheels for tests, including NVIDIA-style wheels with loadable libraries.

Tests of the solver, the lock, the installer and the activation scripts need wheels that pip and
uv accept (valid ``METADATA``, ``WHEEL`` and a ``RECORD`` with sha256 entries) and, for the NVIDIA
runtime wheels, shared libraries that ``dlopen`` really loads by soname. The libraries are compiled
from a tiny C file with the system C compiler once per soname and cached on disk for the session.

Layout of the NVIDIA wheels follows ``nvidia_cuda_runtime_cu12-12.2.140-py3-none-manylinux1_x86_64``
as published: ``nvidia/__init__.py``, ``nvidia/<component>/__init__.py``,
``nvidia/<component>/lib/__init__.py`` and ``nvidia/<component>/lib/<soname>``,
``Root-Is-Purelib: true`` with a manylinux platform tag. Newer NVIDIA wheels drop the
``__init__.py`` files (a namespace package); ``namespace=True`` builds that layout.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.tags import parse_tag
from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "NVIDIA_TAG",
    "build_shared_library",
    "make_nvidia_wheel",
    "make_sdist",
    "make_wheel",
    "nvidia_component",
]

NVIDIA_TAG = "py3-none-manylinux1_x86_64"
_DATE = (2020, 1, 1, 0, 0, 0)  # fixed: the same inputs give the same bytes and the same sha256
_LIB_SOURCE = """\
const char *cudaenv_fake_soname(void) { return "%(soname)s"; }
int cudaenv_fake_version(void) { return %(number)d; }
"""


def _escape(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def _metadata(
    name: str,
    version: str,
    requires_dist: Iterable[str],
    requires_python: str | None,
    provides_extra: Iterable[str],
) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines.append(f"Summary: test wheel {name} {version} built by cudaenv's tests")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in provides_extra]
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return ("\n".join(lines) + "\n\n").encode()


def _wheel_file(tag: str, purelib: bool) -> bytes:
    lines = ["Wheel-Version: 1.0", "Generator: cudaenv-tests (1.0)"]
    lines.append(f"Root-Is-Purelib: {'true' if purelib else 'false'}")
    lines += [f"Tag: {t}" for t in sorted(str(t) for t in parse_tag(tag))]
    return ("\n".join(lines) + "\n").encode()


def _write_zip(path: Path, members: Mapping[str, bytes]) -> None:
    tmp = path.with_suffix(".whl.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in members.items():
            info = zipfile.ZipInfo(arcname, date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (
                0o755 if arcname.endswith((".so", ".sh")) or ".so." in arcname else 0o644
            ) << 16
            zf.writestr(info, data)
    os.replace(tmp, path)


def make_wheel(
    dest_dir: str | os.PathLike[str],
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    provides_extra: Iterable[str] = (),
    tag: str = "py3-none-any",
    files: Mapping[str, bytes | str] | None = None,
    purelib: bool = True,
) -> Path:
    """Write ``NAME-VERSION-TAG.whl`` into *dest_dir* and return its path.

    Without *files*, the wheel holds one importable module ``<name>/__init__.py`` that sets
    ``__version__``. Strings in *files* are encoded as UTF-8.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    escaped = _escape(name)
    if files is None:
        files = {f"{escaped}/__init__.py": f'__version__ = "{version}"\n'}
    dist_info = f"{escaped}-{version}.dist-info"
    members: dict[str, bytes] = {
        arc: data.encode() if isinstance(data, str) else bytes(data) for arc, data in files.items()
    }
    members[f"{dist_info}/METADATA"] = _metadata(
        name, version, requires_dist, requires_python, provides_extra
    )
    members[f"{dist_info}/WHEEL"] = _wheel_file(tag, purelib)
    record = [f"{arc},{_record_hash(data)},{len(data)}" for arc, data in members.items()]
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = dest / f"{escaped}-{version}-{tag}.whl"
    _write_zip(path, members)
    return path


def make_sdist(
    dest_dir: str | os.PathLike[str],
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
) -> Path:
    """Write ``NAME-VERSION.tar.gz`` (PKG-INFO, pyproject.toml and a ``setup.py`` that would
    create ``SDIST-CODE-RAN`` in the working directory if anything ever executed it)."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    stem = f"{_escape(name)}-{version}"
    members = {
        f"{stem}/PKG-INFO": _metadata(name, version, requires_dist, None, ()),
        f"{stem}/pyproject.toml": f'[project]\nname = "{name}"\nversion = "{version}"\n'.encode(),
        f"{stem}/setup.py": b"open('SDIST-CODE-RAN', 'w').close()\n",
    }
    path = dest / f"{stem}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for arc, data in members.items():
            info = tarfile.TarInfo(arc)
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def nvidia_component(name: str) -> str:
    """``nvidia-cuda-runtime-cu12`` -> ``cuda_runtime``, ``nvidia-cudnn-cu11`` -> ``cudnn``."""
    stem = canonicalize_name(name)
    stem = re.sub(r"^nvidia-", "", stem)
    stem = re.sub(r"-cu\d+$", "", stem)
    return stem.replace("-", "_")


def _cache_dir() -> Path:
    root = os.environ.get("CUDAENV_TEST_LIB_CACHE") or os.path.join(
        tempfile.gettempdir(), f"cudaenv-test-libs-{os.getuid()}"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_shared_library(
    soname: str, *, number: int = 0, needed: Iterable[str] = (), runpath: Iterable[str] = ()
) -> bytes:
    """Return the bytes of a real ELF shared library whose ``DT_SONAME`` is *soname*.

    It exports ``const char *cudaenv_fake_soname(void)`` (returns *soname*) and
    ``int cudaenv_fake_version(void)`` (returns *number*); with *needed*, its ``DT_NEEDED``
    names those sonames (each a library built here), as a framework's extension module names
    the CUDA libraries it links against; with *runpath*, its ``DT_RUNPATH`` holds those
    entries (``$ORIGIN/../nvidia/cudnn/lib``, as TensorFlow's libraries carry). Compiled once
    per (soname, number, needed, runpath) and cached under ``$TMPDIR/cudaenv-test-libs-UID``
    (or ``$CUDAENV_TEST_LIB_CACHE``).
    """
    for name in (soname, *needed):
        if not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
            raise ValueError(f"not a plain soname: {name!r}")
    needed, runpath = tuple(needed), tuple(runpath)
    if any(":" in entry for entry in runpath):
        raise ValueError(f"a RUNPATH entry holds ':': {runpath!r}")
    source = _LIB_SOURCE % {"soname": soname, "number": number}
    extra = "\0".join(needed) + ("\1" + ":".join(runpath) if runpath else "")
    key = hashlib.sha256((source + extra).encode()).hexdigest()[:16]
    cached = _cache_dir() / f"{soname}.{key}"
    if cached.is_file():
        return cached.read_bytes()
    compiler = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("building test shared libraries needs a C compiler (gcc or cc)")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "lib.c")
        src.write_text(source)
        out = Path(tmp, soname)
        links = []
        for name in needed:  # linked by path: DT_NEEDED takes each one's DT_SONAME
            links.append(Path(tmp, "needed", name))
            links[-1].parent.mkdir(exist_ok=True)
            links[-1].write_bytes(build_shared_library(name))
        cmd = [compiler, "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(out), str(src)]
        cmd += ["-Wl,--no-as-needed", *map(str, links)] if links else []
        cmd += [f"-Wl,--enable-new-dtags,-rpath,{':'.join(runpath)}"] if runpath else []
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        data = out.read_bytes()
        part = cached.with_name(cached.name + f".{os.getpid()}.part")
        part.write_bytes(data)
        os.replace(part, cached)
    return data


def make_nvidia_wheel(
    dest_dir: str | os.PathLike[str],
    name: str,
    version: str,
    *,
    libs: Iterable[str] = (),
    component: str | None = None,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    tag: str = NVIDIA_TAG,
    namespace: bool = False,
    extra_files: Mapping[str, bytes | str] | None = None,
    needed: Mapping[str, Iterable[str]] | None = None,
) -> Path:
    """Build an NVIDIA runtime wheel with real libraries at ``nvidia/<component>/lib/<soname>``.

    ``make_nvidia_wheel(d, "nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])``.
    *component* defaults to :func:`nvidia_component` of *name*. Each library's
    ``cudaenv_fake_version()`` returns the version's digits up to the first dot (``12``).
    ``needed`` gives a library its DT_NEEDED sonames: ``{"libcublas.so.12":
    ["libcublasLt.so.12"]}``.
    """
    comp = component or nvidia_component(name)
    number = int(re.match(r"\d+", version).group()) if re.match(r"\d+", version) else 0
    files: dict[str, bytes | str] = {}
    if not namespace:
        files["nvidia/__init__.py"] = b""
        files[f"nvidia/{comp}/__init__.py"] = b""
        files[f"nvidia/{comp}/lib/__init__.py"] = b""
    for soname in libs:
        deps = (needed or {}).get(soname, ())
        files[f"nvidia/{comp}/lib/{soname}"] = build_shared_library(
            soname, number=number, needed=deps
        )
    files.update(extra_files or {})
    return make_wheel(
        dest_dir,
        name,
        version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        tag=tag,
        files=files,
    )
