"""The environment cudaenv makes on the machine, offline: wheelhouse, lock, create.

1. **wheelhouse**: the carried wheels (rebuilt by :mod:`.carry`) and, beside them, wheels made
   from the machine's own distributions (:mod:`.plan` says which, :mod:`.repack` makes them):
   its NVIDIA libraries, CuPy and NumPy are never downloaded.
2. **lock**: cudaenv's own solver, with no index and the wheelhouse as find-links, for the
   machine's Python and glibc, every root at the version the wheelhouse holds; written as
   cudaenv writes every lock.
3. **create**: ``cudaenv create --from LOCK --find-links WHEELHOUSE --offline -p ENV``, exactly
   the command a node without network runs.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from gpucheck import plan as planning
from gpucheck import repack
from gpucheck.context import json_of
from gpucheck.report import Check

if TYPE_CHECKING:
    from pathlib import Path

    from gpucheck.context import Context

__all__ = ["create", "lock", "wheelhouse"]


def _image(ctx: Context) -> dict[str, repack.Dist]:
    """The distributions of the machine's own Python environment."""
    from cudaenv.doctor import env_for_python

    return repack.installed(env_for_python(ctx.python).site_packages)


def _runtime_wheels() -> dict[str, list[str]]:
    """CuPy distribution -> the runtime wheels its recipe names (recipes/cupy.toml)."""
    from cudaenv.knowledge import load

    return {str(c.name): [r.name for r in c.runtime_wheels] for c in load().cupy}


def wheelhouse(ctx: Context) -> Check:
    house = ctx.work / "wheelhouse"
    house.mkdir(exist_ok=True)
    image = _image(ctx)
    carried = planning.carried_metadata(ctx.carried.get("spacy", []))
    wanted = planning.roots(image, _runtime_wheels())
    wanted |= {name: version for name, (version, _) in carried.items() if name == "spacy"}
    from cudaenv.doctor.elsewhere import python_version
    from cudaenv.request import Target

    major, minor = python_version(ctx.python) or (3, 12)
    python = f"{major}.{minor}"
    environment = dict(Target.from_strings(python, None).marker_environment())
    found = planning.plan(wanted, image, carried, environment)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda d: repack.wheel_of(d, house), found.from_image))
    size = sum(p.stat().st_size for p in made)
    ctx.state.update(house=house, plan=found, python_version=python)
    figures = {
        "roots": found.roots,
        "from_image": {d.name: d.version for d in found.from_image},
        "carried": len(ctx.carried.get("spacy", [])),
        "repacked_gb": round(size / 1e9, 2),
        "repack_seconds": round(time.monotonic() - started, 1),
    }
    if found.missing:
        return Check(
            "wheelhouse", False, f"nothing has: {', '.join(found.missing)}", figures=figures
        )
    said = f"{len(made)} wheels from the machine ({figures['repacked_gb']} GB)"
    said += f", {figures['carried']} carried"
    return Check("wheelhouse", True, said, figures=figures)


def _link_carried(ctx: Context, house: Path) -> None:
    """The carried wheels beside the repacked ones: ``--find-links`` takes one folder."""
    for wheel in ctx.carried.get("spacy", []):
        target = house / wheel.name
        if not target.exists():
            target.hardlink_to(wheel)


def lock(ctx: Context) -> Check:
    if "plan" not in ctx.state:
        return Check("lock", False, "not run: no wheelhouse")
    from packaging.requirements import Requirement

    from cudaenv import knowledge
    from cudaenv import lock as locks
    from cudaenv.errors import CudaenvError
    from cudaenv.machine import Overrides
    from cudaenv.pipeline import steps
    from cudaenv.request import Request, Target, host_platform
    from cudaenv.settings import IndexSettings, Location

    house: Path = ctx.state["house"]
    _link_carried(ctx, house)
    found = ctx.state["plan"]
    nowhere = ctx.work / "no-index"
    nowhere.mkdir(exist_ok=True)
    settings = IndexSettings(
        default=Location(url=nowhere.as_uri(), origin="gpu-check: no index", tool="cudaenv"),
        find_links=(Location(url=house.as_uri(), origin="gpu-check", tool="cudaenv"),),
    )
    request = Request(
        frameworks=(),
        target=Target.from_strings(ctx.state["python_version"], host_platform()),
        gpu=False,
        packages=tuple(Requirement(f"{n}=={v}") for n, v in found.roots.items()),
        fixed=tuple(Requirement(f"{d.name}=={d.version}") for d in found.from_image),
    )
    options = steps.IndexOptions(settings=settings, cache_dir=ctx.work / "cache")
    try:
        resolution = steps.solve(request, Overrides(), options).resolution
    except CudaenvError as e:
        return Check("lock", False, f"{e.message} ({e.hint or ''})")
    path = ctx.work / "pylock.toml"
    locks.write(resolution, path, knowledge_version=knowledge.load().version)
    ctx.state["lock"] = path
    pins = {p.name: str(p.version) for p in resolution.pins}
    return Check("lock", True, f"{len(pins)} pins, no index", figures={"pins": pins})


def create(ctx: Context) -> Check:
    if "lock" not in ctx.state:
        return Check("create", False, "not run: no lock")
    env = ctx.work / "env"
    ran = ctx.cli("create --from", "create", "--from", str(ctx.state["lock"]), "--find-links",
                  str(ctx.state["house"]), "--offline", "-p", str(env), "--no-smoke", "--json",
                  most=300)  # fmt: skip
    if ran.rc != 0:
        said = (json_of(ran) or {}).get("error", {}).get("message") or ran.err.strip()[-300:]
        return Check("create", False, f"exit {ran.rc}: {said}", details={"run": ran.brief()})
    from cudaenv.smoke import open_env

    made = open_env(env)
    ctx.state.update(env=env, site=made.site_packages)
    figures = {"env": str(env), "created_seconds": round(ran.seconds, 1), "json": json_of(ran)}
    return Check("create", True, f"{env} in {ran.seconds:.0f} s", figures=figures,
                 details={"run": ran.brief()})  # fmt: skip
