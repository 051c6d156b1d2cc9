"""`cudaenv doctor` on real environments: made by hand the usual way, shadowed, activated."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

import pytest

from cudaenv import activation
from tests.functional.test_smoke import make_venv, uv_install
from tests.tools.make_wheel import build_shared_library

if TYPE_CHECKING:
    from pathlib import Path

    from cudaenv.envs.base import Env


@pytest.fixture
def venv(tmp_path: Path) -> Env:
    return make_venv(tmp_path / "made by hand")


@pytest.mark.network
def test_plain_pip_install_of_the_runtime_wheel_is_found_but_not_on_the_path(
    cli, venv: Env
) -> None:
    """The usual way: `pip install nvidia-cuda-runtime-cu11==11.8.89`, never activated."""
    uv_install(venv, "nvidia-cuda-runtime-cu11==11.8.89")
    folder = venv.site_packages / "nvidia" / "cuda_runtime" / "lib"
    result = cli("doctor", "-p", str(venv.prefix))
    assert result.code == 0, result.out + result.err  # nothing installed needs it: a warning
    assert (
        f"warning [library-path]: libcudart.so.11.0 ({folder}): installed in this environment "
        "but not on the library path" in result.out
    )
    assert f"fix: export LD_LIBRARY_PATH={shlex.quote(str(folder))}" in result.out
    data = json.loads(cli("doctor", "--python", str(venv.python), "--json").out)
    (cudart,) = data["libraries"]
    assert cudart["soname"] == "libcudart.so.11.0" and cudart["loaded"] is False
    assert cudart["copies"] == [{"where": "wheel", "path": str(folder / "libcudart.so.11.0")}]
    assert data["frameworks"] == {"nvidia-cuda-runtime-cu11": "11.8.89"}


def test_a_copy_on_ld_library_path_shadowing_the_wheel_is_an_error(
    cli, venv: Env, make_nvidia_wheel, tmp_path: Path
) -> None:
    wheel = make_nvidia_wheel("nvidia-cudnn-cu12", "9.3.0.75", libs=["libcudnn.so.9"])
    uv_install(venv, "--no-deps", "--no-index", str(wheel))
    system = tmp_path / "opt cuda" / "lib64"
    system.mkdir(parents=True)
    (system / "libcudnn.so.9").write_bytes(build_shared_library("libcudnn.so.9", number=8))
    result = cli("doctor", "-p", str(venv.prefix), env={"LD_LIBRARY_PATH": str(system)})
    assert result.code == 2
    assert (
        f"error [several-installs]: libcudnn.so.9 loads from {system / 'libcudnn.so.9'} "
        "(found through LD_LIBRARY_PATH)" in result.out
    )


def test_with_cudaenvs_activation_the_fix_is_to_activate(
    cli, venv: Env, make_nvidia_wheel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    wheel = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    uv_install(venv, "--no-deps", "--no-index", str(wheel))
    activation.write(venv)
    data = json.loads(cli("doctor", "-p", str(venv.prefix), "--json").out)
    fixes = [f["fix"] for f in data["findings"] if "libcudart.so.12" in f["message"]]
    assert fixes == [f"source {shlex.quote(str(venv.bin_dir / 'activate'))}"]
    assert any("cudaenv's activation is installed" in f["message"] for f in data["findings"])


def test_doctor_of_a_bad_interpreter_is_a_clear_error(cli, tmp_path: Path) -> None:
    result = cli("doctor", "--python", str(tmp_path / "no-python"))
    assert result.code == 2
    assert "is not a Python interpreter" in result.err and "Traceback" not in result.err


def test_an_environment_cudaenv_made_is_judged_as_its_activation_sets_it_up(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cudaenv.envs.base import Env as EnvOnDisk
    from tests.functional.fleet_index import create_gpu_env

    for name in ("LD_LIBRARY_PATH", "VIRTUAL_ENV", "CONDA_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    env = create_gpu_env(tmp_path)  # spaCy on CuPy 12: its libraries only on LD_LIBRARY_PATH
    result = cli("doctor", "-p", str(env))
    assert "judged as its activation sets it up" in result.out
    assert "does not load" not in result.out
    data = json.loads(cli("doctor", "-p", str(env), "--json").out)
    assert data["as_activated"] is True
    assert data["libraries"] and all(lib["loaded"] for lib in data["libraries"])
    assert [f for f in data["findings"] if f["cause"] == "library-path"] == []
    # activated, it is judged as it is, and the same libraries load
    activated = {**activation.variables(EnvOnDisk.from_prefix(env)), "VIRTUAL_ENV": str(env)}
    active = json.loads(cli("doctor", "-p", str(env), "--json", env=activated).out)
    assert active["as_activated"] is False
    assert [lib["path"] for lib in active["libraries"]] == [
        lib["path"] for lib in data["libraries"]
    ]
    assert {lib["path"].split("/site-packages/")[1].split("/")[0] for lib in data["libraries"]} == {
        "nvidia"
    }
