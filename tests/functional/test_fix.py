"""``cudaenv fix`` on environments made the way users make them, checked the way users check.

Each broken environment is made by the real pip or uv from a real index on 127.0.0.1
(tests/functional/fix_index.py: stand-in frameworks with the real metadata shapes, NVIDIA
wheels with real ELF libraries). ``fix`` runs on it; then ``cudaenv doctor`` (as the
environment is, not activated: the start-up hook's work) must find nothing left about its CUDA
packages, and ``cudaenv smoke`` must load every CUDA library the frameworks need from the
environment itself. Each test prints the plan's size and the seconds ``fix`` took (``-s``).
The failure and signal cases are in test_fix_rollback.py.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.functional.fix_index import (
    DRIVER,
    build,
    checked,
    cuda_findings,
    fix,
    hashes,
    installed,
    pip_env,
    report,
    run,
    served,
    uv_env,
)
from tests.tools import fake_driver

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.tools.index_server import IndexServer


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    yield from served(build(tmp_path_factory.mktemp("fix-wheels")))


def test_tensorflow_without_cuda_wheels_gets_the_and_cuda_set(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """`pip install tensorflow==2.15.*`: TensorFlow, no CUDA wheels."""
    env = pip_env(tmp_path / "tf215", index, ["tensorflow==2.15.*"])
    result, seconds = fix(cli, env, index, tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    report("pip install tensorflow==2.15.*", doc, seconds)
    assert {c["kind"] for c in doc["plan"]} == {"add"} and len(doc["plan"]) == 8
    assert doc["doctor"]["before"]["cuda_findings"] > 0
    assert doc["doctor"]["after"]["cuda_findings"] == 0
    assert installed(env)["nvidia-cudnn-cu12"] == "8.9.4.25"
    assert {"pip", "setuptools"} <= {u.split()[0] for u in doc["unlocated"]}
    smoke = checked(cli, env)
    assert {lib["soname"] for lib in smoke["libraries"]} >= {"libcudart.so.12", "libcudnn.so.8"}


def test_tensorflow_2161_with_and_cuda_needs_no_package_only_the_hook(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """`tensorflow[and-cuda]==2.16.1`: every library installed, none found (the RUNPATH
    regression); no package changes, the start-up hook and activation make them load."""
    env = uv_env(tmp_path / "tf2161", index, ["tensorflow[and-cuda]==2.16.1"])
    result, seconds = fix(cli, env, index, tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    report("tensorflow[and-cuda]==2.16.1", doc, seconds)
    assert doc["plan"] == []
    before = cuda_findings(doc["doctor"]["before"]["findings"])
    assert any("libcudnn.so.8" in f and "library-path" in f for f in before), before
    assert doc["changed"] and doc["applied"]["installer"] is None
    checked(cli, env)


def test_tensorflow_213_with_the_cu12_wheels_a_resolver_picks_gets_cuda_11(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """TensorFlow 2.13 (CUDA 11.8, declares no CUDA wheels) with the newest cu12 wheels pip
    picks for `nvidia-cudnn-cu12 nvidia-cuda-runtime-cu12`: those go, the cu11 set comes."""
    env = pip_env(
        tmp_path / "tf213",
        index,
        ["tensorflow==2.13.1", "nvidia-cudnn-cu12", "nvidia-cuda-runtime-cu12"],
    )
    assert installed(env)["nvidia-cudnn-cu12"] == "9.3.0.75"
    result, seconds = fix(cli, env, index, tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    report("TF 2.13 + cu12 wheels", doc, seconds)
    removed = {c["package"] for c in doc["plan"] if c["kind"] == "remove"}
    assert removed == {"nvidia-cudnn-cu12", "nvidia-cuda-runtime-cu12", "nvidia-cublas-cu12"}
    now = installed(env)
    assert not [n for n in now if n.endswith("-cu12")]
    assert now["nvidia-cudnn-cu11"] == "8.6.0.163"
    smoke = checked(cli, env)
    assert "libcudart.so.11.0" in {lib["soname"] for lib in smoke["libraries"]}


def test_spacy_with_cupy_cuda11x_on_a_cuda_12_driver_gets_cupy_cuda12x(
    cli, index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uv pip install 'spacy[cuda11x]==3.7.5'` on a CUDA 12 driver: CuPy for CUDA 11 and no
    CUDA runtime at all. The stack follows the driver: cupy-cuda12x and its runtime wheels,
    the newest CUDA 12 NVRTC with a wheel (the newer one, an sdist only, is never built)."""
    env = uv_env(tmp_path / "spacy", index, ["spacy[cuda11x]==3.7.5", "click"])
    monkeypatch.chdir(tmp_path)
    result, seconds = fix(cli, env, index, tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    report("spaCy 3.7 + cupy-cuda11x, CUDA 12 driver", doc, seconds)
    kinds = {c["package"]: c["kind"] for c in doc["plan"]}
    assert kinds["cupy-cuda11x"] == "remove" and kinds["cupy-cuda12x"] == "add"
    now = installed(env)
    assert "cupy-cuda11x" not in now and now["spacy"] == "3.7.5"
    assert now["nvidia-cuda-nvrtc-cu12"] == "12.3.107"
    assert not list(tmp_path.rglob("SDIST-CODE-RAN"))
    smoke = checked(cli, env)
    assert "libnvrtc.so.12" in {lib["soname"] for lib in smoke["libraries"]}


def test_tensorflow_with_pytorchs_older_cudnn_gets_the_newest_pins_both_accept(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """`pip install tensorflow[and-cuda]==2.15.1`, then `pip install torch==2.3.1`: pip
    replaces TensorFlow's NVIDIA wheels with PyTorch's older pins (cuDNN 8.9.2 under a
    TensorFlow built with 8.9.4). Each goes back to TensorFlow's release, which NVIDIA's rules
    let PyTorch's pins take (relaxed), and PyTorch keeps its own NCCL and NVTX."""
    env = pip_env(tmp_path / "tf-torch", index, ["tensorflow[and-cuda]==2.15.1"], ["torch==2.3.1"])
    assert installed(env)["nvidia-cudnn-cu12"] == "8.9.2.26"
    result, seconds = fix(cli, env, index, tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    report("TF 2.15 then PyTorch 2.3", doc, seconds)
    assert {c["kind"] for c in doc["plan"]} == {"replace"} and len(doc["plan"]) == 8
    cudnn = next(c for c in doc["plan"] if c["package"] == "nvidia-cudnn-cu12")
    assert (cudnn["from"], cudnn["to"]) == ("8.9.2.26", "8.9.4.25")
    assert "cudnn-minor-backward" in cudnn["why"]
    now = installed(env)
    assert (now["torch"], now["nvidia-nccl-cu12"]) == ("2.3.1", "2.20.5")
    checked(cli, env)


def test_a_users_pinned_package_and_one_no_index_has_are_not_moved(
    cli, index: IndexServer, tmp_path: Path, make_wheel
) -> None:
    """The user pinned numpy 1.26.3 (the index has 1.26.4) and installed a package of their
    own from a file: the plan holds both where they are, and touches none of their files."""
    own = make_wheel("acme-tools", "0.3.0", requires_dist=["numpy==1.26.3"])
    env = uv_env(tmp_path / "pinned", index, ["tensorflow==2.15.1", "numpy==1.26.3"], [str(own)])
    site = str(env.site_packages.relative_to(env.prefix))
    ours = {k: v for k, v in hashes(env.prefix).items() if k.startswith(f"{site}/acme_tools")}
    ours |= {k: v for k, v in hashes(env.prefix).items() if k.startswith(f"{site}/numpy")}
    result, seconds = fix(cli, env, index, tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    report("a user's pinned numpy and own package", doc, seconds)
    assert {c["package"] for c in doc["plan"]}.isdisjoint({"numpy", "acme-tools"})
    assert "acme-tools 0.3.0" in doc["unlocated"]
    after = hashes(env.prefix)
    assert {k: after.get(k) for k in ours} == ours
    assert installed(env)["numpy"] == "1.26.3"
    checked(cli, env)


def test_an_environment_already_right_is_not_changed(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """`uv pip install tensorflow[and-cuda]==2.15.1`: TensorFlow finds every wheel through
    its RUNPATH, doctor finds nothing to change, so fix changes nothing at all."""
    env = uv_env(tmp_path / "right", index, ["tensorflow[and-cuda]==2.15.1"])
    before = hashes(env.prefix)
    result, seconds = fix(cli, env, index, tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    report("already right", doc, seconds)
    assert doc["plan"] == [] and not doc["changed"]
    assert hashes(env.prefix) == before


def test_undo_puts_back_every_file_and_the_venvs_own_activate(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    env = uv_env(tmp_path / "undo", index, ["tensorflow==2.15.1"])
    before = hashes(env.prefix)
    result, _ = fix(cli, env, index, tmp_path)
    assert result.code == 0, result.err
    assert "_CUDAENV" in (env.bin_dir / "activate").read_text()
    undone = cli("fix", "-p", str(env.prefix), "--undo", "--json")
    assert undone.code == 0, undone.err
    assert len(json.loads(undone.out)["removed"]) == 8
    assert hashes(env.prefix) == before
    again = cli("fix", "-p", str(env.prefix), "--undo")
    assert again.code == 2 and "nothing to undo" in again.err


def test_the_fixed_venvs_activate_still_does_what_the_venvs_own_did(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """A venv uv made: after fix, `. bin/activate` puts its python first and the wheels on
    LD_LIBRARY_PATH; `deactivate` gives every variable back."""
    env = uv_env(tmp_path / "activate", index, ["tensorflow==2.15.1"])
    assert fix(cli, env, index, tmp_path)[0].code == 0
    script = (
        'before="$PATH|${LD_LIBRARY_PATH-unset}"; . "$1/bin/activate"; '
        'command -v python; echo "$LD_LIBRARY_PATH"; deactivate; '
        'test "$before" = "$PATH|${LD_LIBRARY_PATH-unset}" && echo restored'
    )
    done = run(["bash", "-c", script, "bash", str(env.prefix)], env={"PATH": "/usr/bin:/bin"})
    which, library_path, restored = done.stdout.splitlines()
    assert which == str(env.bin_dir / "python")
    assert str(env.site_packages / "nvidia" / "cudnn" / "lib") in library_path.split(":")
    assert restored == "restored"


def test_dry_run_prints_the_plan_and_changes_nothing(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    env = uv_env(tmp_path / "dry", index, ["tensorflow==2.15.1"])
    before = hashes(env.prefix)
    args = ["fix", "-p", str(env.prefix), "--index-url", index.url, "--driver", DRIVER]
    result = cli(*args, "--cache-dir", str(tmp_path / "cache"), "--dry-run")
    assert result.code == 0, result.err
    assert "nvidia-cudnn-cu12" in result.out and "8.9.4.25" in result.out
    assert "dry run: nothing was changed" in result.out
    assert hashes(env.prefix) == before


def test_an_environment_cudaenv_made_is_already_right(cli, tmp_path: Path) -> None:
    """`cudaenv create --spacy 3.7` (the fleet tests' GPU environment): nothing to fix."""
    from tests.functional.fleet_index import add_gpu_wheels, build_cpu_index, create_gpu_env
    from tests.tools.index_server import IndexServer

    with IndexServer(add_gpu_wheels(build_cpu_index(tmp_path / "wheels"))) as own:
        prefix = create_gpu_env(tmp_path, own.url)
        before = hashes(prefix)
        args = ["fix", "-p", str(prefix), "--index-url", own.url, "--driver", DRIVER, "--json"]
        result = cli(*args, "--cache-dir", str(tmp_path / "cache"))
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["plan"] == [] and not doc["changed"]
    assert hashes(prefix) == before


def test_a_dependency_no_index_has_is_named_and_its_index_makes_the_plan(
    cli, index: IndexServer, tmp_path: Path, make_wheel, local_index: IndexServer
) -> None:
    """numpy 1.26.5 from a file of the user's: TensorFlow needs it, the solve must hold it, no
    index fix reads has it. Named, nothing changed; with its index (`--extra-index-url`, the
    way out the hint names) the plan is made."""
    own = make_wheel("numpy", "1.26.5", tag="cp311-cp311-manylinux_2_17_x86_64")
    env = uv_env(tmp_path / "env", index, [str(own)], ["tensorflow==2.15.1"])
    before = hashes(env.prefix)
    refused, _ = fix(cli, env, index, tmp_path)
    assert refused.code == 2
    error = json.loads(refused.out)["error"]
    assert error["message"].startswith("the frameworks need numpy 1.26.5, installed here")
    assert "--extra-index-url" in error["hint"]
    assert hashes(env.prefix) == before
    found, _ = fix(cli, env, index, tmp_path, "--extra-index-url", local_index.url)
    assert found.code == 0, found.out
    assert installed(env)["numpy"] == "1.26.5"


@pytest.mark.skipif(
    fake_driver.compiler() is None, reason="the fake libcuda.so.1 needs a C compiler"
)
def test_doctors_hint_for_a_cuda_mismatch_is_fix_and_it_works_as_printed(
    cli, index: IndexServer, tmp_path: Path
) -> None:
    """doctor names `cudaenv fix -p PREFIX` for TensorFlow 2.13 with cu12 wheels; run as printed
    in a user's shell (the index in PIP_INDEX_URL, the machine's driver: a fake libcuda.so.1
    where the loader finds it), it leaves nothing for doctor to find."""
    env = pip_env(
        tmp_path / "tf 213",
        index,
        ["tensorflow==2.13.1", "nvidia-cudnn-cu12", "nvidia-cuda-runtime-cu12"],
    )
    doctor = json.loads(cli("doctor", "--python", str(env.python), "--json").out)
    mismatch = next(f for f in doctor["findings"] if "was built for CUDA 11.8" in f["message"])
    assert mismatch["run"] == [f"cudaenv fix -p {shlex.quote(str(env.prefix))}"]
    assert "cudaenv create --tf 2.13" in mismatch["fix"]  # the other way, beside it
    driver = tmp_path / "nvidia driver"
    driver.mkdir()
    fake_driver.build_libcuda(driver, CUDA=12020)
    shell = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "PIP_INDEX_URL": index.url,
        "PIP_CONFIG_FILE": os.devnull,
        "UV_NO_CONFIG": "1",
        "CUDAENV_CACHE_DIR": str(tmp_path / "cache"),
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "LD_LIBRARY_PATH": str(driver),
        "LANG": "C.UTF-8",
    }
    (command,) = mismatch["run"]
    done = subprocess.run(
        ["bash", "-c", command], env=shell, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert not [n for n in installed(env) if n.endswith("-cu12")]
    checked(cli, env)
