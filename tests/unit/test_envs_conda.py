"""The conda/mamba/micromamba backend: command lines as data, tool discovery, ``-n NAME``, and
creation through an executable that behaves like micromamba.

micromamba and mamba cannot be installed on the test machines (conda-forge is unreachable and
neither is on PyPI), so creation is driven here through a small executable at a path, found the
same way the real tool is (PATH or ``MAMBA_EXE``), that answers ``info --json`` with micromamba's
keys (``libmamba/src/api/info.cpp``) and makes the prefix on ``create``. The same backend runs
against the real conda in ``tests/functional/test_conda_plugin.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv.envs import INCOMPLETE_MARKER, MARKER
from cudaenv.envs.conda import (
    DEFAULT_CHANNELS,
    CondaBackend,
    CondaInfo,
    CondaTool,
    MambaBackend,
    MicromambaBackend,
    find_tool,
    prefix_for_name,
)
from cudaenv.envs.conda_failure import create_failure
from cudaenv.errors import EnvError, UsageError
from tests.tools.signals import sigint_raises

DATA = Path(__file__).resolve().parents[1] / "data" / "conda"
HERE = Version(f"{sys.version_info[0]}.{sys.version_info[1]}")

# --- command lines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "kwargs", "expected"),
    [
        (
            CondaTool(kind="conda", argv=("/opt/conda/bin/conda",)),
            {},
            ["/opt/conda/bin/conda", "create", "-y", "-q", "-p", "/e/tf 215"],
        ),
        (
            CondaTool(kind="conda", argv=("/usr/bin/python3", "-m", "conda")),
            {"channels": ["conda-forge", "nvidia"]},
            [
                "/usr/bin/python3",
                "-m",
                "conda",
                "create",
                "-y",
                "-q",
                "-p",
                "/e/tf 215",
                "-c",
                "conda-forge",
                "-c",
                "nvidia",
            ],
        ),
        (
            CondaTool(kind="mamba", argv=("/opt/mf/bin/mamba",)),
            {"offline": True},
            ["/opt/mf/bin/mamba", "create", "-y", "-q", "-p", "/e/tf 215", "--offline"],
        ),
        (
            CondaTool(kind="micromamba", argv=("/opt/micromamba/bin/micromamba",)),
            {"channels": DEFAULT_CHANNELS},
            [
                "/opt/micromamba/bin/micromamba",
                "create",
                "-y",
                "-q",
                "-p",
                "/e/tf 215",
                "-c",
                "conda-forge",
            ],
        ),
    ],
)
def test_create_command_lines(tool, kwargs, expected):
    cmd = tool.create_command(Path("/e/tf 215"), Version("3.11"), **kwargs)
    assert cmd == [*expected, "python=3.11", "pip"]


def test_create_asks_for_the_minor_version_only():
    tool = CondaTool(kind="conda", argv=("conda",))
    assert tool.create_command(Path("/p"), Version("3.10.12"))[-2:] == ["python=3.10", "pip"]
    assert tool.info_command() == ["conda", "info", "--json"]


# --- info --json and channels --------------------------------------------------------------


def test_info_from_a_real_conda_with_no_channels():
    info = CondaInfo.from_json((DATA / "info-conda-26.7.1.json").read_text())
    assert info.channels == ()
    assert info.envs_dirs == (Path("/srv/user/.conda/envs"), Path("/opt/conda/envs"))


def test_info_from_a_real_conda_with_conda_forge():
    info = CondaInfo.from_json((DATA / "info-conda-26.7.1-conda-forge.json").read_text())
    assert info.channels == (
        "https://conda.anaconda.org/conda-forge/linux-64",
        "https://conda.anaconda.org/conda-forge/noarch",
    )


def test_info_with_micromamba_keys():
    text = json.dumps(
        {
            "channels": [],
            "envs_dirs": ["/opt/micromamba/envs"],
            "base environment": "/opt/micromamba",
            "platform": "linux-64",
        }
    )
    assert CondaInfo.from_json(text) == CondaInfo(
        channels=(), envs_dirs=(Path("/opt/micromamba/envs"),)
    )


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"channels": 3}'])
def test_garbled_info_is_an_env_error(text):
    with pytest.raises(EnvError, match="info --json"):
        CondaInfo.from_json(text)


@pytest.mark.parametrize(
    ("user", "configured", "expected"),
    [
        ((), (), DEFAULT_CHANNELS),
        ((), ("https://conda.anaconda.org/conda-forge/linux-64",), ()),
        (("nvidia", "conda-forge"), (), ("nvidia", "conda-forge")),
        (("file:///srv/channel",), ("https://x/linux-64",), ("file:///srv/channel",)),
    ],
)
def test_channels_are_the_users_and_a_default_only_when_none(user, configured, expected):
    backend = CondaBackend(tool=CondaTool(kind="conda", argv=("conda",)), channels=user)
    assert backend.channels_for(CondaInfo(channels=configured, envs_dirs=())) == expected


# --- -n NAME -------------------------------------------------------------------------------


def test_name_goes_to_the_first_writable_envs_dir(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    dirs = (blocker / "envs", tmp_path / "not-yet" / "envs", tmp_path / "later")
    info = CondaInfo(channels=(), envs_dirs=dirs)
    assert prefix_for_name("tf215", info) == tmp_path / "not-yet" / "envs" / "tf215"


def test_no_writable_envs_dir_is_an_env_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(EnvError, match="writable") as e:
        prefix_for_name("tf", CondaInfo(channels=(), envs_dirs=(blocker / "envs",)))
    assert "--prefix" in (e.value.hint or "")


@pytest.mark.parametrize("name", ["", "a/b", "has space", "c:d", "x#y", ".hidden", ".."])
def test_bad_names_are_refused(name, tmp_path):
    with pytest.raises(UsageError, match="not a valid conda environment name"):
        prefix_for_name(name, CondaInfo(channels=(), envs_dirs=(tmp_path,)))


def test_base_is_never_a_target(tmp_path):
    with pytest.raises(UsageError, match="base environment"):
        prefix_for_name("base", CondaInfo(channels=(), envs_dirs=(tmp_path,)))


# --- finding the tool ----------------------------------------------------------------------


def _exe(folder: Path, name: str, body: str = "#!/bin/sh\nexit 0\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body)
    path.chmod(0o755)
    return path


def _path_lookup(folder: Path):
    def lookup(name: str) -> str | None:
        p = folder / name
        return str(p) if p.exists() and os.access(p, os.X_OK) else None

    return lookup


def test_conda_exe_wins_over_path_outside_conda(tmp_path):
    on_path = _exe(tmp_path / "path", "conda")
    exe = _exe(tmp_path / "miniforge" / "bin", "conda")
    found = find_tool("conda", environ={"CONDA_EXE": str(exe)}, lookup=_path_lookup(on_path.parent))
    if "conda.cli" in sys.modules:  # running inside conda: that conda is used
        assert found.argv == (sys.executable, "-m", "conda")
    else:
        assert found == CondaTool(kind="conda", argv=(str(exe),))
    assert find_tool("conda", environ={}, lookup=_path_lookup(on_path.parent)).argv in (
        (str(on_path),),
        (sys.executable, "-m", "conda"),
    )


def test_mamba_exe_is_used_only_for_the_tool_it_names(tmp_path):
    micro = _exe(tmp_path / "bin", "micromamba")
    environ = {"MAMBA_EXE": str(micro)}
    nothing = _path_lookup(tmp_path / "empty")
    assert find_tool("micromamba", environ=environ, lookup=nothing) == CondaTool(
        kind="micromamba", argv=(str(micro),)
    )
    assert find_tool("mamba", environ=environ, lookup=nothing) is None
    mamba = _exe(tmp_path / "path", "mamba")
    assert find_tool("mamba", environ=environ, lookup=_path_lookup(mamba.parent)).argv == (
        str(mamba),
    )


def test_a_non_executable_file_is_not_a_tool(tmp_path):
    path = tmp_path / "micromamba"
    path.write_text("")
    assert find_tool("micromamba", environ={"MAMBA_EXE": str(path)}, lookup=lambda n: None) is None


def test_unknown_tool_kind():
    with pytest.raises(UsageError, match="unknown conda tool"):
        find_tool("pixi")


def test_missing_tool_is_an_env_error_and_nothing_is_made(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("MAMBA_EXE", raising=False)
    prefix = tmp_path / "envs" / "tf"
    with pytest.raises(EnvError, match="micromamba was not found") as e:
        MicromambaBackend().create(prefix, HERE)
    assert "MAMBA_EXE" in (e.value.hint or "")
    assert not (tmp_path / "envs").exists()


# --- creating through a micromamba-like executable -----------------------------------------

_TOOL = """#!{python}
import json, os, subprocess, sys, venv
from pathlib import Path
args = sys.argv[1:]
with open({log!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
mode = os.environ.get("FAKE_TOOL_MODE", "ok")
if args[:2] == ["info", "--json"]:
    print(json.dumps({{"channels": [], "envs_dirs": [{envs!r}], "platform": "linux-64"}}))
    sys.exit(0)
assert args[0] == "create", args
prefix = Path(args[args.index("-p") + 1])
if prefix.exists():
    print("critical libmamba Non-conda folder exists at prefix - aborting.", file=sys.stderr)
    sys.exit(1)
if mode == "slow":
    (prefix / "conda-meta").mkdir(parents=True)
    Path({log!r} + ".pid").write_text(str(os.getpid()))
    import time
    time.sleep(60)
    (prefix / "late-file").write_text("written after the rollback")
    sys.exit(0)
if mode == "fail-latin1":
    sys.stderr.buffer.write(b"error    libmamba Could not open /srv/caf\\xe9/repodata.json\\n")
    sys.exit(1)
if mode == "fail":
    print("error    libmamba Could not solve for environment specs", file=sys.stderr)
    print("    - nothing provides requested python 3.99**", file=sys.stderr)
    sys.exit(1)
(prefix / "conda-meta").mkdir(parents=True)
(prefix / "conda-meta" / "history").write_text("")
if mode != "no-python":
    venv.EnvBuilder(symlinks=True).create(prefix)
"""


@pytest.fixture
def micromamba(tmp_path, monkeypatch):
    """A micromamba on PATH; returns the log of the argv lists it was called with."""
    log = tmp_path / "calls.jsonl"
    body = _TOOL.format(python=sys.executable, log=str(log), envs=str(tmp_path / "mm-envs"))
    exe = _exe(tmp_path / "bin", "micromamba", body)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("MAMBA_EXE", raising=False)

    def calls() -> list[list[str]]:
        return [json.loads(ln) for ln in log.read_text().splitlines()] if log.exists() else []

    calls.exe = exe  # type: ignore[attr-defined]
    return calls


def test_micromamba_creates_an_env_with_conda_forge_when_none_configured(micromamba, tmp_path):
    prefix = tmp_path / "envs" / "tf 2.15"
    env = MicromambaBackend().create(prefix, HERE)
    assert env.backend == "micromamba" and env.is_conda
    assert env.prefix == prefix and env.python == prefix / "bin" / "python"
    assert env.site_packages.is_relative_to(prefix) and env.site_packages.name == "site-packages"
    assert not (prefix / INCOMPLETE_MARKER).exists()
    assert micromamba() == [
        ["info", "--json"],
        ["create", "-y", "-q", "-p", str(prefix), "-c", "conda-forge", f"python={HERE}", "pip"],
    ]


def test_named_env_lands_in_the_tools_envs_dir(micromamba, tmp_path):
    backend = MicromambaBackend(channels=["file:///srv/ch"], offline=True)
    prefix = backend.prefix_for_name("spacy37")
    assert prefix == tmp_path / "mm-envs" / "spacy37"
    backend.create(prefix, HERE)
    assert micromamba()[-1][-5:] == ["-c", "file:///srv/ch", "--offline", f"python={HERE}", "pip"]
    assert [c[0] for c in micromamba()].count("info") == 1  # asked once per backend


def test_a_failed_create_rolls_back_and_shows_the_tools_words(micromamba, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TOOL_MODE", "fail")
    prefix = tmp_path / "new" / "deeper" / "env"
    with pytest.raises(EnvError, match=r"`micromamba create` failed \(exit 1\)") as e:
        MicromambaBackend().create(prefix, HERE)
    assert "nothing provides requested python 3.99" in (e.value.context or "")
    assert "--channel" in (e.value.hint or "")
    assert not (tmp_path / "new").exists()


def test_a_tool_message_that_is_not_utf8_is_shown_not_a_traceback(
    micromamba, tmp_path, monkeypatch
):
    monkeypatch.setenv("FAKE_TOOL_MODE", "fail-latin1")
    with pytest.raises(EnvError, match="failed") as e:
        MicromambaBackend().create(tmp_path / "env", HERE)
    assert "Could not open /srv/caf\ufffd/repodata.json" in (e.value.context or "")
    assert not (tmp_path / "env").exists()


def test_an_env_without_python_is_refused_and_removed(micromamba, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TOOL_MODE", "no-python")
    prefix = tmp_path / "env"
    with pytest.raises(EnvError, match="has no working Python"):
        MicromambaBackend().create(prefix, HERE)
    assert not prefix.exists()


def test_force_replaces_a_conda_env_and_keeps_it_if_the_new_one_fails(
    micromamba, tmp_path, monkeypatch
):
    prefix = tmp_path / "env"
    MicromambaBackend().create(prefix, HERE)
    (prefix / "conda-meta" / "history").write_text("the old one")  # the tool's own file
    monkeypatch.setenv("FAKE_TOOL_MODE", "fail")
    with pytest.raises(EnvError):
        MicromambaBackend().create(prefix, HERE, force=True)
    assert (prefix / "conda-meta" / "history").read_text() == "the old one"
    monkeypatch.setenv("FAKE_TOOL_MODE", "ok")
    MicromambaBackend().create(prefix, HERE, force=True)
    assert (prefix / "conda-meta" / "history").read_text() != "the old one"


def test_force_never_replaces_a_conda_env_the_tool_made_without_cudaenv(micromamba, tmp_path):
    prefix = tmp_path / "env"
    MicromambaBackend().create(prefix, HERE)
    (prefix / MARKER).unlink()  # as `micromamba create -p env` alone leaves it
    before = sorted(str(p) for p in prefix.rglob("*"))
    with pytest.raises(EnvError, match="not made by cudaenv"):
        MicromambaBackend().create(prefix, HERE, force=True)
    assert sorted(str(p) for p in prefix.rglob("*")) == before


def test_backends_differ_only_by_tool_name():
    assert (CondaBackend.name, MambaBackend.name, MicromambaBackend.name) == (
        "conda",
        "mamba",
        "micromamba",
    )
    assert MambaBackend.perform_create is CondaBackend.perform_create
    assert CondaBackend.makes_own_directory is True


def test_ctrl_c_during_create_stops_the_tool_and_removes_the_prefix(
    micromamba, tmp_path, monkeypatch
):
    import signal
    import threading
    import time

    monkeypatch.setenv("FAKE_TOOL_MODE", "slow")
    pid_file = tmp_path / "calls.jsonl.pid"
    prefix = tmp_path / "env"

    def interrupt() -> None:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with sigint_raises(), pytest.raises(KeyboardInterrupt):
        MicromambaBackend().create(prefix, HERE)
    assert not prefix.exists()
    with pytest.raises(ProcessLookupError):  # the tool was stopped (and reaped), not orphaned
        os.kill(int(pid_file.read_text()), 0)


# --- why `create` failed: conda's own words first --------------------------------------------


def _captured(stem: str) -> subprocess.CompletedProcess[str]:
    """A failed ``conda create`` as conda 26.7.1 wrote it (tests/data/conda/create-*)."""
    out, err = ((DATA / f"{stem}.{s}").read_text() for s in ("stdout", "stderr"))
    return subprocess.CompletedProcess(["conda", "create"], 1, out, err)


@pytest.mark.parametrize(
    ("stem", "message", "hint"),
    [
        (
            "create-no-libmamba",
            "`conda create` failed (exit 1): solver backend (libmamba) is not installed",
            "set CONDA_SOLVER=classic, or install conda-libmamba-solver",
        ),
        (
            "create-not-found",
            "`conda create` failed (exit 1): The following packages are not available from "
            "current channels:",
            "name a channel that has them with --channel, or choose another --python",
        ),
        (
            "create-bad-channel",
            "`conda create` failed (exit 1): HTTP 404 UNAVAILABLE OR INVALID for channel "
            "nochannel <file:///srv/conda/nochannel>",
            "check the channel and the network, or name another with --channel",
        ),
    ],
)
def test_a_failed_conda_create_says_condas_reason_first(stem, message, hint):
    err = create_failure("conda", _captured(stem))
    assert (err.message, err.hint) == (message, hint)
    assert err.context  # conda's whole message stays beside it


def test_a_mamba_failure_names_its_error_line():
    done = subprocess.CompletedProcess(
        ["micromamba"],
        1,
        "",
        "info     libmamba Parsing MatchSpec python=3.99\n"
        "error    libmamba Could not solve for environment specs\n"
        "    - nothing provides requested python 3.99**\n",
    )
    err = create_failure("micromamba", done)
    assert err.message == (
        "`micromamba create` failed (exit 1): Could not solve for environment specs"
    )
