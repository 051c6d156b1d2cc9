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
  create-warm   a second environment from the same lock, every cache filled by a first one:
                cudaenv create --from PREFIX/pylock.toml (the first was its create --tf ...) | uv
                venv + uv pip install of the same pins | venv + pip install (caches hardlinked
                or copied into the new environment; pip downloads again what it does not cache)
  create-cold-tf-torch, create-warm-tf-torch  the same two rows for TensorFlow 2.20 + PyTorch 2.9
                (--tf 2.20 --torch 2.9; uv and pip install cudaenv's lock of that request)
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
    DEFAULT,
    PY,
    REQUEST,
    ROOTS,
    TF_TORCH,
    UV,
    Ask,
    base_env,
    check_isolation,
    from_lock_command,
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
    "create-warm",
    "create-cold-tf-torch",
    "create-warm-tf-torch",
)
ASKS = {"": DEFAULT, "tf-torch": TF_TORCH}
_INSTALLS = ("install-warm", "create-cold", "create-warm")  # a row of each request: _named
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

    def pins_of(self, ask: Ask) -> Path:
        return self.pins if not ask.name else self.work / f"pins-{ask.name}.txt"

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

    def lock(self, ask: Ask = DEFAULT) -> bool:
        """The hashed pins uv and pip install (cudaenv's lock of the request)."""
        root = self.root("warm", "cudaenv")
        cmd = lock_command(root / _CACHE["cudaenv"], self.pins_of(ask), ask)
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

    def create_cold(self, tools: list[str], ask: Ask = DEFAULT) -> Row:
        name = _named("create-cold", ask)

        def step(tool: str, n: int) -> Measure | None:
            if _short_of_disk(name, tool, self.work):
                return None
            root = self.root(f"{name}{n}", tool)
            cache = root / _CACHE[tool]
            cmd = install_command(tool, root / "env", self.pins_of(ask), cache, ask=ask)
            try:
                return self.run(f"{name}-{tool}-{n}", cmd, root)
            finally:
                shutil.rmtree(root, ignore_errors=True)

        return self.row(name, tools, step)

    def create_warm(self, tools: list[str], ask: Ask = DEFAULT) -> Row:
        """Each tool makes a first environment, untimed (cudaenv: its create of the request,
        which fills its wheel store; uv and pip: the pins), which fills its caches; then each
        timed run makes another from the same lock. Its caches go after the row."""
        name = _named("create-warm", ask)
        filled = {tool: self._first_env(name, tool, ask) for tool in tools}

        def step(tool: str, n: int) -> Measure | None:
            root, lock = filled[tool]
            if lock is None or _short_of_disk(name, tool, self.work):
                return None
            prefix, cache = root / f"env-{n}", root / _CACHE[tool]
            if tool == "cudaenv":
                cmd = from_lock_command(prefix, lock, cache)
            else:
                cmd = install_command(tool, prefix, self.pins_of(ask), cache, ask=ask)
            try:
                return self.run(f"{name}-{tool}-{n}", cmd, root)
            finally:
                shutil.rmtree(prefix, ignore_errors=True)

        try:
            return self.row(name, tools, step)
        finally:
            for root, _lock in filled.values():
                shutil.rmtree(root, ignore_errors=True)

    def _first_env(self, name: str, tool: str, ask: Ask) -> tuple[Path, Path | None]:
        """The root with the caches of *tool*'s first environment, and the lock to make the
        next ones from (None: the first one failed)."""
        root = self.root(name, tool)
        first = root / "first"
        cmd = install_command(tool, first, self.pins_of(ask), root / _CACHE[tool], ask=ask)
        if _short_of_disk(name, tool, self.work) or self.run(f"{name}-{tool}-fill", cmd, root).code:
            return root, None
        lock = root / "pylock.toml"
        if tool == "cudaenv":
            shutil.copyfile(first / "pylock.toml", lock)
        shutil.rmtree(first, ignore_errors=True)  # its files stay in the caches
        return root, lock


def _named(row: str, ask: Ask) -> str:
    return f"{row}-{ask.name}" if ask.name else row


def _short_of_disk(row: str, tool: str, work: Path) -> bool:
    if shutil.disk_usage(work).free >= MIN_FREE:
        return False
    sys.stderr.write(f"{row}: {tool} skipped, under 20 GiB free on the disk\n")
    return True


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


def _install_rows(bench: Bench, wanted: list[str], tools: list[str]) -> list[Row]:
    """The rows that install, for each request that has one asked for (its lock made first)."""
    rows = []
    for ask in ASKS.values():
        asked = [kind for kind in _INSTALLS if _named(kind, ask) in wanted]
        if not asked or not bench.lock(ask):
            continue
        for kind in asked:
            if kind == "install-warm":
                rows.append(bench.install_warm(tools))
            elif kind == "create-cold":
                rows.append(bench.create_cold(tools, ask))
            else:
                rows.append(bench.create_warm(tools, ask))
    return rows


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
        rows += _install_rows(bench, args.rows, installers)
    info["loadavg_at_end"] = os.getloadavg()
    info["minutes"] = round((time.time() - started) / 60, 1)
    print(render(rows))
    if args.json_out:
        requests = {a.name or "default": {**a.facts, "roots": list(a.roots)} for a in ASKS.values()}
        result = {"machine": info, "request": {**REQUEST, "roots": ROOTS}, "repeats": args.repeats}
        result["requests"] = requests
        result["rows"] = [r.to_json() for r in rows]
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
