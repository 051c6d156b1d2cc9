"""cudaenv, uv and pip side by side on the same request; prints ratios, never asserts them.

    python benchmarks/run.py [--quick] [--repeats N] [--json-out FILE]

Rows:
  resolve-cold  each tool with its own empty cache: cudaenv solve | uv pip compile | pip --dry-run
  resolve-warm  the same, caches warm: each tool as it behaves by default (uv and pip revalidate
                every page; cudaenv reuses a page for the max-age the index gave it, 600 s on PyPI)
  resolve-warm-refresh  cudaenv solve --refresh (revalidates every page, like uv) | uv pip compile
  resolve-warm-offline  cudaenv solve --offline | uv pip compile --offline (pip has no such mode)
  install-warm  cudaenv create --no-smoke | uv venv + uv pip install | venv + pip install,
                all installing the same hashed pins from a warm cache
Runs are interleaved (A B C A B C ...) so that drift in the network or the machine hits every tool
alike; each cell is the median with min-max. Peak memory is the largest resident set of any process
in the tool's process tree (GNU time's %M). Every tool runs as a user runs it: cudaenv by its
console script, with Python writing bytecode (PYTHONDONTWRITEBYTECODE is dropped: set in some
sandboxes, it makes every Python tool re-compile its modules on each start).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable
BIN = Path(PY).parent
UV = shutil.which("uv", path=str(BIN)) or shutil.which("uv") or "uv"
_SCRIPT = shutil.which("cudaenv", path=str(BIN))
CUDAENV = [_SCRIPT] if _SCRIPT else [PY, "-m", "cudaenv"]  # the command a user types

# The request (default: TF 2.15 + spaCy 3.7 with their CUDA extras, Python 3.11, linux x86_64).
TF, SPACY, PYTHON, DRIVER = "2.15", "3.7", "3.11", "535.104.05"
PLATFORM = "manylinux_2_28_x86_64"
# The same roots cudaenv's recipes produce for this request (tensorflow 2.15.0 is known-bad: its
# and-cuda extra pins tensorrt-libs that the index lacks, so every tool is told to skip it).
# cudaenv's spelling of the request, shared by its solve, lock and create commands.
REQUEST_ARGS = (
    "--tf",
    TF,
    "--spacy",
    SPACY,
    "--python",
    PYTHON,
    "--platform",
    PLATFORM,
    "--driver",
    DRIVER,
)
ROOTS = [f"tensorflow[and-cuda]=={TF}.*", "tensorflow!=2.15.0", f"spacy[cuda12x]=={SPACY}.*"]


@dataclass
class Cell:
    seconds: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    failures: int = 0

    def summary(self) -> dict[str, float | int | None]:
        if not self.seconds:
            return {
                "median_s": None,
                "min_s": None,
                "max_s": None,
                "peak_mib": None,
                "failures": self.failures,
            }
        return {
            "median_s": round(statistics.median(self.seconds), 3),
            "min_s": round(min(self.seconds), 3),
            "max_s": round(max(self.seconds), 3),
            "peak_mib": round(max(self.rss_mib), 1),
            "failures": self.failures,
        }


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float] | None:
    """Run ``cmd`` under GNU time; return (wall seconds, peak RSS MiB) or None when it failed."""
    out = cwd / "time.txt"
    full = ["/usr/bin/time", "-f", "%e %M", "-o", str(out), *cmd]
    proc = subprocess.run(full, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(f"FAILED ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}\n")
        return None
    wall, kib = out.read_text().split()[-2:]
    return float(wall), int(kib) / 1024


def base_env() -> dict[str, str]:
    """The user's environment minus pip configuration that would point pip at local mirrors."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def resolve_commands(
    work: Path, tool: str, cache: Path, *, offline: bool, refresh: bool = False
) -> list[str]:
    reqs = work / "roots.txt"
    if tool == "cudaenv":
        cmd = [
            *CUDAENV,
            "solve",
            *REQUEST_ARGS,
            "--cache-dir",
            str(cache),
            "--json",
        ]
        return [*cmd, *(["--offline"] if offline else []), *(["--refresh"] if refresh else [])]
    if tool == "uv":
        cmd = [
            UV,
            "pip",
            "compile",
            str(reqs),
            "--python-version",
            PYTHON,
            "--python-platform",
            "x86_64-manylinux_2_28",
            "--prerelease",
            "disallow",
            "--cache-dir",
            str(cache),
            "--no-header",
            "-q",
            "-o",
            str(work / "uv-out.txt"),
        ]
        return [*cmd, "--offline"] if offline else cmd
    # pip matches each --platform exactly, so list every manylinux tag the target glibc accepts.
    plats = [f"manylinux_2_{m}_x86_64" for m in range(28, 4, -1)]
    plats += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    return [
        PY,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--only-binary=:all:",
        "--python-version",
        PYTHON,
        *(f"--platform={p}" for p in plats),
        "--target",
        str(work / "pip-target"),
        "--report",
        str(work / "pip-report.json"),
        "--cache-dir",
        str(cache),
        "-r",
        str(reqs),
    ]


def install_commands(work: Path, tool: str, caches: dict[str, Path], n: int) -> list[str]:
    prefix = work / f"env-{tool}-{n}"
    hashed = work / "pins.txt"
    if tool == "cudaenv":
        return [
            *CUDAENV,
            "create",
            *REQUEST_ARGS,
            "--cache-dir",
            str(caches["cudaenv"]),
            "--offline",
            "--no-smoke",
            "--installer",
            "uv",
            "-p",
            str(prefix),
        ]
    if tool == "uv":
        script = (
            f'"{UV}" venv -q --python {PYTHON} "{prefix}" && "{UV}" pip install -q '
            f'--python "{prefix}/bin/python" --no-deps --require-hashes -r "{hashed}"'
        )
        return ["sh", "-c", script]
    py = shutil.which(f"python{PYTHON}") or PY
    script = (
        f'"{py}" -m venv "{prefix}" && "{prefix}/bin/python" -m pip install -q '
        f'--cache-dir "{caches["pip"]}" --no-deps --require-hashes -r "{hashed}"'
    )
    return ["sh", "-c", script]


def run_row(
    name: str, tools: list[str], repeats: int, make_cmd, env_for, work: Path, cleanup=None
) -> dict[str, Cell]:
    cells = {t: Cell() for t in tools}
    for n in range(repeats):
        for tool in tools:  # interleaved: A B C A B C ...
            res = timed(make_cmd(tool, n), env_for(tool), work)
            if res is None:
                cells[tool].failures += 1
            else:
                cells[tool].seconds.append(res[0])
                cells[tool].rss_mib.append(res[1])
            if cleanup:
                cleanup(tool, n)
        sys.stderr.write(f"  {name}: round {n + 1}/{repeats} done\n")
    return cells


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def render(rows: list[dict]) -> str:
    head = (
        "| row | cudaenv s | uv s | pip s | cudaenv/uv | cudaenv/pip | peak MiB "
        "(cudaenv/uv/pip) |\n|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:

        def cell(t: str, r: dict = r) -> str:
            s = r[t]
            if s is None:
                return "–"
            if s["median_s"] is None:
                return "failed"
            return f"{s['median_s']:.2f} ({s['min_s']:.2f}–{s['max_s']:.2f})"

        def median(t: str, r: dict = r) -> float | None:
            return r[t]["median_s"] if r[t] else None

        peaks = "/".join(str(r[t]["peak_mib"]) if r[t] else "–" for t in ("cudaenv", "uv", "pip"))
        lines.append(
            f"| {r['name']} | {cell('cudaenv')} | {cell('uv')} | {cell('pip')} | "
            f"{ratio(median('cudaenv'), median('uv'))} | "
            f"{ratio(median('cudaenv'), median('pip'))} | {peaks} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, object]:
    def version(cmd: list[str]) -> str:
        p = subprocess.run(cmd, capture_output=True, text=True, check=False)
        return (p.stdout or p.stderr).strip().splitlines()[0] if p.returncode == 0 else "n/a"

    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "uv": version([UV, "--version"]),
        "pip": version([PY, "-m", "pip", "--version"]).split(" from ")[0],
        "cudaenv": version([*CUDAENV, "--version"]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one repeat each, pip resolve once")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--skip-install", action="store_true", help="resolve rows only")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    tools = ["cudaenv", "uv", "pip"]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cudaenv-bench-") as tmp:
        work = Path(tmp)
        (work / "roots.txt").write_text("\n".join(ROOTS) + "\n")
        env = base_env()
        caches = {t: work / f"cache-{t}" for t in tools}

        def cold_cmd(tool: str, n: int) -> list[str]:
            shutil.rmtree(caches[tool], ignore_errors=True)
            return resolve_commands(work, tool, caches[tool], offline=False)

        def env_for(tool: str) -> dict[str, str]:
            # cudaenv's installer runs uv: give that uv a cache of its own, apart from uv's row.
            uv_cache = work / "cache-cudaenv-uv" if tool == "cudaenv" else caches["uv"]
            return {**env, "UV_CACHE_DIR": str(uv_cache)}

        cells = run_row("resolve-cold", tools, repeats, cold_cmd, env_for, work)
        rows.append({"name": "resolve-cold", **{t: c.summary() for t, c in cells.items()}})
        for name, offline, refresh, who in (
            ("resolve-warm", False, False, tools),
            ("resolve-warm-refresh", False, True, ["cudaenv", "uv"]),
            ("resolve-warm-offline", True, False, ["cudaenv", "uv"]),
        ):

            def warm_cmd(t: str, n: int, offline: bool = offline, refresh: bool = refresh):
                return resolve_commands(work, t, caches[t], offline=offline, refresh=refresh)

            cells = run_row(name, who, repeats, warm_cmd, env_for, work)
            summaries = {t: cells[t].summary() if t in cells else None for t in tools}
            rows.append({"name": name, **summaries})
        if not args.skip_install:
            rows.append(install_row(work, tools, repeats, caches, env, env_for))
    result = {
        "machine": machine(),
        "request": {"roots": ROOTS, "python": PYTHON, "platform": PLATFORM, "driver": DRIVER},
        "rows": rows,
    }
    for r in rows:  # flat figures, as the JSON shape asks
        for t in tools:
            r[f"{t}_s"] = r[t]["median_s"] if r[t] else None
    print(render(rows))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def install_row(
    work: Path,
    tools: list[str],
    repeats: int,
    caches: dict[str, Path],
    env: dict[str, str],
    env_for,
) -> dict:
    """Warm every cache with one untimed install of the same pins, then time installs."""
    prep = subprocess.run(
        [
            *CUDAENV,
            "lock",
            *REQUEST_ARGS,
            "--cache-dir",
            str(caches["cudaenv"]),
            "--format",
            "requirements",
            "-o",
            str(work / "pins.txt"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if prep.returncode != 0:
        sys.stderr.write(f"could not lock the request: {prep.stderr[-2000:]}\n")
        return {"name": "install-warm", **{t: Cell(failures=1).summary() for t in tools}}
    for tool in tools:  # warm-up, untimed
        subprocess.run(
            install_commands(work, tool, caches, -1),
            env=env_for(tool),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(work / f"env-{tool}--1", ignore_errors=True)

    def cleanup(tool: str, n: int) -> None:
        shutil.rmtree(work / f"env-{tool}-{n}", ignore_errors=True)

    cells = run_row(
        "install-warm",
        tools,
        repeats,
        lambda t, n: install_commands(work, t, caches, n),
        env_for,
        work,
        cleanup,
    )
    return {"name": "install-warm", **{t: c.summary() for t, c in cells.items()}}


if __name__ == "__main__":
    sys.exit(main())
