"""Install exactly the locked wheels into an environment: by URL and hash, no resolution.

The installer gets a hashed requirements file made from the lock (one ``name @ URL --hash`` line
per pin) and ``--no-deps --require-hashes``: it downloads and unpacks, and decides nothing. uv
comes with cudaenv (a dependency) and is used because it is much faster; pip where no uv exists.
The result is the same set of files either way.

Credentials for a private index never appear on a command line or in the requirements file:
the installer reads them from a netrc file made for this install (mode 0600, in a private
temporary folder, removed afterwards) that ``NETRC`` names; uv and pip both read ``NETRC``.
``offline``: uv installs from its cache alone (``--offline``); pip has no such mode (it would
download the wheels again), so an offline install with pip is refused unless every wheel is a
file on this machine.

The installer writes to a pipe, so it draws no progress bars of its own (uv's are drawn for an
80-column terminal and garble in a wider one): its lines tell the step it is at
(:func:`phase_of`), which goes to the caller's sink as a detail of the step (cudaenv's status
line), and go there as they come, each an :class:`~cudaenv.events.Output` (shown only with
``-v``); uv's line per package (``+ name==1.0 (from URL)``) is
replaced by cudaenv's one-line summary. The tail of the output is kept to explain a failure:
a full disk or a hash mismatch is shown with the one line of it that says so (``-v`` showed
them all as they came), any other failure with its last lines.
A failure raises :class:`~cudaenv.errors.InstallError`; the caller rolls the environment back.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from cudaenv.errors import InstallError, UsageError
from cudaenv.events import Detail, Output, Step, discard, size_text
from cudaenv.lock import requirements_txt
from cudaenv.system import oserrors, process, uvtemp
from cudaenv.system.process import find_uv, run_streaming

if TYPE_CHECKING:
    from cudaenv.envs.base import Env
    from cudaenv.events import Sink
    from cudaenv.net.auth import Credentials
    from cudaenv.resolution import Resolution

__all__ = ["INSTALLERS", "install", "installer_command", "phase_of"]

INSTALLERS = ("auto", "uv", "pip")


def installer_command(
    installer: str,
    env: Env,
    requirements: Path,
    *,
    offline: bool = False,
    find_links: Path | None = None,
) -> tuple[str, list[str]]:
    """(uv or pip, the command that installs ``requirements`` into ``env`` with it).

    ``offline``: the installer makes no request (uv ``--offline``; pip ``--no-index``, which
    still downloads a requirement's URL, so its requirements must be files). ``find_links``:
    a wheelhouse, and no index.
    """
    if installer not in INSTALLERS:
        raise UsageError(f"unknown installer {installer!r}", hint="use uv, pip or auto")
    uv = find_uv() if installer in ("auto", "uv") else None
    if installer == "uv" and uv is None:
        raise InstallError(
            "--installer uv was asked for, but no uv was found",
            hint="install uv (`pip install uv`) or use --installer pip",
        )
    common = ["--no-deps", "--require-hashes", "-r", str(requirements)]
    local = ["--no-index", "--find-links", str(find_links)] if find_links is not None else []
    if uv is not None:
        cmd = [str(uv), "pip", "install", "--python", str(env.python), *common, *local]
        return "uv", [*cmd, "--offline"] if offline else cmd
    pip = [str(env.python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    no_index = ["--no-index"] if offline and not local else []
    return "pip", [*pip, *common, *local, *no_index]


def install(
    resolution: Resolution,
    env: Env,
    *,
    installer: str = "auto",
    offline: bool = False,
    find_links: Path | None = None,
    credentials: Credentials | None = None,
    sink: Sink = discard,
) -> str:
    """Install the pins of ``resolution`` into ``env``; return the installer used (uv or pip).

    ``sink`` is told the step the installer is at, and gets its output line by line
    (:class:`~cudaenv.events.Output`). ``offline`` and
    ``find_links``: see :func:`installer_command` (the pins of a wheelhouse point at its
    files: :func:`cudaenv.wheelhouse.local`). ``credentials``: the logins for the wheels'
    hosts (see the module's docstring). Cost: the download and unpack of every wheel.
    """
    with tempfile.TemporaryDirectory(prefix="cudaenv-install-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(requirements_txt(resolution))
        used, cmd = installer_command(installer, env, req, offline=offline, find_links=find_links)
        size = sum(p.wheel.size or 0 for p in resolution.pins)
        weight = f" ({size_text(size)})" if size else ""
        sink(Step(text=f"installing {len(resolution.pins)} wheels{weight} with {used}"))
        if used == "pip":
            _refuse_offline_pip(resolution, offline)
            cmd = [*_ensure_pip(env), *cmd[3:]]  # cmd starts with env.python -m pip
        else:
            _uv_lock_file(env.prefix)
        child_env = _with_netrc(Path(tmp), resolution, credentials)
        if used == "uv":
            child_env = _uv_downloads(child_env)
        # a uv stopped mid-way (Ctrl-C, SIGTERM) leaves its unpacking folder in its cache
        leftovers = uvtemp.removed_after(Path(cmd[0])) if used == "uv" else nullcontext()
        with leftovers:
            code, tail = _run(cmd, sink, child_env)
    if code != 0:
        raise _failure(used, code, tail, resolution, env, offline=offline)
    return used


def _uv_lock_file(prefix: Path) -> None:
    """``PREFIX/.lock``, where uv takes its lock while it installs, made here first: uv makes
    it world-writable (0666) and keeps the mode of one it finds. One made so by an earlier
    install loses its write bits for others."""
    try:
        fd = os.open(prefix / ".lock", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError:
        return  # the installer itself says what is wrong with the prefix
    try:
        mode = os.fstat(fd).st_mode
        if mode & 0o022:
            os.fchmod(fd, mode & 0o755)
    except OSError:
        pass  # not ours to change
    finally:
        os.close(fd)


def _refuse_offline_pip(resolution: Resolution, offline: bool) -> None:
    remote = [p for p in resolution.pins if not p.wheel.url.startswith("file:")]
    if offline and remote:
        raise InstallError(
            f"pip cannot install offline: it has no cache of its own to install from, and "
            f"{len(remote)} locked wheels are on an index",
            hint="use --installer uv (uv installs from its cache with --offline), or run "
            "without --offline",
        )


# uv's own default is 50 downloads at once, and each holds its buffers: 116 MB resident for a
# 2.5 GB TensorFlow stack against 60 MB with 4, in the same time on a link that 4 fill (the
# harness's create rows). The user's own UV_CONCURRENT_DOWNLOADS wins.
UV_DOWNLOADS = "4"


def _uv_downloads(env: dict[str, str] | None) -> dict[str, str] | None:
    """The installer's environment with uv's concurrent downloads bounded (see above)."""
    base = env if env is not None else os.environ
    if base.get("UV_CONCURRENT_DOWNLOADS"):
        return env
    return {**base, "UV_CONCURRENT_DOWNLOADS": UV_DOWNLOADS}


def _with_netrc(
    folder: Path, resolution: Resolution, credentials: Credentials | None
) -> dict[str, str] | None:
    """The installer's environment: ours, with ``NETRC`` naming a private netrc file when any
    wheel's host has a login (None: ours unchanged)."""
    text = credentials.netrc_text(p.wheel.url for p in resolution.pins) if credentials else ""
    if not text:
        return None
    path = folder / "netrc"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return {**os.environ, "NETRC": str(path)}


def _ensure_pip(env: Env) -> list[str]:
    """The pip that installs into ``env``: its own; else the one ensurepip gives it; else, for
    a Python without ensurepip (Debian's without python3-venv), the pip of cudaenv's own
    interpreter run for ``env``'s (``pip --python``, pip >= 22.3), which adds no pip there."""
    own = [str(env.python), "-m", "pip"]
    if process.run([*own, "--version"]).returncode == 0:
        return own
    boot = [str(env.python), "-m", "ensurepip", "--default-pip"]
    done = process.run(boot, text=True)
    if done.returncode == 0:
        return own
    refused = _refused(done.stderr, env)
    if refused is not None:
        raise refused
    ours = [sys.executable, "-m", "pip", "--python", str(env.python)]
    if process.run([*ours, "--version"]).returncode == 0:
        return ours
    raise InstallError(
        f"the environment at {env.prefix} has no pip, its Python has no ensurepip, and "
        "cudaenv's own Python has no pip to lend it",
        context=done.stderr.strip()[-2000:] or None,
        hint="use --installer uv",
    )


def _run(cmd: list[str], sink: Sink, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``cmd``, pass its lines on, return (exit code, last 64 KiB of output)."""

    def each(line: str) -> None:
        if (phase := phase_of(line)) is not None:
            sink(Detail(phase))
        sink(Output(line))

    try:
        return run_streaming(cmd, each, by_line=True, env=env)
    except OSError as e:
        raise InstallError(f"could not run {cmd[0]}: {e.strerror or e}") from e


# What uv and pip print on a pipe as they go -> the step they are at.
_PHASES = (
    (re.compile(r"^Resolved \d+ packages?"), "downloading"),
    (re.compile(r"^Prepared \d+ packages?"), "unpacking into the environment"),
    (re.compile(r"^Installed \d+ packages?"), "done"),
    (re.compile(r"^Collecting ([^\s@]+)"), "collecting {0}"),
    (
        re.compile(r"^\s*Downloading \S*?([^/\s-]+-[^/\s-]+)[^/\s]*\.whl \((.+)\)"),
        "downloading {0} ({1})",
    ),
    (re.compile(r"^Installing collected packages"), "unpacking into the environment"),
)


def phase_of(line: str) -> str | None:
    """The step an installer's output line announces, None for any other line."""
    for pattern, phase in _PHASES:
        if m := pattern.match(line):
            return phase.format(*m.groups())
    return None


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_OFFLINE_WORDS = re.compile(
    r"network (?:connectivity )?(?:is|was) disabled|not found in the cache", re.IGNORECASE
)
_HASH_WORDS = re.compile(
    r"hash mismatch|do not match the hashes|hashes? (?:do not|don't) match", re.IGNORECASE
)


def _failure(
    used: str,
    code: int,
    tail: str,
    resolution: Resolution,
    env: Env,
    *,
    offline: bool = False,
) -> InstallError:
    text = _ANSI.sub("", tail)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    context = "\n".join(lines[-15:]) or None
    refused = _refused(text, env)
    if refused is not None:  # with the line that says so; -v showed the rest as it came
        return refused
    if offline and _OFFLINE_WORDS.search(text):
        return InstallError(
            f"{used} could not install offline: locked wheels are not in its cache",
            context=context,
            hint="run the same command once without --offline to fill the cache",
        )
    if mismatch := _HASH_WORDS.search(text):
        names = _named(text[mismatch.start() :], resolution)
        what = ", ".join(names) if names else "a locked wheel"
        return InstallError(
            f"hash mismatch for {what}: the file downloaded is not the one the lock records",
            context=next((ln for ln in lines if _HASH_WORDS.search(ln)), None),
            hint="the index or a mirror served different bytes; nothing was installed from it. "
            "Check the index (or re-lock if the project re-uploaded the file)",
        )
    return InstallError(
        f"{used} failed to install the locked wheels (exit {code})",
        context=context,
        hint="the environment was removed; fix the cause above and run the command again",
    )


def _refused(output: str, env: Env) -> InstallError | None:
    """The file system's refusal (disk full, read-only, ...) the installer's output reports:
    in the environment, or in the installer's download cache."""
    doing = "install the locked wheels into"
    return oserrors.from_output(
        output, env.prefix, doing=doing, flag="-p PATH", cls=InstallError, shown=True
    )


def _named(text: str, resolution: Resolution) -> list[str]:
    """Pins the installer's message mentions, by file name or by name==version."""
    lowered = text.lower()
    found = []
    for pin in resolution.pins:
        keys = (pin.wheel.filename.lower(), f"{pin.name}=={pin.version}".lower())
        if any(k in lowered for k in keys):
            found.append(f"{pin.name} {pin.version}")
    return found
