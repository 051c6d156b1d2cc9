"""Environments that work however Python starts: the start-up hook, in every way users start it.

One environment, made by ``create``'s own path (``materialize``) from a real index on 127.0.0.1,
stands in for TensorFlow 2.12 (CUDA 11.8, no RUNPATH into the wheels): NVIDIA-style wheels with
real ELF libraries (``libcublas.so.11`` with a DT_NEEDED on ``libcublasLt.so.11``, as the real
one has) and a ``tensorflow`` package that does at import what TensorFlow's loader does: it
dlopens ``libcudart.so.11.0`` and ``libcublas.so.11`` by soname, and reports which file each
came from (``/proc/self/maps``) and which copy answered (each library returns its own number:
the wheels' 11, the shadowing copies 99). Real TensorFlow 2.12 and 2.15 and CuPy from spaCy 3.7
are checked the same way in the bigenv tests (test_end_to_end.py); a kernel started by
jupyter_client in tests/network/test_kernel_pypi.py.

Each start runs with and without a folder on ``LD_LIBRARY_PATH`` that holds other copies of
``libcudart.so.11.0`` and ``libcublasLt.so.11``; with ``CUDAENV_NO_PRELOAD=1`` the same starts
find nothing, or the shadowing copies: what the hook is for.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cudaenv import preload
from cudaenv._toml import tomllib
from cudaenv.envs.venv import VenvBackend
from cudaenv.knowledge import load
from cudaenv.pipeline.creation import materialize
from tests.functional.test_doctor_fixes import doctor_after, shell_env
from tests.functional.test_install import resolution_of
from tests.tools.index_server import IndexServer
from tests.tools.make_wheel import build_shared_library, make_nvidia_wheel, make_wheel
from tests.tools.pins import pin_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cudaenv.envs.base import Env

TF_STANDIN = '''"""A stand-in for TensorFlow 2.12's start (cudaenv's tests): it dlopens its CUDA
libraries by soname, as TensorFlow's loader does, and says which copy answered."""
import ctypes
import os

__version__ = "2.12.1"
SONAMES = ("libcudart.so.11.0", "libcublas.so.11")
opened = {}
for _soname in SONAMES:
    try:
        _lib = ctypes.CDLL(_soname)
    except OSError as e:
        opened[_soname] = str(e)
    else:
        opened[_soname] = _lib.cudaenv_fake_version()


def report():
    with open("/proc/self/maps") as maps:
        rows = [row.split(None, 5) for row in maps]
    files = {r[5].strip() for r in rows if len(r) == 6 and "/libcu" in r[5]}
    keep = ("XLA_FLAGS", "PATH")
    return {"opened": opened, "files": sorted(files), **{k: os.environ.get(k) for k in keep}}


class sysconfig:
    @staticmethod
    def get_build_info():
        return {"cuda_version": "11.8", "cudnn_version": "8", "is_cuda_build": True}


class config:
    @staticmethod
    def list_physical_devices(kind=None):
        return []
'''
PROBE = "import json, tensorflow\nprint(json.dumps(tensorflow.report()))\n"
WORKER = """import json, multiprocessing, sys


def child(queue):
    import tensorflow

    queue.put(tensorflow.report())


if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    queue = context.Queue()
    worker = context.Process(target=child, args=(queue,))
    worker.start()
    print(json.dumps(queue.get(timeout=120)))
    worker.join()
"""
CLEARED = f"""import subprocess, sys
probe = [sys.executable, "-c", {PROBE!r}]
done = subprocess.run(probe, env={{}}, capture_output=True, text=True)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr)
sys.exit(done.returncode)
"""
WHEELS = (  # name, version, libraries, DT_NEEDED
    ("nvidia-cuda-runtime-cu11", "11.8.89", ["libcudart.so.11.0"], {}),
    (
        "nvidia-cublas-cu11",
        "11.11.3.6",
        ["libcublas.so.11", "libcublasLt.so.11"],
        {"libcublas.so.11": ["libcublasLt.so.11"]},
    ),
)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Env, IndexServer]]:
    """The TF 2.12 stand-in environment, made once for the module, and its index (kept
    serving: a fix that makes a new environment from the lock installs from it)."""
    root = tmp_path_factory.mktemp("hooked")
    wheels = root / "wheels"
    built = [make_nvidia_wheel(wheels, n, v, libs=libs, needed=deps) for n, v, libs, deps in WHEELS]
    ptxas = {"nvidia/cuda_nvcc/bin/ptxas": "#!/bin/sh\necho 'ptxas stand-in'\n"}
    built.append(make_nvidia_wheel(wheels, "nvidia-cuda-nvcc-cu11", "11.8.89", extra_files=ptxas))
    built.append(
        make_wheel(wheels, "tensorflow", "2.12.1", files={"tensorflow/__init__.py": TF_STANDIN})
    )
    with IndexServer(wheels) as index:
        pins = [pin_for(w, index, "framework" if "tensorflow" in w.name else None) for w in built]
        env, _ = materialize(
            resolution_of(*pins),
            root / "tf 212",  # a space, on purpose
            backend=VenvBackend(with_pip=False),
            knowledge=load(),
        )
        yield env, index


@pytest.fixture(scope="module")
def env(made: tuple[Env, IndexServer]) -> Env:
    return made[0]


@pytest.fixture(scope="module")
def shadow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with other copies of two of the wheels' libraries (a system CUDA, say)."""
    folder = tmp_path_factory.mktemp("system cuda") / "lib64"
    folder.mkdir()
    for soname in ("libcudart.so.11.0", "libcublasLt.so.11"):
        (folder / soname).write_bytes(build_shared_library(soname, number=99))
    return folder


def started(argv: list[str], *, environ: dict[str, str], script: str) -> dict[str, Any]:
    """Run ``argv`` (``{script}`` in it: a file holding ``script``); the JSON it prints."""
    path = Path(environ["HOME"]) / "script.py"
    path.write_text(script)
    argv = [a.replace("{script}", str(path)) for a in argv]
    done = subprocess.run(
        argv, env=environ, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def assert_from_the_env(env: Env, data: dict[str, Any]) -> None:
    """Every CUDA library the stand-in loaded is the environment's own."""
    assert data["opened"] == {"libcudart.so.11.0": 11, "libcublas.so.11": 11}, data
    nvidia = env.site_packages / "nvidia"
    assert data["files"], data
    assert all(Path(f).is_relative_to(nvidia) for f in data["files"]), data["files"]
    assert {Path(f).name for f in data["files"]} >= {
        "libcudart.so.11.0",
        "libcublas.so.11",
        "libcublasLt.so.11",
    }


def _starts(env: Env) -> dict[str, tuple[list[str], str]]:
    python = str(env.python)
    deactivated = f". {shlex.quote(str(env.bin_dir / 'activate'))} && deactivate && "
    return {
        "by path, empty environment": (["env", "-i", "HOME=$HOME", python, "{script}"], PROBE),
        "multiprocessing spawn": ([python, "{script}", "spawn"], WORKER),
        "multiprocessing forkserver": ([python, "{script}", "forkserver"], WORKER),
        "subprocess with a cleared environment": ([python, "{script}", "x"], CLEARED),
        "after deactivate": (["bash", "-c", deactivated + f'"{python}" "$0"', "{script}"], PROBE),
    }


START_MODES = [
    "by path, empty environment",
    "multiprocessing spawn",
    "multiprocessing forkserver",
    "subprocess with a cleared environment",
    "after deactivate",
]


def _environ(tmp_path: Path, shadow: Path | None, **more: str) -> dict[str, str]:
    environ = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", **more}
    if shadow is not None:
        environ["LD_LIBRARY_PATH"] = str(shadow)
    return environ


def _argv(argv: list[str], environ: dict[str, str]) -> list[str]:
    if argv[:2] != ["env", "-i"]:
        return argv
    keep = [
        f"{k}={v}" for k, v in environ.items() if k in ("LD_LIBRARY_PATH", "CUDAENV_NO_PRELOAD")
    ]
    return ["env", "-i", f"HOME={environ['HOME']}", *keep, *argv[3:]]


@pytest.mark.parametrize("shadowed", [False, True], ids=["plain", "shadowing LD_LIBRARY_PATH"])
@pytest.mark.parametrize("mode", START_MODES)
def test_every_start_loads_the_environments_libraries(
    env: Env, shadow: Path, tmp_path: Path, mode: str, shadowed: bool
) -> None:
    argv, script = _starts(env)[mode]
    environ = _environ(tmp_path, shadow if shadowed else None)
    data = started(_argv(argv, environ), environ=environ, script=script)
    assert_from_the_env(env, data)


@pytest.mark.parametrize("mode", START_MODES)
def test_without_the_hook_the_same_starts_miss_or_take_the_shadowing_copies(
    env: Env, shadow: Path, tmp_path: Path, mode: str
) -> None:
    """What the hook is for (and that the test above can fail): CUDAENV_NO_PRELOAD=1."""
    argv, script = _starts(env)[mode]
    if mode == "subprocess with a cleared environment":  # the switch goes with the environment
        script = script.replace("env={}", "env={'CUDAENV_NO_PRELOAD': '1'}")
    plain = _environ(tmp_path, None, CUDAENV_NO_PRELOAD="1")
    data = started(_argv(argv, plain), environ=plain, script=script)
    assert all(isinstance(v, str) for v in data["opened"].values()), data  # dlopen errors
    if mode == "subprocess with a cleared environment":
        return  # the child's environment is cleared: the shadowing folder never reaches it
    shadowed = _environ(tmp_path, shadow, CUDAENV_NO_PRELOAD="1")
    data = started(_argv(argv, shadowed), environ=shadowed, script=script)
    assert data["opened"]["libcudart.so.11.0"] == 99, data  # the shadowing copy
    assert isinstance(data["opened"]["libcublas.so.11"], str), data  # not found at all


def test_start_up_loads_nothing_and_imports_no_framework(env: Env, tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "maps = [r for r in open('/proc/self/maps') if '/nvidia/' in r]\n"
        "print(json.dumps([maps, sorted(m for m in ('ctypes', 'tensorflow') if m in sys.modules),"
        " [type(f).__name__ for f in sys.meta_path][:1]]))\n"
    )
    done = subprocess.run(
        ["env", "-i", str(env.python), "-c", code], capture_output=True, text=True, check=True
    )
    maps, modules, first = json.loads(done.stdout)
    assert (maps, modules, first) == ([], [], ["Finder"])  # only the finder, waiting


def test_the_recipes_variables_are_set_and_the_users_kept(env: Env, tmp_path: Path) -> None:
    site = env.site_packages
    ours = f"--xla_gpu_cuda_data_dir={site}/nvidia/cuda_nvcc"
    unset = started(
        ["env", "-i", str(env.python), "{script}"], environ=_environ(tmp_path, None), script=PROBE
    )
    assert unset["XLA_FLAGS"] == ours
    assert unset["PATH"] == f"{site}/nvidia/cuda_nvcc/bin:{os.defpath}"  # and the default search
    mine = "--xla_gpu_cuda_data_dir=/opt/mine --xla_dump_to=dumps"
    kept = started(
        [str(env.python), "{script}"],
        environ=_environ(tmp_path, None, XLA_FLAGS=mine),
        script=PROBE,
    )
    assert kept["XLA_FLAGS"] == mine
    assert kept["PATH"] == f"{site}/nvidia/cuda_nvcc/bin:/usr/bin:/bin"
    other = started(
        [str(env.python), "{script}"],
        environ=_environ(tmp_path, None, XLA_FLAGS="--xla_dump_to=dumps"),
        script=PROBE,
    )
    assert other["XLA_FLAGS"] == f"{ours} --xla_dump_to=dumps"


def test_create_writes_the_hook_verify_matches_and_the_lock_is_plain(cli, env: Env) -> None:
    names = {p.name for p in preload.hook_files(env.site_packages)}
    tag = sys.implementation.cache_tag  # compiled by the environment's Python: no start compiles
    assert names == {*preload.FILES, f"_cudaenv_preload.{tag}.pyc"}
    assert preload.written_by(env.site_packages) == f"cudaenv {__import__('cudaenv').__version__}"
    text = (env.prefix / "pylock.toml").read_text()
    assert "preload" not in text  # nothing a PEP 751 installer would trip on
    from packaging.pylock import Pylock

    Pylock.from_dict(tomllib.loads(text)).validate()
    result = cli("verify", "-p", str(env.prefix), "--json")
    assert result.code == 0, result.out
    assert json.loads(result.out)["differences"] == []


# --- doctor: the hook, what it loaded, and what came first -----------------------------------


def test_doctor_shows_the_hook_and_what_it_loaded(made, tmp_path: Path) -> None:
    env, index = made
    doc = doctor_after([], env.python, shell_env(tmp_path, index.url))
    hook = doc["preload"]
    assert hook["present"] and not hook["disabled"] and hook["elsewhere"] == []
    loaded = {x["soname"]: Path(x["path"]) for x in hook["loaded"]}
    assert set(loaded) == {"libcudart.so.11.0", "libcublas.so.11", "libcublasLt.so.11"}
    assert all(p.is_relative_to(env.site_packages / "nvidia") for p in loaded.values())
    order = [x["soname"] for x in hook["loaded"]]
    assert order.index("libcublasLt.so.11") < order.index("libcublas.so.11")  # DT_NEEDED first
    ours = ("libcudart.so.11.0", "libcublas.so.11", "libcublasLt.so.11")
    about = [f for f in doc["findings"] if any(s in f["message"] for s in ours)]
    assert not [f for f in about if f["severity"] != "info"], about  # loaded: nothing to fix
    assert any(f["message"].startswith("start-up hook (cudaenv") for f in doc["findings"])


def test_a_library_preloaded_from_elsewhere_is_an_error_and_the_fix_works(
    made, shadow: Path, tmp_path: Path
) -> None:
    env, index = made
    other = tmp_path / "preloaded" / "libcudart.so.11.0"  # LD_PRELOAD splits at spaces
    other.parent.mkdir()
    other.write_bytes((shadow / "libcudart.so.11.0").read_bytes())
    environ = shell_env(tmp_path, index.url, LD_PRELOAD=str(other))
    doc = doctor_after([], env.python, environ)
    (error,) = [f for f in doc["findings"] if "was already loaded" in f["message"]]
    assert (error["cause"], error["severity"]) == ("several-installs", "error")
    assert error["message"].startswith(f"libcudart.so.11.0 was already loaded from {other} ")
    assert error["run"] == ["unset LD_PRELOAD"]
    after = doctor_after(error["run"], env.python, environ)
    assert after["preload"]["elsewhere"] == [] and len(after["preload"]["loaded"]) == 3
    assert not [f for f in after["findings"] if "was already loaded" in f["message"]]


def test_the_off_switch_is_shown_and_its_fix_turns_the_hook_back_on(made, tmp_path: Path) -> None:
    env, index = made
    environ = shell_env(tmp_path, index.url, CUDAENV_NO_PRELOAD="1")
    doc = doctor_after([], env.python, environ)
    assert doc["preload"]["disabled"] and doc["preload"]["loaded"] == []
    off = next(f for f in doc["findings"] if "CUDAENV_NO_PRELOAD is set" in f["message"])
    assert off["run"] == ["unset CUDAENV_NO_PRELOAD"]
    after = doctor_after(off["run"], env.python, environ)
    assert len(after["preload"]["loaded"]) == 3


def test_an_environment_without_the_hook_is_told_how_to_get_one(made, tmp_path: Path) -> None:
    env, index = made
    copy = tmp_path / "older"
    subprocess.run(["cp", "-a", str(env.prefix), str(copy)], check=True)
    # the copy's scripts still name the original prefix: doctor reads files, not scripts
    site = copy / env.site_packages.relative_to(env.prefix)
    for name in preload.FILES:
        (site / name).unlink()
    environ = shell_env(tmp_path, index.url)
    doc = doctor_after([], copy / "bin" / "python", environ)
    assert doc["preload"]["present"] is False
    absent = next(f for f in doc["findings"] if f["message"].startswith("no start-up hook"))
    (create,) = absent["run"]
    assert create.startswith(f"cudaenv create --from {shlex.quote(str(copy / 'pylock.toml'))} -p ")
    done = subprocess.run(
        ["bash", "-c", create + " --no-smoke"],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    made_again = Path(f"{copy}-cudaenv")
    assert preload.written_by(made_again / site.relative_to(copy)) is not None


def test_the_hook_runs_on_the_oldest_python_the_probe_supports(tmp_path: Path) -> None:
    """The hook module runs inside environments of Python 3.8 too (as the smoke probe does)."""
    old = Path.home() / ".pyenv" / "versions"
    found = sorted(old.glob("3.8*/bin/python3.8"))
    if not found:
        pytest.skip("no Python 3.8 in ~/.pyenv/versions")
    venv = tmp_path / "py38"
    subprocess.run([str(found[-1]), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3.8/site-packages"))
    libs = site / "nvidia" / "cuda_runtime" / "lib"
    libs.mkdir(parents=True)
    (libs / "libcudart.so.12").write_bytes(build_shared_library("libcudart.so.12", number=12))
    (site / "cupy").mkdir()
    (site / "cupy" / "__init__.py").write_text(
        "import ctypes\nV = ctypes.CDLL('libcudart.so.12').cudaenv_fake_version()\n"
    )
    from cudaenv.envs.base import Env

    target = Env.from_prefix(venv)
    preload.write_hook(target.site_packages, preload.plan(target, modules={"cupy"}))
    done = subprocess.run(
        ["env", "-i", str(target.python), "-c", "import cupy; print(cupy.V)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "12"), done.stderr
