"""cudaenv, uv and pip side by side on the same request; prints ratios, never asserts them.

    python benchmarks/run.py [--quick] [--repeats N] [--rows R,R] [--no-pip-install]
                             [--json-out FILE]

Rows:
  resolve-cold  each tool with its own empty cache: cudaenv solve | uv pip compile | pip --dry-run
  resolve-warm  the same, caches warm: each tool as it behaves by default (uv and pip revalidate
                every page; cudaenv reuses a page for the max-age the index gave it, 600 s on PyPI)
  resolve-warm-refresh  cudaenv solve --refresh (revalidates every page, like uv) | uv pip compile
  resolve-warm-offline  cudaenv solve --offline | uv pip compile --offline (pip has no such mode)
  install-warm  cudaenv create --no-smoke --offline | uv venv + uv pip install | venv + pip
                install, all installing the same hashed pins from a warm cache
  create-cold   cudaenv create --no-smoke (solve and install, every cache empty) | uv venv + uv pip
                install | venv + pip install of the same hashed pins, every cache empty
Cold is cold: each tool gets a new, empty folder for every cache it has (its own cache option,
UV_CACHE_DIR for the uv cudaenv installs with, XDG_CACHE_HOME for anything else) on every repeat,
removed after the run. How the tools are kept apart from this machine's pip and uv
configuration: see contenders.py. Runs are interleaved (A B C A B C ...) so that drift in the
network or the machine hits every tool alike; each cell is the median with min-max; CPU is user +
system seconds of the whole process tree; peak memory is the peak of that tree (see measure.py).
The JSON keeps every run, with the machine's load average when it started (other work shows there).
pip keeps in its HTTP cache only what the index allows to be cached: behind an index that sends no
caching headers its warm rows fetch everything again, like its cold ones.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from contenders import (
    CUDAENV,
    PY,
    REQUEST,
    ROOTS,
    UV,
    base_env,
    check_isolation,
    install_command,
    lock_command,
    resolve_command,
)
from measure import measure
from report import TOOLS, Cell, Row, render

if TYPE_CHECKING:
    from collections.abc import Callable

    from measure import Measure

ROWS = (
    "resolve-cold",
    "resolve-warm",
    "resolve-warm-refresh",
    "resolve-warm-offline",
    "install-warm",
    "create-cold",
)
_CACHE = {"cudaenv": "cudaenv", "uv": "uv", "pip": "pip"}  # a tool's own cache, under its root
MIN_FREE = 20 << 30  # create-cold writes ~10 GB per run: never leave the disk below this


class Bench:
    """The work folder, the isolated environment and the runs of one harness invocation."""

    def __init__(self, work: Path, repeats: int):
        self.work, self.repeats = work, repeats
        self.env = base_env(work)
        (work / "roots.txt").write_text("\n".join(ROOTS) + "\n")
        (work / "logs").mkdir()
        self.pins = work / "pins.txt"

    def root(self, kind: str, tool: str) -> Path:
        """The folder that holds every cache of *tool* for *kind* (``warm`` or a cold run)."""
        return self.work / f"{kind}-{tool}"

    def tool_env(self, root: Path) -> dict[str, str]:
        return {
            **self.env,
            "XDG_CACHE_HOME": str(root / "xdg"),
            "CUDAENV_CACHE_DIR": str(root / "cudaenv-home"),
            "UV_CACHE_DIR": str(root / "uv"),  # the uv that cudaenv create runs
        }

    def run(self, label: str, cmd: list[str], root: Path) -> Measure:
        log = self.work / "logs" / f"{label}.log"
        m = measure(cmd, env=self.tool_env(root), cwd=self.work, log=log)
        if m.code != 0:
            tail = log.read_text(errors="replace")[-2000:]
            sys.stderr.write(f"FAILED ({m.code}): {' '.join(cmd)}\n{tail}\n")
        return m

    def row(self, name: str, tools: list[str], step: Callable[[str, int], Measure | None]) -> Row:
        """Each tool in turn, ``repeats`` rounds (interleaved); ``n/a`` for tools left out."""
        cells = {t: Cell() for t in tools}
        for n in range(self.repeats):
            for tool in tools:
                cells[tool].add(step(tool, n))
            sys.stderr.write(f"  {name}: round {n + 1}/{self.repeats} done\n")
        return Row(name, {t: cells.get(t) for t in TOOLS})

    # -- rows ------------------------------------------------------------------------------------
    def resolve_cold(self, tools: list[str]) -> Row:
        """New caches every run; the last run's caches become the warm rows' caches (this row
        runs even when not asked for, then once and untimed, to fill them)."""

        def step(tool: str, n: int) -> Measure:
            root = self.root(f"cold{n}", tool)
            cmd = resolve_command(tool, self.work, root / _CACHE[tool])
            m = self.run(f"resolve-cold-{tool}-{n}", cmd, root)
            warm = self.root("warm", tool)
            shutil.rmtree(warm, ignore_errors=True)
            if root.exists():
                root.rename(warm)
            return m

        return self.row("resolve-cold", tools, step)

    def resolve_warm(self, name: str, tools: list[str]) -> Row:
        offline, refresh = name.endswith("offline"), name.endswith("refresh")

        def step(tool: str, n: int) -> Measure:
            root = self.root("warm", tool)
            cmd = resolve_command(
                tool, self.work, root / _CACHE[tool], offline=offline, refresh=refresh
            )
            return self.run(f"{name}-{tool}-{n}", cmd, root)

        return self.row(name, tools, step)

    def lock(self) -> bool:
        """The hashed pins uv and pip install (cudaenv's lock of the request)."""
        root = self.root("warm", "cudaenv")
        cmd = lock_command(root / _CACHE["cudaenv"], self.pins)
        done = subprocess.run(
            cmd, env=self.tool_env(root), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            sys.stderr.write(f"could not lock the request: {done.stderr[-2000:]}\n")
        return done.returncode == 0

    def install_warm(self, tools: list[str]) -> Row:
        """One untimed install per tool fills its cache (online: cudaenv's --offline keeps its
        installer offline too); then timed installs from it."""

        def install(tool: str, n: int) -> Measure:
            root, prefix = self.root("warm", tool), self.work / f"env-{tool}-{n}"
            cache = root / _CACHE[tool]
            cmd = install_command(tool, prefix, self.pins, cache, offline=n >= 0)
            try:
                return self.run(f"install-warm-{tool}-{n}", cmd, root)
            finally:
                shutil.rmtree(prefix, ignore_errors=True)

        for tool in tools:
            install(tool, -1)
        return self.row("install-warm", tools, install)

    def create_cold(self, tools: list[str]) -> Row:
        def step(tool: str, n: int) -> Measure | None:
            if shutil.disk_usage(self.work).free < MIN_FREE:
                sys.stderr.write(f"create-cold: {tool} skipped, under 20 GiB free on the disk\n")
                return None
            root = self.root(f"create{n}", tool)
            cmd = install_command(tool, root / "env", self.pins, root / _CACHE[tool])
            try:
                return self.run(f"create-cold-{tool}-{n}", cmd, root)
            finally:
                shutil.rmtree(root, ignore_errors=True)

        return self.row("create-cold", tools, step)


_BUNDLED_PIP = "import ensurepip; print('pip', ensurepip.version())"


def machine() -> dict[str, object]:
    """What ran: the machine, its load, and each tool's version (pip's installs run the pip
    that ``python -m venv`` puts in a new environment, ensurepip's)."""
    py = shutil.which(f"python{REQUEST['python']}") or PY

    def version(cmd: list[str]) -> str:
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return (p.stdout or p.stderr).strip().splitlines()[0] if p.returncode == 0 else "n/a"

    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "uv": version([UV, "--version"]),
        "pip": version([PY, "-m", "pip", "--version"]).split(" from ")[0],
        "pip_in_new_venvs": version([py, "-c", _BUNDLED_PIP]),
        "cudaenv": version([*CUDAENV, "--version"]),
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one repeat of each row")
    ap.add_argument("--repeats", type=int, default=None, help="rounds per row (default 3)")
    ap.add_argument("--rows", default=",".join(ROWS), help="rows to run (default: all)")
    ap.add_argument("--skip-install", action="store_true", help="resolve rows only")
    ap.add_argument(
        "--no-pip-install", action="store_true", help="pip n/a in install-warm and create-cold"
    )
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)
    args.rows = [r for r in args.rows.split(",") if r]
    if unknown := set(args.rows) - set(ROWS):
        ap.error(f"unknown rows: {', '.join(sorted(unknown))} (known: {', '.join(ROWS)})")
    if args.skip_install:
        args.rows = [r for r in args.rows if r.startswith("resolve")]
    args.repeats = args.repeats or (1 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    installers = ["cudaenv", "uv"] if args.no_pip_install else list(TOOLS)
    with tempfile.TemporaryDirectory(prefix="cudaenv-bench-") as tmp:
        bench = Bench(Path(tmp), args.repeats)
        check_isolation(bench.env)
        info = machine()
        started = time.time()
        if "resolve-cold" not in args.rows:
            bench.repeats = 1
        cold = bench.resolve_cold(list(TOOLS))
        bench.repeats = args.repeats  # also fills the caches of every later row
        rows = [cold] if "resolve-cold" in args.rows else []
        for name in ("resolve-warm", "resolve-warm-refresh", "resolve-warm-offline"):
            if name in args.rows:
                tools = list(TOOLS) if name == "resolve-warm" else ["cudaenv", "uv"]
                rows.append(bench.resolve_warm(name, tools))
        if {"install-warm", "create-cold"} & set(args.rows) and bench.lock():
            if "install-warm" in args.rows:
                rows.append(bench.install_warm(installers))
            if "create-cold" in args.rows:
                rows.append(bench.create_cold(installers))
    info["loadavg_at_end"] = os.getloadavg()
    info["minutes"] = round((time.time() - started) / 60, 1)
    print(render(rows))
    if args.json_out:
        result = {"machine": info, "request": {**REQUEST, "roots": ROOTS}, "repeats": args.repeats}
        result["rows"] = [r.to_json() for r in rows]
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
