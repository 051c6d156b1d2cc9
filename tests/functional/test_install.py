"""install: locked wheels from a real index on 127.0.0.1 into real venvs, with uv and with pip.

The wheels are built by the tests (NVIDIA ones carry real ELF libraries); the pins carry the
URL and sha256 the lock would, so what is checked is exactly what a user's install does.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

from cudaenv.envs.venv import VenvBackend
from cudaenv.errors import InstallError
from cudaenv.events import Detail, Output, Step
from cudaenv.pipeline import install as install_module
from cudaenv.pipeline.install import install
from cudaenv.request import Target
from cudaenv.resolution import Pin, Resolution, WheelFile
from tests.tools.pins import pin_for

if TYPE_CHECKING:
    from cudaenv.events import Event

PY = Version(f"{sys.version_info[0]}.{sys.version_info[1]}")


def resolution_of(*pins: Pin) -> Resolution:
    target = Target(python=PY, platform="manylinux_2_17_x86_64")
    return Resolution(pins=pins, target=target, frameworks=())


@pytest.fixture
def stack(make_nvidia_wheel, make_wheel, local_index):
    """Two NVIDIA wheels and a pure wheel whose dependency is deliberately absent."""
    runtime = make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    cublas = make_nvidia_wheel("nvidia-cublas-cu12", "12.2.5.6", libs=["libcublas.so.12"])
    app = make_wheel("app", "1.0", requires_dist=["not-on-the-index>=1"])
    return [pin_for(w, local_index) for w in (runtime, cublas, app)]


@pytest.fixture
def venv(tmp_path):
    return VenvBackend(with_pip=False).create(tmp_path / "env", PY)


def installer_of(env, dist: str) -> str:
    info = next(env.site_packages.glob(f"{dist}-*.dist-info"))
    return (info / "INSTALLER").read_text().strip()


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_installs_exactly_the_locked_wheels(venv, stack, installer):
    events: list[Event] = []
    used = install(resolution_of(*stack), venv, installer=installer, sink=events.append)
    assert used == installer
    assert (venv.site_packages / "nvidia/cuda_runtime/lib/libcudart.so.12").is_file()
    assert (venv.site_packages / "nvidia/cublas/lib/libcublas.so.12").is_file()
    assert (venv.site_packages / "app/__init__.py").is_file()
    assert installer_of(venv, "app") == installer
    assert not list(venv.site_packages.glob("not_on_the_index*")), "no dependency resolution"
    assert any(isinstance(e, Output) for e in events), "the installer's output reached the sink"


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_hash_mismatch_names_the_package(venv, stack, installer):
    runtime, cublas, app = stack
    bad = replace(cublas, wheel=replace(cublas.wheel, sha256="0" * 64))
    with pytest.raises(InstallError) as err:
        install(resolution_of(runtime, bad, app), venv, installer=installer)
    assert "hash" in err.value.message
    assert "nvidia-cublas-cu12" in err.value.message
    assert not (venv.site_packages / "nvidia/cublas").exists()


def test_missing_wheel_is_a_clear_install_error(venv, stack, local_index):
    runtime = stack[0]
    gone = Pin(
        name=runtime.name,
        version=runtime.version,
        wheel=WheelFile(
            filename="gone-1.0-py3-none-any.whl",
            url=local_index.file_url("gone-1.0-py3-none-any.whl"),
            sha256="1" * 64,
        ),
    )
    with pytest.raises(InstallError) as err:
        install(resolution_of(gone), venv, installer="uv")
    assert "uv failed to install the locked wheels" in err.value.message
    assert err.value.context


def test_installer_uv_without_uv_is_refused(venv, stack, monkeypatch):
    monkeypatch.setattr(install_module, "find_uv", lambda: None)
    with pytest.raises(InstallError, match="no uv was found"):
        install(resolution_of(*stack), venv, installer="uv")


def test_auto_prefers_uv_beside_our_interpreter(venv, tmp_path):
    used, cmd = install_module.installer_command("auto", venv, tmp_path / "r.txt")
    uv = install_module.find_uv()
    assert used == "uv"
    assert uv is not None and cmd[0] == str(uv)
    assert cmd[1:] == [
        "pip",
        "install",
        "--python",
        str(venv.python),
        "--no-deps",
        "--require-hashes",
        "-r",
        str(tmp_path / "r.txt"),
    ]


@pytest.mark.parametrize("installer", ["uv", "pip"])
def test_the_installer_writes_to_a_pipe_and_its_steps_reach_the_sink(venv, stack, installer):
    """No progress bars of the installer's own (they garble); its lines give the steps."""
    events: list[Event] = []
    install(resolution_of(*stack), venv, installer=installer, sink=events.append)
    seen = [
        f"step {e.text}" if isinstance(e, Step) else f"detail {e.text}"
        for e in events
        if isinstance(e, Step | Detail)
    ]  # the status line's input
    lines = [e.text for e in events if isinstance(e, Output)]
    assert seen[0].startswith("step installing 3 wheels (") and installer in seen[0]
    details = [s for s in seen if s.startswith("detail ")]
    if installer == "uv":
        assert details == ["detail downloading", "detail unpacking into the environment",
                           "detail done"]  # fmt: skip
        assert any(line.startswith(" + app==1.0 (from ") for line in lines)
    else:
        assert "detail unpacking into the environment" in details
        assert any(d.startswith("detail collecting ") for d in details)
    assert not any("\x1b[" in line or "\r" in line for line in lines), "no bars drawn"


@pytest.mark.parametrize(
    ("line", "phase"),
    [
        ("Resolved 87 packages in 1.20s", "downloading"),
        ("Prepared 87 packages in 31.4s", "unpacking into the environment"),
        ("Installed 87 packages in 2.1s", "done"),
        (" + tensorflow==2.15.1 (from https://files.example/tensorflow.whl)", None),
        ("Collecting tensorflow@ https://h/p/tensorflow-2.15.1-cp311.whl (from -r r.txt (line 4))",
         "collecting tensorflow"),
        ("  Downloading https://h/p/tensorflow-2.15.1-cp311-cp311-manylinux.whl (475.2 MB)",
         "downloading tensorflow-2.15.1 (475.2 MB)"),
        ("Installing collected packages: tensorflow", "unpacking into the environment"),
    ],
)  # fmt: skip
def test_phase_of_reads_uv_and_pip_lines(line, phase):
    assert install_module.phase_of(line) == phase
