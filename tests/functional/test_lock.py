"""Locks on real installers: wheels built by the tests, served by a real index on 127.0.0.1.

``uv pip install -r pylock.toml`` is a PEP 751 client that nobody here wrote: it must install a
cudaenv lock into a fresh venv and refuse a tampered one. The hashed requirements export must
install with pip (and uv) in ``--require-hashes`` mode. ``cudaenv lock --check`` must notice a
file that changed on the index and a release the recipes now list as bad.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.pylock import Pylock
from packaging.version import Version

from cudaenv import lock
from cudaenv._toml import tomllib
from cudaenv.driver import DriverVersion
from cudaenv.knowledge import load as load_knowledge
from cudaenv.request import FrameworkRequest, Target
from cudaenv.resolution import Pin, Resolution, Stack
from tests.tools.pins import pin_for as tools_pin_for

BIN = Path(sys.executable).parent
UV = BIN / "uv"
PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
FAKE_SHA = "0" * 64
UPLOADED = "2024-05-01T10:00:00+00:00"


def pin_for(wheel: Path, index, group: str, needs: tuple[str, ...] = ()) -> Pin:
    return tools_pin_for(
        wheel, index, group, upload_time=UPLOADED, why=("test",), dependencies=needs
    )


@pytest.fixture
def locked(make_wheel, make_nvidia_wheel, local_index) -> Resolution:
    """A small stack: an NVIDIA runtime wheel with a real .so and a pure package needing it."""
    runtime = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    app = make_wheel(
        "gpuapp",
        "1.0",
        requires_dist=["nvidia-cuda-runtime-cu12==12.2.140"],
        files={"gpuapp/__init__.py": b"VERSION = '1.0'\n"},
    )
    return Resolution(
        pins=(
            pin_for(app, local_index, "framework", ("nvidia-cuda-runtime-cu12",)),
            pin_for(runtime, local_index, "cuda"),
        ),
        target=Target.from_strings(PY, "manylinux_2_17_x86_64"),
        frameworks=(FrameworkRequest.from_string("tensorflow", "2.15"),),
        stack=Stack(
            cuda=Version("12.2"),
            cudnn=Version("8.9"),
            min_cuda=Version("12.0"),
            driver_floor=DriverVersion.parse("525.60.13"),
        ),
        index_url=local_index.url,
    )


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_NO_CONFIG="1")
    env.pop("VIRTUAL_ENV", None)
    return env


def _venv(tmp_path: Path, name: str) -> Path:
    prefix = tmp_path / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", prefix], check=True)
    return prefix / "bin" / "python"


def _run(cmd: list[str | Path], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, env=_env(tmp_path), check=False
    )


def _installed(python: Path) -> str:
    code = (
        "import gpuapp, importlib.metadata as m, pathlib, nvidia.cuda_runtime as n;"
        "print(gpuapp.VERSION, m.version('nvidia-cuda-runtime-cu12'),"
        " (pathlib.Path(list(n.__path__)[0]) / 'lib' / 'libcudart.so.12').is_file())"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _tamper(text: str, sha256: str) -> str:
    return text.replace(sha256, FAKE_SHA)


@pytest.mark.skipif(not UV.exists(), reason="uv is not installed next to this Python")
def test_uv_installs_the_lock_and_refuses_a_tampered_one(tmp_path, locked) -> None:
    (tmp_path / "good").mkdir()
    good = lock.write(locked, tmp_path / "good" / "pylock.toml", knowledge_version="t")
    python = _venv(tmp_path, "env-good")
    done = _run([UV, "pip", "install", "--python", python, "-r", good], tmp_path)
    assert done.returncode == 0, done.stderr
    assert _installed(python) == "1.0 12.2.140 True"

    bad = tmp_path / "bad" / "pylock.toml"
    bad.parent.mkdir()
    bad.write_text(_tamper(good.read_text(), locked.pins[1].wheel.sha256))
    assert lock.read(bad).pins[1].wheel.sha256 == FAKE_SHA  # still well-formed: only hashes tell
    python = _venv(tmp_path, "env-bad")
    refused = _run([UV, "pip", "install", "--python", python, "-r", bad], tmp_path)
    assert refused.returncode != 0
    assert "hash mismatch" in refused.stderr.lower()
    assert _installed(python) == ""


def _pip(python: Path, req: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "--isolated", "--python", python, "install"]
    cmd += ["--no-deps", "--require-hashes", "--no-cache-dir", "--no-index", "-r", req]
    return _run(cmd, tmp_path)


def test_requirements_export_installs_with_pip_require_hashes(tmp_path, locked) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(lock.requirements_txt(locked))
    python = _venv(tmp_path, "env-pip")
    done = _pip(python, req, tmp_path)
    assert done.returncode == 0, done.stderr
    assert _installed(python) == "1.0 12.2.140 True"

    req.write_text(_tamper(req.read_text(), locked.pins[0].wheel.sha256))
    python = _venv(tmp_path, "env-pip-bad")
    refused = _pip(python, req, tmp_path)
    assert refused.returncode != 0
    assert "do not match" in refused.stderr.lower()


@pytest.mark.skipif(not UV.exists(), reason="uv is not installed next to this Python")
def test_requirements_export_installs_with_uv_require_hashes(tmp_path, locked) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text(lock.requirements_txt(locked))
    python = _venv(tmp_path, "env-uv")
    cmd = [UV, "pip", "install", "--python", python, "--no-deps", "--require-hashes", "-r", req]
    done = _run(cmd, tmp_path)
    assert done.returncode == 0, done.stderr
    assert _installed(python) == "1.0 12.2.140 True"


def _pip_section(environment_yml: str) -> list[str]:
    """The ``pip:`` entries of our export (each a JSON-style double-quoted YAML scalar)."""
    body = environment_yml.split("  - pip:\n", 1)[1]
    return [json.loads(ln.strip().removeprefix("- ")) for ln in body.splitlines()]


def test_environment_yml_pip_section_installs_the_way_conda_runs_it(tmp_path, locked) -> None:
    """conda writes the ``pip:`` entries, joined by newlines, to a requirements file and runs
    ``pip install -U -r FILE --exists-action=b`` (conda/env/installers/pip.py): the per-line
    hashes must survive that, and pip must then be in hash-checking mode."""
    entries = _pip_section(lock.environment_yml(locked))
    assert entries == [lock.requirement_line(p) for p in locked.pins]
    req = tmp_path / "condaenv.requirements.txt"
    req.write_text("\n".join(entries))
    python = _venv(tmp_path, "env-conda-pip")
    cmd = [sys.executable, "-m", "pip", "--isolated", "--python", python, "install", "-U"]
    done = _run([*cmd, "-r", req, "--exists-action=b", "--no-index", "--no-cache-dir"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert _installed(python) == "1.0 12.2.140 True"

    req.write_text("\n".join(_tamper(e, locked.pins[1].wheel.sha256) for e in entries))
    python = _venv(tmp_path, "env-conda-pip-bad")
    refused = _run([*cmd, "-r", req, "--no-index", "--no-cache-dir"], tmp_path)
    assert refused.returncode != 0 and "do not match" in refused.stderr.lower()


# --- cudaenv lock --check: the real index client against the local index -------------------


def _write_lock(resolution: Resolution, tmp_path: Path) -> Path:
    return lock.write(resolution, tmp_path / "pylock.toml", knowledge_version="t")


def _check(cli, path: Path, tmp_path: Path, *extra: str):
    return cli("lock", "--check", str(path), "--cache-dir", str(tmp_path / "cache"), *extra)


def test_check_passes_for_an_unchanged_lock(cli, tmp_path, locked) -> None:
    result = _check(cli, _write_lock(locked, tmp_path), tmp_path)
    assert result.code == 0, result.err
    assert "valid (2 wheels" in result.out


def test_check_detects_a_changed_hash_on_the_index(cli, tmp_path, locked, make_wheel) -> None:
    path = _write_lock(locked, tmp_path)
    assert _check(cli, path, tmp_path).code == 0  # also warms the page cache
    make_wheel(  # the same file name re-uploaded with other bytes
        "gpuapp", "1.0", files={"gpuapp/__init__.py": b"VERSION = 'tampered, longer'\n"}
    )
    result = _check(cli, path, tmp_path)
    assert result.code == 2
    old = locked.pins[0].wheel.sha256
    assert "gpuapp 1.0: gpuapp-1.0-py3-none-any.whl changed on the index" in result.out
    assert f"the lock has {old}" in result.out
    assert f"make a new lock with `cudaenv lock … -o {path}`" in result.out
    assert "Traceback" not in result.err


def test_check_detects_a_removed_and_a_yanked_file(cli, tmp_path, locked, local_index) -> None:
    path = _write_lock(locked, tmp_path)
    (local_index.root / locked.pins[0].wheel.filename).unlink()
    local_index.yank(locked.pins[1].wheel.filename, "broken libcudart")
    result = _check(cli, path, tmp_path, "--json")
    assert result.code == 2
    doc = json.loads(result.out)
    assert doc["valid"] is False
    assert doc["problems"] == [
        "gpuapp 1.0: gpuapp-1.0-py3-none-any.whl is no longer on the index",
        f"nvidia-cuda-runtime-cu12 12.2.140: {locked.pins[1].wheel.filename} was yanked: "
        "broken libcudart",
    ]


def test_check_names_a_file_yanked_without_a_reason(cli, tmp_path, locked, local_index) -> None:
    """PEP 691 says ``"yanked": true`` when no reason was given: still a problem, said plainly."""
    path = _write_lock(locked, tmp_path)
    local_index.yank(locked.pins[0].wheel.filename)
    result = _check(cli, path, tmp_path, "--json")
    assert result.code == 2
    assert json.loads(result.out)["problems"] == [
        "gpuapp 1.0: gpuapp-1.0-py3-none-any.whl was yanked"
    ]


def test_check_detects_a_release_the_recipes_now_list_as_bad(
    cli, tmp_path, locked, make_wheel, local_index
) -> None:
    """spaCy 3.7.3 is listed in constraints/exclusions.toml (yanked on PyPI)."""
    spacy = pin_for(make_wheel("spacy", "3.7.3"), local_index, "framework")
    from dataclasses import replace

    path = _write_lock(replace(locked, pins=(spacy, *locked.pins)), tmp_path)
    result = _check(cli, path, tmp_path)
    assert result.code == 2
    assert "spacy 3.7.3 is now listed as bad: yanked on PyPI: Bug in multiprocessing" in result.out


def test_check_of_a_corrupt_lock_names_the_line(cli, tmp_path, locked) -> None:
    path = _write_lock(locked, tmp_path)
    lines = path.read_text().splitlines()
    n = lines.index('name = "gpuapp"') + 1  # 0-based index of the version line
    assert lines[n] == 'version = "1.0"'
    lines[n] = 'version = "1.0'
    path.write_text("\n".join(lines))
    result = _check(cli, path, tmp_path)
    assert result.code == 2
    assert f"error: {path} is not valid TOML" in result.err and f"line {n + 1}," in result.err
    assert "Traceback" not in result.err


# --- cudaenv lock: bad input is refused before any solve ------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--tf", "2.15", "-o", "lock.toml"), "'lock.toml' is not a PEP 751 lock file name"),
        (("-o", "pylock.toml"), "nothing to solve: no framework was asked for"),
        (("--tf", "two", "-o", "pylock.gpu.toml"), "'two' is not a tensorflow version"),
        (("--tf", "2.15", "--python", "2"), "--python '2' is not a Python 3 version"),
        (("--check", "pylock.toml", "--tf", "2.15"), "--check reads an existing lock"),
    ],
)
def test_lock_refuses_bad_input_with_one_sentence(
    cli, tmp_path, monkeypatch, argv, message
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("lock", *argv)
    assert result.code == 2
    assert result.err.startswith(f"error: {message}")
    assert "hint:" in result.err and "Traceback" not in result.err
    assert list(tmp_path.iterdir()) == []


# --- cudaenv lock: solve on the local index, then write ------------------------------------


@pytest.fixture
def tf_index(make_wheel, local_index):
    """TensorFlow 2.15.1 whose and-cuda extra names the NVIDIA wheels of the real 2.15 recipe."""
    wheels = load_knowledge().tf_line(Version("2.15.1")).wheels
    extra = [f'{r.name}{r.specifier}; extra == "and-cuda"' for r in wheels]
    cp = f"cp{PY.replace('.', '')}"
    make_wheel(
        "tensorflow",
        "2.15.1",
        requires_dist=[*extra, "numpy>=1.23"],
        provides_extra=["and-cuda"],
        tag=f"{cp}-{cp}-manylinux_2_17_x86_64",
    )
    for r in wheels:
        make_wheel(r.name, str(next(iter(r.specifier)).version), tag="py3-none-manylinux1_x86_64")
    make_wheel("numpy", "1.26.4", tag=f"{cp}-{cp}-manylinux_2_17_x86_64")
    return local_index


def _lock_cli(cli, index, tmp_path: Path, *extra: str, url: str | None = None):
    return cli(
        "lock",
        "--tf",
        "2.15",
        "--driver",
        "535.104.05",
        "--python",
        PY,
        "--platform",
        "manylinux_2_28_x86_64",
        "--index-url",
        url or index.url,
        "--cache-dir",
        str(tmp_path / "cache"),
        *extra,
    )


@pytest.mark.skipif(PY != "3.11", reason="the TF 2.15 recipe supports Python 3.9-3.11")
@pytest.mark.parametrize(
    ("fmt", "name"), [("pylock", "pylock.toml"), ("requirements", "requirements.txt")]
)
def test_lock_output_into_a_folder_that_does_not_exist_makes_it(
    cli, tmp_path, tf_index, fmt, name
) -> None:
    path = tmp_path / "new dir" / "locks" / name
    result = _lock_cli(cli, tf_index, tmp_path, "--format", fmt, "-o", str(path))
    assert result.code == 0, result.err
    assert path.is_file() and "tensorflow" in path.read_text()


@pytest.mark.skipif(PY != "3.11", reason="the TF 2.15 recipe supports Python 3.9-3.11")
@pytest.mark.skipif(not UV.exists(), reason="uv is not installed next to this Python")
def test_lock_command_writes_a_lock_that_checks_and_installs(cli, tmp_path, tf_index) -> None:
    path = tmp_path / "pylock.toml"
    result = _lock_cli(cli, tf_index, tmp_path, "-o", str(path))
    assert result.code == 0, result.err
    assert f"wrote {path} (pylock, 14 wheels, hashed)" in result.out
    text = path.read_text()
    Pylock.from_dict(tomllib.loads(text)).validate()
    info = lock.load(path)
    r = info.resolution
    assert r.pin("tensorflow").version == Version("2.15.1")
    assert r.pin("tensorflow").group == "framework"
    assert r.pin("nvidia-cudnn-cu12").version == Version("8.9.4.25")
    assert (str(r.stack.cuda), str(r.stack.min_cuda), str(r.stack.driver_floor)) == (
        "12.2",
        "12.0",
        "525.60.13",
    )
    assert info.knowledge_version == load_knowledge().version
    assert lock.dumps(r, knowledge_version=info.knowledge_version) == text  # read/write stable
    assert _check(cli, path, tmp_path).code == 0

    python = _venv(tmp_path, "env-tf")
    done = _run([UV, "pip", "install", "--python", python, "-r", path], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "+ tensorflow==2.15.1" in done.stderr


@pytest.mark.skipif(PY != "3.11", reason="the TF 2.15 recipe supports Python 3.9-3.11")
@pytest.mark.skipif(not UV.exists(), reason="uv is not installed next to this Python")
def test_a_lock_solved_on_an_index_url_with_credentials_writes_none(
    cli, tmp_path, tf_index
) -> None:
    """An index URL often carries a token (PIP_INDEX_URL); a lock is committed and shared. The
    lock and both exports keep the URLs without it, and the lock still installs (this index is
    public; a private one gets its credentials from the installer's netrc/keyring/index URL)."""
    private = tf_index.url.replace("http://", "http://alice:s3cr3t@", 1)
    path = tmp_path / "pylock.toml"
    result = _lock_cli(cli, tf_index, tmp_path, "-o", str(path), url=private)
    assert result.code == 0, result.err
    text = path.read_text()
    assert "s3cr3t" not in text and "alice" not in text
    assert lock.read(path).index_url == tf_index.url
    assert text.count(f'url = "{tf_index.base}/files/') == 14
    for fmt in ("requirements", "environment.yml"):
        export = _lock_cli(cli, tf_index, tmp_path, "--format", fmt, "-o", "-", url=private)
        assert export.code == 0, export.err
        assert "s3cr3t" not in export.out and "alice" not in export.out
        assert export.out.count(f" @ {tf_index.base}/files/") == 14

    python = _venv(tmp_path, "env-tf")
    done = _run([UV, "pip", "install", "--python", python, "-r", path], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "+ tensorflow==2.15.1" in done.stderr


@pytest.mark.skipif(PY != "3.11", reason="the TF 2.15 recipe supports Python 3.9-3.11")
def test_lock_command_exports_to_stdout(cli, tmp_path, tf_index) -> None:
    result = _lock_cli(cli, tf_index, tmp_path, "--format", "requirements", "-o", "-")
    assert result.code == 0, result.err
    lines = [ln for ln in result.out.splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == 14
    assert all(" @ http://127.0.0.1:" in ln and " --hash=sha256:" in ln for ln in lines)
    result = _lock_cli(cli, tf_index, tmp_path, "--format", "environment.yml", "-o", "-")
    assert result.code == 0, result.err
    assert len(_pip_section(result.out)) == 14
    assert "  - python=3.11\n" in result.out


@pytest.mark.skipif(PY != "3.11", reason="the TF 2.15 recipe supports Python 3.9-3.11")
def test_a_solved_resolution_round_trips_exactly(tmp_path, tf_index) -> None:
    from cudaenv.index import Index
    from cudaenv.machine import Overrides, detect
    from cudaenv.request import Request
    from cudaenv.solver import solve

    know = load_knowledge()
    request = Request.from_args(tf="2.15", spacy=None, python=PY, platform="manylinux_2_28_x86_64")
    overrides = Overrides.from_env_and_args(driver="535.104.05", environ={})
    machine = detect(overrides, driver_to_cuda=know.max_cuda_for_driver)
    with Index(tf_index.url, cache_dir=tmp_path / "cache") as index:
        solved = solve(request, machine, know, index)
    text = lock.dumps(solved, knowledge_version=know.version)
    assert lock.from_pylock(Pylock.from_dict(tomllib.loads(text))) == solved
    assert all(p.wheel.upload_time for p in solved.pins)  # the index gave times; they survive


# --- conda env create -f environment.yml (conda itself; CI has none) -------------------------

HAS_CONDA = importlib.util.find_spec("conda") is not None
NO_CONDA = "conda is not importable in this interpreter (it is not on PyPI; CI has none)"


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_conda_env_create_installs_the_export_and_refuses_a_tampered_one(
    tmp_path, locked, monkeypatch
) -> None:
    """conda-forge is out of reach, so Python and pip come from a local channel that conda
    solves, fetches and links itself (tests/tools/conda_channel.py); the pip section is ours."""
    from tests.tools.conda_channel import make_channel

    channel = make_channel(tmp_path / "channel")
    for var, sub in (("HOME", "home"), ("CONDA_ENVS_DIRS", "envs"), ("CONDA_PKGS_DIRS", "pkgs")):
        (tmp_path / sub).mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("CONDA_SOLVER", "classic")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    yml = tmp_path / "environment.yml"
    yml.write_text(lock.environment_yml(locked, channels=[channel]))

    def create(prefix: Path) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "conda", "env", "create", "-q", "-f", yml, "-p", prefix]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    done = create(tmp_path / "env")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _installed(tmp_path / "env" / "bin" / "python") == "1.0 12.2.140 True"

    yml.write_text(_tamper(yml.read_text(), locked.pins[1].wheel.sha256))
    refused = create(tmp_path / "env-bad")
    assert refused.returncode != 0
    assert "do not match" in (refused.stdout + refused.stderr).lower()
