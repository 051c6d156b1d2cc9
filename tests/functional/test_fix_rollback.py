"""``cudaenv fix`` refused or failing: every file of the environment is as it was.

"As it was" is checked two ways: the sha256 of every file under the prefix, before and after
(the before-lock ``fix`` writes first is the one new file a failure leaves, on purpose), and
``cudaenv verify`` against that before-lock (every package at its version, every file its
RECORD hashes intact, nothing extra). The failures are real: an index that refuses a wheel the
installer downloads, a file in the way of the activation scripts after the wheels were
installed, SIGTERM while the installer waits for a wheel, a driver too old for the installed
TensorFlow, an externally managed Python, the Python cudaenv runs from.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.functional.fix_index import (
    DRIVER,
    build,
    checked,
    fix,
    hashes,
    pip_env,
    report,
    served,
    uv_env,
)
from tests.tools.index_server import IndexServer
from tests.tools.signals import python_with_default_signals

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cudaenv.envs.base import Env

ROOT = Path(__file__).resolve().parents[2]
LOCK = "pylock.before-fix.toml"
CUDNN = "/files/nvidia_cudnn_cu12-8.9.4.25"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("fix-wheels"))


@pytest.fixture(scope="module")
def index(wheels: Path) -> Iterator[IndexServer]:
    yield from served(wheels)


def put_back(cli, env: Env, before: dict[str, str]) -> None:
    """Every file as it was but the before-lock, and verify agrees with that lock."""
    after = hashes(env.prefix)
    assert after.pop(LOCK, None) is not None, "the before-lock is written first"
    assert after == before
    verified = cli("verify", "-p", str(env.prefix), "--lock", str(env.prefix / LOCK), "--json")
    assert verified.code == 0, verified.out
    assert json.loads(verified.out)["matches"]


def test_a_wheel_the_index_refuses_midway_puts_every_file_back(
    cli, wheels: Path, tmp_path: Path
) -> None:
    """TensorFlow 2.15 beside PyTorch 2.3's older NVIDIA wheels: their files are moved aside,
    then the index refuses the cuDNN wheel the installer downloads (403)."""
    with IndexServer(wheels) as own:
        env = pip_env(tmp_path / "env", own, ["tensorflow[and-cuda]==2.15.1"], ["torch==2.3.1"])
        planned, _ = fix(cli, env, own, tmp_path, "--dry-run")  # the solve's METADATA, cached
        assert planned.code == 0, planned.err
        before = hashes(env.prefix)
        own.fail(50, status=403, path=CUDNN)
        result, seconds = fix(cli, env, own, tmp_path)
    report("a wheel refused midway, rolled back", json.loads(planned.out), seconds)
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert "every file of the environment was put back as it was" in error["message"]
    put_back(cli, env, before)


def test_a_failure_after_the_wheels_were_installed_puts_every_file_back(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """The wheels are in, then a folder where activation writes its fish script stops it:
    the eight new wheels' files go again, the old files are as they were."""
    env = uv_env(tmp_path / "env", index, ["tensorflow==2.15.1"])
    (env.bin_dir / "activate.fish").unlink()
    (env.bin_dir / "activate.fish").mkdir()
    planned, _ = fix(cli, env, index, tmp_path, "--dry-run")
    before = hashes(env.prefix)
    result, seconds = fix(cli, env, index, tmp_path)
    report("failure after the install, rolled back", json.loads(planned.out), seconds)
    assert result.code == 2, result.out
    error = json.loads(result.out)["error"]
    assert "activate.fish" in error["message"] and "put back" in error["message"]
    assert not list(env.site_packages.glob("nvidia*"))
    put_back(cli, env, before)


def test_sigterm_while_the_installer_downloads_puts_every_file_back(
    cli, wheels: Path, tmp_path: Path
) -> None:
    with IndexServer(wheels) as own:
        env = uv_env(tmp_path / "env", own, ["tensorflow==2.15.1"])
        planned, _ = fix(cli, env, own, tmp_path, "--dry-run")
        assert planned.code == 0, planned.err
        before = hashes(env.prefix)
        own.hold(CUDNN)
        argv = ["-m", "cudaenv", "fix", "-p", str(env.prefix), "--index-url", own.url]
        argv += ["--driver", DRIVER, "--cache-dir", str(tmp_path / "cache")]
        proc = subprocess.Popen(
            python_with_default_signals(*argv),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        try:
            assert own.held.wait(120), "the installer never asked for the held wheel"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 143, err
    assert "terminated" in err
    put_back(cli, env, before)


def test_a_driver_too_old_for_the_tensorflow_is_refused_and_nothing_changes(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """TensorFlow 2.15 needs CUDA 12; driver 470.82.01 supports CUDA 11.4. Refused, with the
    driver to install, and the way out the hint names is followed: TensorFlow 2.14."""
    env = uv_env(tmp_path / "env", index, ["tensorflow==2.15.1"])
    before = hashes(env.prefix)
    result, seconds = fix(cli, env, index, tmp_path, "--driver", "470.82.01")
    report("driver too old, refused", {"plan": []}, seconds)
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert "TensorFlow 2.15.1 needs CUDA >= 12.0" in error["message"]
    assert "install NVIDIA driver >= 525.60.13" in error["hint"]
    assert hashes(env.prefix) == before
    (remedy,) = error["remedies"]
    assert remedy["options"] == [["--allow-framework-change", None]]
    moved, seconds = fix(
        cli, env, index, tmp_path, "--driver", "470.82.01", "--allow-framework-change"
    )
    assert moved.code == 0, moved.err
    report("driver too old, --allow-framework-change", json.loads(moved.out), seconds)
    plan = {c["package"]: c for c in json.loads(moved.out)["plan"]}
    assert (plan["tensorflow"]["from"], plan["tensorflow"]["to"]) == ("2.15.1", "2.14.1")
    assert plan["nvidia-cudnn-cu11"]["kind"] == "add"
    smoke = checked(cli, env)
    assert "libcudart.so.11.0" in {lib["soname"] for lib in smoke["libraries"]}


def test_an_externally_managed_python_is_never_changed(cli, tmp_path: Path) -> None:
    system = Path("/usr/bin/python3")
    code = "import sysconfig; print(sysconfig.get_path('stdlib'))"
    if not system.exists():
        pytest.skip("no /usr/bin/python3 on this machine")
    stdlib = subprocess.run(
        [str(system), "-c", code], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not (Path(stdlib) / "EXTERNALLY-MANAGED").is_file():
        pytest.skip(f"{system} is not externally managed here (no {stdlib}/EXTERNALLY-MANAGED)")
    result = cli("fix", "--python", str(system), "--driver", DRIVER, "--json")
    assert result.code == 2
    assert "externally managed" in json.loads(result.out)["error"]["message"]


def test_the_python_cudaenv_runs_from_is_never_changed_but_a_dry_run_reads_it(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    result = cli("fix", "--python", sys.executable, "--driver", DRIVER, "--json")
    assert result.code == 2
    error = json.loads(result.out)["error"]
    assert "fix never changes the Python it runs from" in error["message"]
    (remedy,) = error["remedies"]
    (command,) = remedy["commands"]
    args = [*command[1:], "--index-url", index.url, "--cache-dir", str(tmp_path / "cache")]
    followed = cli(*args, "--driver", DRIVER)
    assert followed.code == 0, followed.err
    assert "dry run: nothing was changed" in followed.out


def test_no_driver_is_refused_with_one_that_runs_the_frameworks_which_works(
    cli, index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No driver here (CONDA_OVERRIDE_CUDA="" says so, whatever this machine has): fix cannot
    tell the stack, says so, and the --driver it names makes the plan."""
    env = uv_env(tmp_path / "env", index, ["tensorflow==2.15.1"])
    before = hashes(env.prefix)
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")
    args = ["fix", "-p", str(env.prefix), "--index-url", index.url, "--json"]
    args += ["--cache-dir", str(tmp_path / "cache")]
    refused = cli(*args)
    assert refused.code == 2
    error = json.loads(refused.out)["error"]
    assert error["message"].startswith("no NVIDIA driver was found")
    assert hashes(env.prefix) == before
    (remedy,) = error["remedies"]
    assert remedy["options"] == [["--driver", "525.60.13"]]
    followed = cli(*args, *remedy["options"][0])
    assert followed.code == 0, followed.out
    assert len(json.loads(followed.out)["plan"]) == 8


def test_what_no_cuda_stack_fits_is_refused_with_a_new_environment_that_works(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """TensorFlow 2.13 caps numpy at 1.24.3; the user forced 1.26.4 past pip's check: held
    where it is, nothing fits. The way out is a new environment beside it, made from the same
    index, and it is made."""
    env = pip_env(
        tmp_path / "env",
        index,
        ["tensorflow==2.13.1"],
        ["--no-deps", "numpy==1.26.4"],
    )
    before = hashes(env.prefix)
    refused, _ = fix(cli, env, index, tmp_path)
    assert refused.code == 2
    error = json.loads(refused.out)["error"]
    assert error["message"].startswith(f"no CUDA stack fits what {env.prefix} holds")
    assert hashes(env.prefix) == before
    (remedy,) = error["remedies"]
    (command,) = remedy["commands"]
    assert command[:4] == ["cudaenv", "create", "--tf", "2.13"]
    made = cli(*command[1:], "--index-url", index.url, "--driver", DRIVER, "--no-smoke")
    assert made.code == 0, made.err
    assert (tmp_path / "env-cudaenv" / "pylock.toml").is_file()
