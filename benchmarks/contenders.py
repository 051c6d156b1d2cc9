"""How cudaenv, uv and pip are asked the same request, and the environment they all run in.

Every tool runs as a user runs it (cudaenv by its console script, with Python writing bytecode)
but apart from this machine's own configuration, so that each answers the same request from the
same index (PyPI) with only the caches the harness gives it:

- every ``PIP_*`` and ``UV_*`` variable is dropped (a ``PIP_FIND_LINKS`` or ``PIP_INDEX_URL``
  would change what pip sees, and cudaenv reads ``PIP_INDEX_URL`` too);
- ``PIP_CONFIG_FILE=/dev/null`` makes pip skip every configuration file (global, user, site:
  ``/etc/pip.conf``, ``/etc/xdg/pip/pip.conf``, ``~/.config/pip/pip.conf``, with their
  extra index URLs, find-links and constraint files); ``check_isolation`` proves it before a run;
- ``UV_NO_CONFIG=1`` makes uv skip ``uv.toml`` and ``pyproject.toml`` settings;
- ``XDG_CACHE_HOME`` points into the run's own folder, so that no tool falls back to a cache of
  this machine's user; each tool's cache is also named explicitly (``--cache-dir`` of cudaenv,
  uv and pip; ``UV_CACHE_DIR`` for the uv that cudaenv installs with);
- ``PYTHONDONTWRITEBYTECODE`` is dropped: set in some sandboxes, it makes every Python tool
  re-compile its modules on each start, which no user sees.
Variables that say which certificates to trust (``SSL_CERT_FILE``...) are kept: they do not
change the request, and without them no tool reaches an index behind a TLS-inspecting proxy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CUDAENV",
    "DEFAULT",
    "PY",
    "REQUEST",
    "ROOTS",
    "TF_TORCH",
    "UV",
    "Ask",
    "base_env",
    "check_isolation",
    "from_lock_command",
    "install_command",
    "lock_command",
    "resolve_command",
]

PY = sys.executable
UV = shutil.which("uv", path=str(Path(PY).parent)) or shutil.which("uv") or "uv"
_SCRIPT = shutil.which("cudaenv", path=str(Path(PY).parent))
CUDAENV = [_SCRIPT] if _SCRIPT else [PY, "-m", "cudaenv"]  # the command a user types

# The request: TF 2.15 + spaCy 3.7 with their CUDA extras, Python 3.11, linux x86_64.
TF, SPACY, PYTHON, DRIVER = "2.15", "3.7", "3.11", "535.104.05"
PLATFORM = "manylinux_2_28_x86_64"
REQUEST = {"tf": TF, "spacy": SPACY, "python": PYTHON, "platform": PLATFORM, "driver": DRIVER}
_TARGET = ["--python", PYTHON, "--platform", PLATFORM, "--driver", DRIVER]
# The same roots cudaenv's recipes produce for this request (tensorflow 2.15.0 is known-bad: its
# and-cuda extra pins tensorrt-libs that the index lacks, so every tool is told to skip it).
ROOTS = [f"tensorflow[and-cuda]=={TF}.*", "tensorflow!=2.15.0", f"spacy[cuda12x]=={SPACY}.*"]


@dataclass(frozen=True)
class Ask:
    """One request in each tool's spelling: cudaenv's flags (shared by its solve, lock and
    create commands) and the roots uv and pip are given; ``name`` suffixes its rows."""

    name: str
    args: tuple[str, ...]
    roots: tuple[str, ...]
    facts: dict[str, str]


DEFAULT = Ask("", ("--tf", TF, "--spacy", SPACY, *_TARGET), tuple(ROOTS), REQUEST)
# TensorFlow 2.20 beside PyTorch 2.9: TF's and-cuda ranges hold every torch pin (docs/facts.md),
# so the roots are the two frameworks as the recipes root them (torch states its own NVIDIA pins).
TF_TORCH = Ask(
    "tf-torch",
    ("--tf", "2.20", "--torch", "2.9", *_TARGET),
    ("tensorflow[and-cuda]==2.20.*", "torch==2.9.*"),
    {"tf": "2.20", "torch": "2.9", "python": PYTHON, "platform": PLATFORM, "driver": DRIVER},
)


def base_env(home: Path) -> dict[str, str]:
    """The user's environment without pip/uv configuration; default caches under *home*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("CUDAENV_CACHE_DIR", None)
    return {
        **env,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_NO_CONFIG": "1",
        "XDG_CACHE_HOME": str(home / "xdg-cache"),
    }


def check_isolation(env: dict[str, str]) -> None:
    """Exit if pip would read any configuration under *env* but the two variables set here."""
    done = subprocess.run(
        [PY, "-m", "pip", "config", "list"], env=env, capture_output=True, text=True, check=False
    )
    ours = (":env:.config-file=", ":env:.disable-pip-version-check=")
    extra = [line for line in done.stdout.splitlines() if not line.startswith(ours)]
    if done.returncode != 0 or extra:
        sys.exit(f"pip still reads configuration: {extra or done.stderr.strip()}")


def resolve_command(
    tool: str, work: Path, cache: Path, *, offline: bool = False, refresh: bool = False
) -> list[str]:
    """The resolve of the request by *tool* with its cache in *cache*."""
    reqs = work / "roots.txt"
    if tool == "cudaenv":
        cmd = [*CUDAENV, "solve", *DEFAULT.args, "--cache-dir", str(cache), "--json"]
        return [*cmd, *(["--offline"] if offline else []), *(["--refresh"] if refresh else [])]
    if tool == "uv":
        cmd = [UV, "pip", "compile", str(reqs), "--python-version", PYTHON]
        cmd += ["--python-platform", "x86_64-manylinux_2_28", "--prerelease", "disallow"]
        cmd += ["--cache-dir", str(cache), "--no-header", "-q", "-o", str(work / "uv-out.txt")]
        return [*cmd, "--offline"] if offline else cmd
    # pip matches each --platform exactly, so list every manylinux tag the target glibc accepts.
    plats = [f"manylinux_2_{m}_x86_64" for m in range(28, 4, -1)]
    plats += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    cmd = [PY, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    cmd += ["--only-binary=:all:", "--python-version", PYTHON, *(f"--platform={p}" for p in plats)]
    cmd += ["--target", str(work / "pip-target"), "--report", str(work / "pip-report.json")]
    return [*cmd, "--cache-dir", str(cache), "-r", str(reqs)]


def lock_command(cache: Path, out: Path, ask: Ask = DEFAULT) -> list[str]:
    """cudaenv's lock of the request as hashed pins (``name @ URL --hash``), for uv and pip."""
    cmd = [*CUDAENV, "lock", *ask.args, "--cache-dir", str(cache), "--format", "requirements"]
    return [*cmd, "-o", str(out)]


def from_lock_command(prefix: Path, lock: Path, cache: Path) -> list[str]:
    """cudaenv's second environment from a lock (``create --from``), with *cache* its index
    cache (its wheel store beside it)."""
    cmd = [*CUDAENV, "create", "--from", str(lock), "--cache-dir", str(cache), "--no-smoke"]
    return [*cmd, "--installer", "uv", "-p", str(prefix)]


def install_command(
    tool: str,
    prefix: Path,
    pins: Path,
    cache: Path,
    *,
    offline: bool = False,
    ask: Ask = DEFAULT,
) -> list[str]:
    """A new environment at *prefix* with the request installed, by *tool*.

    cudaenv: ``create --no-smoke`` (its solve, from *cache* or the index, then its installer,
    uv); uv and pip: a venv, then an install of cudaenv's hashed *pins* with no resolution.
    *cache* is the tool's own cache folder (for cudaenv: its index cache; the uv it runs takes
    ``UV_CACHE_DIR`` from the environment).
    """
    if tool == "cudaenv":
        cmd = [*CUDAENV, "create", *ask.args, "--cache-dir", str(cache), "--no-smoke"]
        cmd += ["--installer", "uv", "-p", str(prefix)]
        return [*cmd, "--offline"] if offline else cmd
    if tool == "uv":
        script = (
            f'"{UV}" venv -q --cache-dir "{cache}" --python {PYTHON} "{prefix}" && '
            f'"{UV}" pip install -q --cache-dir "{cache}" --python "{prefix}/bin/python" '
            f'--no-deps --require-hashes -r "{pins}"'
        )
        return ["sh", "-c", script]
    py = shutil.which(f"python{PYTHON}") or PY
    script = (
        f'"{py}" -m venv "{prefix}" && "{prefix}/bin/python" -m pip install -q '
        f'--cache-dir "{cache}" --no-deps --require-hashes -r "{pins}"'
    )
    return ["sh", "-c", script]
