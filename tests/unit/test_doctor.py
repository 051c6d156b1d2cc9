"""Doctor checks on fixture layouts: real folders with real shared libraries, real recipes.

The environment layouts are built on disk (``site-packages/nvidia/<component>/lib/<soname>``
holding an ELF library compiled by tests/tools), the probe's findings enter as the JSON the
probe prints, and the machine as the ``Machine`` value ``cudaenv.machine.detect`` returns: this
machine has no driver or GPU, so those two are the fakes, behind their real interfaces.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv.doctor import copies, env_for_python, ldconfig_cache
from cudaenv.doctor.checks import findings
from cudaenv.doctor.facts import Facts
from cudaenv.envs.base import Env
from cudaenv.errors import EnvError
from cudaenv.knowledge import load
from cudaenv.knowledge.logschema import load_log_rules
from cudaenv.machine.values import Machine
from cudaenv.smoke.report import SmokeReport
from cudaenv.system.elf import runpath, search_dirs
from tests.tools.make_wheel import build_shared_library

NO_DRIVER = {"loaded": False, "error": "libcuda.so.1: cannot open shared object file"}
GPU = {"loaded": True, "init": 0, "cuda_version": "12.4", "devices": ["NVIDIA A100"]}
BARE = Machine(driver_version=None, max_cuda=None, source="none")


def make_env(root: Path, libs: dict[str, list[str]]) -> Env:
    prefix = root / "env"
    site = prefix / "lib" / "python3.11" / "site-packages"
    for component, sonames in libs.items():
        folder = site / "nvidia" / component / "lib"
        folder.mkdir(parents=True)
        for soname in sonames:
            (folder / soname).write_bytes(build_shared_library(soname))
    site.mkdir(parents=True, exist_ok=True)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").symlink_to(sys.executable)
    return Env(prefix=prefix, python=prefix / "bin" / "python", site_packages=site, backend="venv")


def lib(soname: str, path: Path | None = None, error: str | None = None) -> dict:
    if path is None:
        error = error or f"{soname}: cannot open shared object file: No such file or directory"
    return {
        "soname": soname,
        "loaded": path is not None,
        "path": str(path) if path else None,
        "error": error,
    }


def facts(
    env: Env,
    libraries: list[dict],
    *,
    driver: dict = NO_DRIVER,
    tensorflow: dict | None = None,
    dists: dict[str, str] | None = None,
    tf: str | None = None,
    machine: Machine = BARE,
    environ: dict[str, str] | None = None,
    cache: dict[str, tuple[Path, ...]] | None = None,
) -> Facts:
    knowledge, rules = load(), load_log_rules()
    doc = {"driver": driver, "libraries": libraries, "tensorflow": tensorflow}
    environ = environ or {}
    line = knowledge.tf_line(Version(tf)) if tf else None
    return Facts(
        env=env,
        report=SmokeReport.from_json(doc, rules=rules),
        places={x["soname"]: copies(x["soname"], env, environ, cache or {}, ()) for x in libraries},
        required=frozenset(line.sonames if line else ()),
        tf_line=line,
        dists={k: Version(v) for k, v in (dists or {}).items()},
        machine=machine,
        knowledge=knowledge,
        environ=environ,
        sonames=rules.sonames,
    )


def only(found, cause: str, *, info: bool = False):
    """The one finding of ``cause`` (information-only ones are left out unless asked)."""
    picked = [f for f in found if f.cause == cause and (info or f.severity != "info")]
    assert len(picked) == 1, found
    return picked[0]


def test_in_site_packages_but_not_on_the_library_path(tmp_path: Path) -> None:
    env = make_env(tmp_path, {"cuda_runtime": ["libcudart.so.11.0"]})
    folder = env.site_packages / "nvidia" / "cuda_runtime" / "lib"
    f = only(findings(facts(env, [lib("libcudart.so.11.0")])), "library-path")
    assert f.severity == "warning"  # no installed framework needs it
    assert f.message == (
        f"libcudart.so.11.0 ({folder}): installed in this environment but not on the library "
        "path, so loading by name fails"
    )
    assert f.fix == f"export LD_LIBRARY_PATH={folder}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"


def test_required_library_off_the_path_is_an_error_and_activation_is_the_fix(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path, {"cuda_runtime": ["libcudart.so.11.0"]})
    (env.bin_dir / "activate").write_text("# cudaenv\n_CUDAENV_ACTIVE=1\n")
    found = findings(
        facts(env, [lib("libcudart.so.11.0")], tf="2.12.0", dists={"tensorflow": "2.12.0"})
    )
    f = next(f for f in found if f.cause == "library-path" and "libcudart" in f.message)
    assert f.severity == "error"
    assert f.fix == f"source {env.bin_dir / 'activate'}"
    assert any("cudaenv's activation is installed" in f.message for f in found)


def test_libraries_off_the_path_share_one_finding_and_one_fix(tmp_path: Path) -> None:
    env = make_env(tmp_path, {"curand": ["libcurand.so.10"], "nccl": ["libnccl.so.2"]})
    found = findings(facts(env, [lib("libcurand.so.10"), lib("libnccl.so.2")]))
    f = only(found, "library-path")
    assert f.message.startswith("libcurand.so.10, libnccl.so.2: installed in this environment")
    dirs = [env.site_packages / "nvidia" / c / "lib" for c in ("curand", "nccl")]
    assert (
        f.fix
        == f"export LD_LIBRARY_PATH={dirs[0]}:{dirs[1]}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"
    )


def build_with_runpath(path: Path, runpath: str) -> Path:
    """A real shared library with DT_RUNPATH, as TF's libtensorflow_framework.so.2 has."""
    source = path.with_suffix(".c")
    source.write_text("int cudaenv_test(void) { return 1; }\n")
    cmd = ["gcc", "-shared", "-fPIC", f"-Wl,-rpath,{runpath}", "-Wl,--enable-new-dtags"]
    subprocess.run([*cmd, "-o", str(path), str(source)], check=True, capture_output=True)
    return path


def test_runpath_is_read_from_the_elf_file(tmp_path: Path) -> None:
    library = build_with_runpath(tmp_path / "libx.so.2", "$ORIGIN/:$ORIGIN/../nvidia/cudnn/lib")
    assert runpath(library) == ("$ORIGIN/", "$ORIGIN/../nvidia/cudnn/lib")
    assert search_dirs([library]) == {
        str(tmp_path),
        os.path.realpath(tmp_path.parent / "nvidia/cudnn/lib"),
    }
    plain = tmp_path / "plain.so"
    plain.write_bytes(build_shared_library("libplain.so.1"))
    assert runpath(plain) == () and runpath(tmp_path / "libx.c") == ()


def test_what_tensorflows_runpath_finds_is_only_information(tmp_path: Path) -> None:
    env = make_env(tmp_path, {"cudnn": ["libcudnn.so.8"], "curand": ["libcurand.so.10"]})
    tf_dir = env.site_packages / "tensorflow"
    tf_dir.mkdir()
    framework = build_with_runpath(
        tf_dir / "libtensorflow_framework.so.2", "$ORIGIN/../nvidia/cudnn/lib"
    )
    probe = [lib("libcudnn.so.8"), lib("libcurand.so.10")]
    base = facts(env, probe, tf="2.15.1", dists={"tensorflow": "2.15.1"})
    found = findings(replace(base, runpath_dirs=search_dirs([framework])))
    off_path = [f.message for f in found if f.cause == "library-path" and "RUNPATH" in f.message]
    assert len(off_path) == 1 and off_path[0].startswith("libcudnn.so.8 (")
    by_severity = {f.severity: f.message for f in found if f.message.startswith("lib")}
    assert "TensorFlow finds these through its own RUNPATH" in by_severity["info"]
    assert by_severity["error"].startswith("libcurand.so.10 (")  # not in TF's RUNPATH (2.3)


def test_a_system_copy_shadowing_the_wheel_is_several_installs(tmp_path: Path) -> None:
    env = make_env(tmp_path, {"cudnn": ["libcudnn.so.9"]})
    system = tmp_path / "usr-local-cuda" / "lib64"
    system.mkdir(parents=True)
    (system / "libcudnn.so.9").write_bytes(build_shared_library("libcudnn.so.9", number=8))
    environ = {"LD_LIBRARY_PATH": str(system)}
    probe = [lib("libcudnn.so.9", system / "libcudnn.so.9")]
    f = only(findings(facts(env, probe, environ=environ)), "several-installs")
    assert f.severity == "error"
    assert f"loads from {system / 'libcudnn.so.9'} (found through LD_LIBRARY_PATH)" in f.message
    wheel_dir = env.site_packages / "nvidia" / "cudnn" / "lib"
    assert f.fix.startswith(f"export LD_LIBRARY_PATH={wheel_dir}")


def test_extra_copies_are_information_while_the_wheel_is_used(tmp_path: Path) -> None:
    env = make_env(tmp_path, {"cudnn": ["libcudnn.so.9"]})
    other = tmp_path / "other.so"
    other.write_bytes(build_shared_library("libcudnn.so.9", number=8))
    wheel = env.site_packages / "nvidia" / "cudnn" / "lib" / "libcudnn.so.9"
    f = only(
        findings(facts(env, [lib("libcudnn.so.9", wheel)], cache={"libcudnn.so.9": (other,)})),
        "several-installs",
        info=True,
    )
    assert (
        f.severity == "info"
        and "exists 2 times" in f.message
        and f"{other} (ldconfig)" in f.message
    )


def test_copies_are_counted_once_per_real_file(tmp_path: Path) -> None:
    env = make_env(tmp_path, {"cuda_runtime": ["libcudart.so.12"]})
    wheel_dir = env.site_packages / "nvidia" / "cuda_runtime" / "lib"
    toolkit = tmp_path / "cuda-12.4" / "lib64"
    toolkit.mkdir(parents=True)
    (toolkit / "libcudart.so.12").write_bytes(build_shared_library("libcudart.so.12"))
    link = tmp_path / "link.so"
    link.symlink_to(wheel_dir / "libcudart.so.12")
    environ = {"LD_LIBRARY_PATH": f"{wheel_dir}::{tmp_path / 'missing'}"}
    got = copies(
        "libcudart.so.12", env, environ, {"libcudart.so.12": (link,)}, (f"{tmp_path}/cuda-*/lib64",)
    )
    assert got == (
        ("wheel", wheel_dir / "libcudart.so.12"),
        ("cuda-toolkit", toolkit / "libcudart.so.12"),
    )


def test_other_cuda_major_in_the_env_is_a_version_mismatch(tmp_path: Path) -> None:
    env = make_env(tmp_path, {"cuda_runtime": ["libcudart.so.12"]})
    found = findings(
        facts(
            env,
            [lib("libcudart.so.11.0")],
            tf="2.13.1",
            dists={"tensorflow": "2.13.1", "nvidia-cuda-runtime-cu12": "12.2.140"},
        )
    )
    messages = [f.message for f in found if f.cause == "version-mismatch"]
    assert any(
        "libcudart.so.11.0 is needed but this environment has libcudart.so.12" in m
        for m in messages
    )
    (built,) = [f for f in found if "was built for CUDA 11.8" in f.message]
    assert built.message.endswith("the environment's CUDA runtime wheels are for CUDA 12")
    repair = f"cudaenv fix -p {shlex.quote(str(env.prefix))}"
    assert built.run == (repair,)  # in place first; a new environment is the other way
    assert built.fix.startswith(f"repair this environment in place: `{repair}`")
    assert "make a new one beside it: `cudaenv create --tf 2.13" in built.fix


def test_no_driver_names_the_floor_the_stack_needs(tmp_path: Path) -> None:
    env = make_env(tmp_path, {})
    f = only(findings(facts(env, [], tf="2.15.1", dists={"tensorflow": "2.15.1"})), "driver")
    assert f.severity == "error"
    assert f.message.startswith("no NVIDIA driver on this machine: libcuda.so.1 cannot be loaded")
    assert f.fix == "install the NVIDIA driver >= 525.60.13; `nvidia-smi` must work"


def test_the_cuda_11_floor_is_printed_as_nvidia_writes_it(tmp_path: Path) -> None:
    """TF 2.14 runs on any CUDA 11 driver from 450.80.02 (not "450.80.2")."""
    env = make_env(tmp_path, {})
    f = only(findings(facts(env, [], tf="2.14.1", dists={"tensorflow": "2.14.1"})), "driver")
    assert f.fix == "install the NVIDIA driver >= 450.80.02; `nvidia-smi` must work"
    old = {**GPU, "cuda_version": "10.2"}
    f = only(
        findings(facts(env, [], driver=old, tf="2.14.1", dists={"tensorflow": "2.14.1"})), "driver"
    )
    assert f.fix == "upgrade the NVIDIA driver to >= 450.80.02"


def test_in_a_container_without_the_gpu_the_cause_is_the_container(tmp_path: Path) -> None:
    env = make_env(tmp_path, {})
    machine = Machine(
        driver_version=None,
        max_cuda=None,
        source="none",
        container=("running in a container (/.dockerenv exists)",),
    )
    f = only(findings(facts(env, [], machine=machine)), "container")
    assert f.severity == "warning"  # no GPU framework installed
    assert "`--gpus all` to the `docker run`" in f.fix and f.run == ()


def test_driver_too_old_for_the_tf_line(tmp_path: Path) -> None:
    env = make_env(tmp_path, {})
    old = {**GPU, "cuda_version": "11.4"}
    f = only(
        findings(facts(env, [], driver=old, tf="2.15.1", dists={"tensorflow": "2.15.1"})), "driver"
    )
    older = load().newest_tf_line_for(Version("11.4"))
    assert f.message == "the driver supports CUDA <= 11.4; TensorFlow 2.15 needs CUDA >= 12.0"
    create = f"cudaenv create --tf {older.line} -p {env.prefix}-cudaenv"
    assert f.fix == (
        "upgrade the NVIDIA driver to >= 525.60.13, or make an environment this driver runs: "
        f"`{create}`"
    )
    assert f.run == (create,)


def test_driver_new_enough_gives_no_driver_finding(tmp_path: Path) -> None:
    env = make_env(tmp_path, {})
    found = findings(facts(env, [], driver=GPU, tf="2.15.1", dists={"tensorflow": "2.15.1"}))
    assert not [f for f in found if f.cause in ("driver", "container")]


@pytest.mark.parametrize(
    ("have", "bad"), [("8.6.0.163", True), ("9.1.0.70", True), ("8.9.4.25", False)]
)
def test_cudnn_wheel_against_the_cudnn_tf_was_built_with(
    tmp_path: Path, have: str, bad: bool
) -> None:
    env = make_env(tmp_path, {})
    found = findings(
        facts(env, [], tf="2.15.1", dists={"tensorflow": "2.15.1", "nvidia-cudnn-cu12": have})
    )
    hits = [f for f in found if "cuDNN" in f.message]
    assert bool(hits) is bad
    if bad:
        assert hits[0].cause == "version-mismatch" and "nvidia-cudnn-cu12>=8.9,<9" in hits[0].fix


def test_recipe_constraints_are_checked(tmp_path: Path) -> None:
    env = make_env(tmp_path, {})
    found = findings(facts(env, [], tf="2.14.0", dists={"tensorflow": "2.14.0", "numpy": "2.1.0"}))
    f = next(f for f in found if "numpy" in f.message)
    assert f.message == "TensorFlow 2.14 needs numpy<2; the environment has numpy 2.1.0"
    assert f.fix.endswith("'numpy<2'")


def test_tf_log_problems_become_findings_once(tmp_path: Path) -> None:
    env = make_env(tmp_path, {})
    line = (  # tests/data/logs/tf213_cudart_missing_tensorrt.txt
        "2024-02-24 17:46:11.024256: I tensorflow/tsl/cuda/cudart_stub.cc:28] "
        "Could not find cuda drivers on your machine, GPU will not be used."
    )
    tf = {"version": "2.13.1", "gpus": [], "log": [{"phase": "import", "line": line}] * 2}
    found = findings(facts(env, [], driver=GPU, tensorflow=tf))
    printed = [f for f in found if f.message.startswith("TensorFlow printed:")]
    assert len(printed) == 1 and printed[0].cause == "library-path"


def test_errors_come_first(tmp_path: Path) -> None:
    env = make_env(tmp_path, {"cuda_runtime": ["libcudart.so.12"]})
    found = findings(
        facts(env, [lib("libcudart.so.12")], tf="2.15.1", dists={"tensorflow": "2.15.1"})
    )
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert severities[0] == "error"


def test_ldconfig_cache_reads_this_machines_loader_cache() -> None:
    cache = ldconfig_cache()
    assert any(p.name == "libc.so.6" for p in cache.get("libc.so.6", ()))


def test_env_for_python(tmp_path: Path) -> None:
    env = env_for_python(Path(sys.executable))
    assert env.prefix == Path(sys.prefix) and env.site_packages.name == "site-packages"
    fake = tmp_path / "python"
    fake.write_text("not an interpreter")
    with pytest.raises(EnvError, match="is not a Python interpreter"):
        env_for_python(fake)
