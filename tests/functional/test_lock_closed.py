"""A lock is valid only if it is closed: every locked package's requirements are in the lock.

Locks are made for real: by ``cudaenv lock`` (a solve on a local index of TensorFlow 2.15 and
its NVIDIA wheels) and by ``uv pip compile --format pylock.toml`` (a third-party lock without
cudaenv's tables), then cut as a truncated download or a bad merge would. ``lock --check`` and
``create --from`` must refuse them, naming the first missing requirement, before anything is
made.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv import lock
from cudaenv.knowledge import load as load_knowledge

PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
CP = f"cp{sys.version_info[0]}{sys.version_info[1]}"
UV = Path(sys.executable).parent / "uv"
TF_PY = pytest.mark.skipif(PY != "3.11", reason="the TF 2.15 recipe supports Python 3.9-3.11")


@pytest.fixture
def tf_index(make_wheel, local_index):
    """TensorFlow 2.15.1 whose and-cuda extra names the NVIDIA wheels of the real 2.15 recipe;
    tf-keras-like ``keras`` needs ``absl-py``, so the graph is more than a star."""
    wheels = load_knowledge().tf_line(Version("2.15.1")).wheels
    extra = [f'{r.name}{r.specifier}; extra == "and-cuda"' for r in wheels]
    make_wheel(
        "tensorflow",
        "2.15.1",
        requires_dist=[*extra, "numpy>=1.23", "keras>=2.15,<2.16"],
        provides_extra=["and-cuda"],
        tag=f"{CP}-{CP}-manylinux_2_17_x86_64",
    )
    for r in wheels:
        make_wheel(r.name, str(next(iter(r.specifier)).version), tag="py3-none-manylinux1_x86_64")
    make_wheel("numpy", "1.26.4", tag=f"{CP}-{CP}-manylinux_2_17_x86_64")
    make_wheel("keras", "2.15.0", requires_dist=["absl-py>=1"])
    make_wheel("absl-py", "2.1.0")
    return local_index


def lock_tf(cli, index, tmp_path: Path) -> Path:
    path = tmp_path / "pylock.toml"
    result = cli(
        "lock", "--tf", "2.15", "--driver", "535.104.05", "--python", PY,
        "--platform", "manylinux_2_28_x86_64", "--index-url", index.url,
        "--cache-dir", str(tmp_path / "cache"), "-o", str(path),
    )  # fmt: skip
    assert result.code == 0, result.err
    return path


def cut(path: Path, keep: int) -> Path:
    """The lock truncated just before its ``keep``-th ``[[packages]]`` table (0-based)."""
    text = path.read_text()
    starts = [m.start() for m in re.finditer(r"^\[\[packages\]\]$", text, re.MULTILINE)]
    out = path.with_name("pylock.cut.toml")
    out.write_text(text[: starts[keep]])
    return out


def check(cli, path: Path, tmp_path: Path, *extra: str):
    return cli("lock", "--check", str(path), "--cache-dir", str(tmp_path / "cache"), *extra)


@TF_PY
def test_cudaenv_records_each_packages_dependencies_and_the_whole_lock_checks(
    cli, tmp_path, tf_index
):
    path = lock_tf(cli, tf_index, tmp_path)
    r = lock.read(path)
    tf = r.pin("tensorflow")
    assert tf.dependencies is not None
    assert {"numpy", "keras", "nvidia-cudnn-cu12"} <= set(tf.dependencies)
    assert r.pin("keras").dependencies == ("absl-py",)
    assert r.pin("absl-py").dependencies == ()
    assert 'dependencies = [\n    { name = "absl-py" },\n]' in path.read_text()
    result = check(cli, path, tmp_path)
    assert result.code == 0, result.err
    assert "valid (" in result.out


@TF_PY
def test_a_lock_cut_at_any_packages_boundary_is_refused_by_check_and_create(
    cli, tmp_path, tf_index
):
    path = lock_tf(cli, tf_index, tmp_path)
    count = len(lock.read(path).pins)
    for keep in range(1, count):
        short = cut(path, keep)
        result = check(cli, short, tmp_path)
        assert result.code == 2, (keep, result.out)
        assert "cut short or edited" in result.err
        assert "valid (" not in result.out
        assert "created-by = 'cudaenv'" not in result.err + result.out
        assert "Traceback" not in result.err
    prefix = tmp_path / "env"
    made = cli("create", "--from", str(cut(path, count - 1)), "-p", str(prefix), "--no-smoke")
    assert made.code == 2
    assert "cut short or edited" in made.err
    assert "ready" not in made.out
    assert not prefix.exists()


@TF_PY
def test_a_lock_missing_a_package_names_who_needs_it(cli, tmp_path, tf_index):
    path = lock_tf(cli, tf_index, tmp_path)
    edited = without(path, "absl-py")  # [tool.cudaenv] and every other package are still there
    result = check(cli, edited, tmp_path)
    assert result.code == 2
    assert (
        f"error: {edited} is not complete: keras 2.15.0 depends on absl-py, which the lock "
        "does not hold" in result.err
    )
    prefix = tmp_path / "env"
    made = cli("create", "--from", str(edited), "-p", str(prefix), "--no-smoke")
    assert made.code == 2
    assert "keras 2.15.0 depends on absl-py" in made.err
    assert not prefix.exists()


@TF_PY
def test_a_cudaenv_lock_without_its_table_says_so_and_is_refused(cli, tmp_path, tf_index):
    path = lock_tf(cli, tf_index, tmp_path)
    text = path.read_text()
    path.write_text(text[: text.index("[tool.cudaenv]")])  # every package is still there
    result = check(cli, path, tmp_path)
    assert result.code == 2
    assert "written by cudaenv, but its [tool.cudaenv] table is missing" in result.err
    assert "not written by cudaenv" not in result.err + result.out


@TF_PY
@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--driver", "418.39", "this lock needs NVIDIA driver ≥ 525.60.13"),
        ("--cuda", "11.8", "this lock needs NVIDIA driver ≥ 525.60.13 (CUDA ≥ 12.0)"),
    ],
)
def test_check_honours_driver_and_cuda(cli, tmp_path, tf_index, flag, value, says):
    path = lock_tf(cli, tf_index, tmp_path)
    assert check(cli, path, tmp_path, flag, "550.54.15" if flag == "--driver" else "12.4").code == 0
    result = check(cli, path, tmp_path, flag, value, "--json")
    assert result.code == 2
    doc = json.loads(result.out)
    assert doc["valid"] is False
    assert any(p.startswith(says) for p in doc["problems"]), doc


# --- a third-party lock: no dependency edges, so METADATA from the index decides -------------


def uv_lock(tmp_path: Path, index, requirements: str) -> Path:
    req = tmp_path / "requirements.in"
    req.write_text(requirements)
    out = tmp_path / "pylock.toml"
    env = {**os.environ, "UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")}
    env.pop("PIP_FIND_LINKS", None)
    done = subprocess.run(
        [str(UV), "pip", "compile", str(req), "-o", str(out), "--format", "pylock.toml",
         "--index-url", index.url, "--python-version", platform.python_version(),
         "--no-header", "-q"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def without(path: Path, name: str) -> Path:
    """The lock with the ``[[packages]]`` table of ``name`` (and what hangs under it) removed."""
    text = path.read_text()
    tables = re.split(r"(?m)^(?=\[\[packages\]\]$)", text)
    kept = [t for t in tables if not t.startswith(f'[[packages]]\nname = "{name}"\n')]
    assert len(kept) == len(tables) - 1, f"{name} is not a package of {path}"
    out = path.with_name("pylock.edited.toml")
    out.write_text("".join(kept))
    return out


@pytest.fixture
def app_index(make_wheel, local_index):
    """app needs lib[fast] and (only on Python 2) oldlib and (only on this exact Python) patch;
    lib's extra "fast" needs speedups."""
    make_wheel(
        "app",
        "1.0",
        requires_dist=[
            "lib[fast]>=1",
            "oldlib; python_version < '3'",
            f"patch; python_full_version == '{platform.python_version()}'",
        ],
    )
    make_wheel("lib", "1.2", requires_dist=["speedups; extra == 'fast'"], provides_extra=["fast"])
    make_wheel("speedups", "0.3")
    make_wheel("patch", "1.0")
    make_wheel("oldlib", "1.0")
    return local_index


@pytest.mark.skipif(not UV.exists(), reason="uv is not installed next to this Python")
def test_a_third_party_lock_is_checked_against_the_index_metadata(cli, tmp_path, app_index):
    full = uv_lock(tmp_path, app_index, "app\n")
    assert "[tool.cudaenv]" not in full.read_text()
    ok = check(cli, full, tmp_path, "--index-url", app_index.url)
    assert ok.code == 0, ok.err

    for gone, needed in (
        ("speedups", "lib 1.2 requires speedups (extra fast), which the lock lacks"),
        ("patch", "app 1.0 requires patch, which the lock lacks"),  # on this exact Python
    ):
        edited = without(full, gone)
        result = check(cli, edited, tmp_path, "--index-url", app_index.url)
        assert result.code == 2, result.out
        assert "is not complete" in result.err
        assert needed in result.err
        prefix = tmp_path / "env"
        made = cli(
            "create", "--from", str(edited), "-p", str(prefix), "--no-smoke",
            "--index-url", app_index.url, "--cache-dir", str(tmp_path / "cache"),
        )  # fmt: skip
        assert made.code == 2, made.out
        assert needed in made.err
        assert not prefix.exists()


def test_a_pin_outside_a_requirements_range_is_refused(cli, tmp_path, app_index, make_wheel):
    """A lock (no dependency edges recorded) whose lib is older than app requires."""
    from dataclasses import replace

    from tests.functional.test_install import resolution_of
    from tests.tools.pins import pin_for

    old = make_wheel("lib", "0.9")
    wheels = {w.name.split("-")[0]: w for w in app_index.root.glob("*.whl")}
    names = ("app", "speedups", "patch")
    pins = [pin_for(wheels[n], app_index, dependencies=None) for n in names]
    pins.append(pin_for(old, app_index, dependencies=None))
    resolution = replace(resolution_of(*pins), index_url=app_index.url)
    path = lock.write(resolution, tmp_path / "pylock.toml", knowledge_version="t")
    result = check(cli, path, tmp_path)
    assert result.code == 2
    assert "app 1.0 requires lib[fast]>=1, the lock has lib 0.9" in result.err


@TF_PY
def test_check_honours_python_and_platform(cli, tmp_path, tf_index):
    path = lock_tf(cli, tf_index, tmp_path)
    for flag, value, says in (
        ("--python", "3.12", "this lock is for Python 3.11"),
        ("--platform", "manylinux_2_17_aarch64", "this lock needs glibc ≥ 2.28 on x86_64"),
    ):
        result = check(cli, path, tmp_path, flag, value, "--json")
        assert result.code == 2, result.out
        assert any(p.startswith(says) for p in json.loads(result.out)["problems"]), result.out
