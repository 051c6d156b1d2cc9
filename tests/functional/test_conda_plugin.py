"""``conda cudaenv``: the plugin registers the same CLI, and conda runs it with the same results.

The first tests need no conda. The rest run conda itself (``@pytest.mark.conda``) and are
skipped, with the reason, where conda cannot be imported: conda is not on PyPI, so CI has none.
In-process tests load only this plugin into a fresh conda plugin manager, as conda-lockfiles'
tests do; subprocess tests go through the installed ``conda`` entry point.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import types
from functools import partial
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from cudaenv import cli
from cudaenv._toml import tomllib
from cudaenv.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
HAS_CONDA = importlib.util.find_spec("conda") is not None
NO_CONDA = "conda is not importable in this interpreter (it is not on PyPI; CI has none)"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )


# --- without conda -------------------------------------------------------------------------


def test_entry_point_names_the_plugin_module_which_stays_small():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["conda"] == {"cudaenv": "cudaenv.conda_plugin"}
    assert "conda" not in " ".join(project["project"]["dependencies"])
    module = ROOT / "src/cudaenv/conda_plugin.py"
    assert len(module.read_text().splitlines()) <= 30


def test_installed_distribution_declares_the_conda_entry_point():
    found = [ep for ep in entry_points(group="conda") if ep.name == "cudaenv"]
    if not found:
        pytest.skip("cudaenv is not installed in this interpreter (no entry points to read)")
    assert found[0].value == "cudaenv.conda_plugin"


def test_cudaenv_never_imports_conda_and_the_plugin_fails_alone_without_it():
    r = _python(
        "import sys; sys.modules['conda'] = None\n"  # as if conda were not installed
        "import cudaenv.cli, cudaenv.envs.conda\n"
        "cudaenv.cli.configure_parser(__import__('argparse').ArgumentParser())\n"
        "print(sorted(m for m in sys.modules if m == 'conda' or m.startswith('conda.')))\n"
        "try:\n    import cudaenv.conda_plugin\nexcept ImportError as e:\n    print('ERR', e)\n"
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "['conda']"  # only the blocker we planted
    assert lines[1].startswith("ERR") and "conda" in lines[1]


def test_host_is_cudaenv_standalone_and_conda_when_the_plugin_configures():
    own = argparse.ArgumentParser()
    cli.configure_parser(own)
    assert own.parse_args([]).host == "cudaenv"
    hosted = argparse.ArgumentParser()
    partial(cli.configure_parser, host="conda")(hosted)
    assert hosted.parse_args([]).host == "conda"


# --- with conda, in-process ----------------------------------------------------------------


@pytest.fixture
def plugin_manager(monkeypatch: pytest.MonkeyPatch):
    """A conda plugin manager with conda's reporters and only this plugin loaded."""
    from conda.base.context import reset_context
    from conda.plugins import reporter_backends
    from conda.plugins.hookspec import CondaSpecs
    from conda.plugins.manager import CondaPluginManager

    import cudaenv.conda_plugin

    manager = CondaPluginManager()
    manager.add_hookspecs(CondaSpecs)
    manager.load_plugins(*reporter_backends.plugins)
    manager.load_plugins(cudaenv.conda_plugin)
    monkeypatch.setattr("conda.plugins.manager.get_plugin_manager", lambda: manager)
    yield manager
    reset_context()


@pytest.fixture
def conda_cli(plugin_manager, capsys: pytest.CaptureFixture[str]):
    """Run ``conda ARGS`` in-process, as conda's own tests do; returns (code, out, err)."""
    from conda.cli.main import main_subshell

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main_subshell(*argv)
        except SystemExit as e:
            code = int(e.code or 0)
        out, err = capsys.readouterr()
        return int(code or 0), out, err

    return run


@pytest.fixture
def probe_command(monkeypatch: pytest.MonkeyPatch):
    """Add a ``probe`` subcommand that records its Namespace and fails on ``--fail``."""
    seen: list[argparse.Namespace] = []

    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--fail", action="store_true")
        parser.add_argument("--json", action="store_true")

    def run(args: argparse.Namespace) -> int:
        seen.append(args)
        if args.fail:
            raise UsageError("the probe was told to fail", hint="do not pass --fail")
        return 0

    probe = types.SimpleNamespace(
        NAME="probe", HELP="test probe", ORDER=999, configure=configure, run=run
    )
    real = cli._command_modules
    monkeypatch.setattr(cli, "_command_modules", lambda: [*real(), probe])
    return seen


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_hook_yields_one_subcommand_wired_to_the_shared_cli(plugin_manager):
    subcommands = plugin_manager.get_subcommands()
    sub = subcommands["cudaenv"]
    assert sub.action is cli.execute
    assert sub.configure_parser.func is cli.configure_parser
    assert sub.configure_parser.keywords == {"host": "conda"}
    assert "GPU" in sub.summary


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_conda_help_lists_cudaenv_and_every_cudaenv_command(conda_cli, cli):
    code, out, _ = conda_cli("--help")
    assert code == 0 and "cudaenv" in out
    code, out, _ = conda_cli("cudaenv", "--help")
    assert code == 0
    assert out.startswith("usage: conda cudaenv")
    names = [m.NAME for m in cli_modules()]
    for name in names:
        assert f"    {name}" in out, name
    own = cli("--help")
    assert own.code == 0
    assert [n for n in names if f"    {n}" in own.out] == names


def cli_modules():
    return cli._command_modules()


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_no_command_prints_help_and_exits_2_under_both_hosts(conda_cli, cli):
    code, out, _ = conda_cli("cudaenv")
    assert code == 2 and "usage: conda cudaenv" in out
    assert cli().code == 2


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_conda_hands_the_command_a_namespace_that_says_conda(conda_cli, probe_command):
    code, _, err = conda_cli("cudaenv", "probe")
    assert code == 0, err
    (args,) = probe_command
    assert args.host == "conda"
    assert (args.verbosity, args.quiet) == (0, False)
    assert args.fail is False


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
@pytest.mark.parametrize("extra", [(), ("--json",)])
def test_errors_render_and_exit_the_same_under_both_hosts(conda_cli, cli, probe_command, extra):
    code, out, err = conda_cli("cudaenv", "probe", "--fail", *extra)
    own = cli("probe", "--fail", *extra)
    assert code == own.code == 2
    assert (out, err) == (own.out, own.err)
    text = out if extra else err
    assert "the probe was told to fail" in text and "do not pass --fail" in text
    if extra:
        assert json.loads(out)["error"]["reference"] == "bad-input"
    assert [a.host for a in probe_command] == ["conda", "cudaenv"]


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_building_conda_parser_imports_no_solver_or_http_client():
    """conda calls the hook and configure_parser on every conda command: keep them light."""
    r = _python(
        "import sys, argparse\n"
        "import cudaenv.conda_plugin as p\n"
        "(sub,) = list(p.conda_subcommands())\n"
        "sub.configure_parser(argparse.ArgumentParser())\n"
        "print(sorted(m for m in ('resolvelib', 'http.client', 'rich') if m in sys.modules))\n"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_importing_the_plugin_module_imports_no_cudaenv_cli():
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import cudaenv.conda_plugin"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    imported = {ln.rsplit("|", 1)[-1].strip() for ln in r.stderr.splitlines() if "|" in ln}
    assert "cudaenv.conda_plugin" in imported
    assert not imported & {"resolvelib", "http.client", "cudaenv.cli", "cudaenv.cli.commands"}


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_this_condas_settings_are_the_ones_the_contract_tests_use():
    """tests/unit/test_conda_contract.py checks cudaenv's arguments against a capture of
    conda's settings; this conda must agree with it (else refresh the capture from it)."""
    import dataclasses

    from conda.base.context import Context
    from conda.cli.conda_argparse import generate_pre_parser
    from conda.plugins.types import CondaSubcommand

    captured = json.loads((ROOT / "tests/data/conda/settings.json").read_text())
    kinds = {"PrimitiveParameter": "primitive", "SequenceParameter": "sequence"}
    live = []
    for loader in Context._parameter_loaders.values():
        kind = kinds.get(type(loader.type).__name__, "map")
        element = getattr(loader.type, "_element_type", None)
        named = element.__name__ if kind == "primitive" and isinstance(element, type) else None
        live.append({"names": sorted(loader._names), "kind": kind, "type": named})
    assert sorted(live, key=lambda r: r["names"]) == captured["settings"]
    pre = sorted(a.dest for a in generate_pre_parser(add_help=False)._actions)
    assert pre == captured["pre_parser"]
    fields = dataclasses.fields(CondaSubcommand)
    required = sorted(
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    assert required == captured["subcommand_fields"]["required"]
    assert sorted(f.name for f in fields) == sorted(
        captured["subcommand_fields"]["required"] + captured["subcommand_fields"]["optional"]
    )


# --- with conda, through the installed entry point -----------------------------------------


def _conda(
    *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conda", *argv],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    if not any(ep.name == "cudaenv" for ep in entry_points(group="conda")):
        pytest.skip("cudaenv is not installed next to conda here (its entry point is absent)")
    monkeypatch.setenv("CONDA_SOLVER", "classic")  # libmamba may be absent from a pip conda


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_real_conda_finds_the_plugin_through_its_entry_point(registered):
    r = _conda("cudaenv", "--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"cudaenv {__import__('cudaenv').__version__}"
    r = _conda("cudaenv", "--help")
    assert r.returncode == 0 and "usage: conda cudaenv" in r.stdout


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_real_conda_runs_detect_like_cudaenv_does(registered):
    if importlib.util.find_spec("cudaenv.cli.commands.detect") is None:
        pytest.skip("cudaenv has no detect command yet")
    hosted = _conda("cudaenv", "detect", "--json")
    own = subprocess.run(
        [sys.executable, "-m", "cudaenv", "detect", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert hosted.returncode == own.returncode, hosted.stderr
    assert json.loads(hosted.stdout) == json.loads(own.stdout)


# --- with conda: the backend makes real conda environments ---------------------------------
# conda-forge is out of reach, so the channel is a local one (tests/tools/conda_channel.py):
# conda solves, fetches, verifies and links its python and pip packages itself.

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not HAS_CONDA:
        pytest.skip(NO_CONDA)
    from tests.tools.conda_channel import make_channel

    return make_channel(tmp_path_factory.mktemp("channel"))


@pytest.fixture
def conda_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """conda's envs, package cache and user files kept under ``tmp_path``."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CONDA_ENVS_DIRS", str(tmp_path / "envs"))
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(tmp_path / "pkgs"))
    monkeypatch.setenv("CONDA_SOLVER", "classic")
    monkeypatch.delenv("CONDA_EXE", raising=False)
    return tmp_path


def _make_env(channel: str, name: str = "tf"):
    from packaging.version import Version

    from cudaenv.envs import find_backend

    backend = find_backend("conda", channels=[channel])
    prefix = backend.prefix_for_name(name)
    return backend.create(prefix, Version(HERE))


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_real_conda_creates_a_named_env_with_python_and_pip(channel, conda_home):
    env = _make_env(channel)
    assert env.prefix == conda_home / "envs" / "tf"
    assert env.backend == "conda" and env.is_conda
    assert not (env.prefix / ".cudaenv-incomplete").exists()
    history = (env.prefix / "conda-meta" / "history").read_text()
    assert f"python={HERE}" in history and "create" in history
    r = subprocess.run(
        [str(env.python), "-c", "import sys, pip; print(sys.prefix); print(pip.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    prefix, pip_file = r.stdout.splitlines()
    assert Path(prefix) == env.prefix
    assert Path(pip_file).is_relative_to(env.site_packages)


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_real_conda_failure_is_an_env_error_and_leaves_nothing(channel, conda_home):
    from packaging.version import Version

    from cudaenv.envs import find_backend
    from cudaenv.errors import EnvError

    backend = find_backend("conda", channels=[channel])
    prefix = conda_home / "new" / "tf"
    with pytest.raises(EnvError, match=r"`conda create` failed") as e:
        backend.create(prefix, Version("3.4"))  # the channel has no such python
    assert "python=3.4" in (e.value.context or "")
    assert not (conda_home / "new").exists()


_ACTIVATE = {
    "bash": 'eval "$({conda} shell.bash hook)"\n'
    "conda activate {prefix}\n"
    'echo "ON:$LD_LIBRARY_PATH"\n'
    "python -c \"import ctypes; ctypes.CDLL('libcudart.so.12'); print('LOADED')\"\n"
    "conda deactivate\n"
    'echo "OFF:${{LD_LIBRARY_PATH-<unset>}}"\n',
    "fish": "{conda} shell.fish hook | source\n"
    "conda activate {prefix}\n"
    'echo "ON:$LD_LIBRARY_PATH"\n'
    "python -c \"import ctypes; ctypes.CDLL('libcudart.so.12'); print('LOADED')\"\n"
    "conda deactivate\n"
    'set -q LD_LIBRARY_PATH; and echo "OFF:$LD_LIBRARY_PATH"; or echo "OFF:<unset>"\n',
}


def _conda_environ(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "CONDA_ENVS_DIRS": str(root / "envs"),
        "CONDA_PKGS_DIRS": str(root / "pkgs"),
        "CONDA_SOLVER": "classic",
    }


def _nvidia_resolution(wheel: Path):
    """A resolution of one locked NVIDIA wheel, by its file:// URL and sha256."""
    import hashlib

    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from cudaenv.request import Target
    from cudaenv.resolution import Pin, Resolution, WheelFile

    pin = Pin(
        name=canonicalize_name("nvidia-cuda-runtime-cu12"),
        version=Version("12.2.140"),
        wheel=WheelFile(
            filename=wheel.name,
            url=wheel.as_uri(),
            sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
        ),
        group="cuda",
    )
    target = Target(python=Version(HERE), platform="manylinux_2_28_x86_64")
    return Resolution(pins=(pin,), target=target, frameworks=())


@pytest.fixture(scope="module")
def nvidia_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tools.make_wheel import make_nvidia_wheel

    return make_nvidia_wheel(
        tmp_path_factory.mktemp("wheels"),
        "nvidia-cuda-runtime-cu12",
        "12.2.140",
        libs=["libcudart.so.12"],
    )


@pytest.fixture(scope="module")
def stack_env(channel: str, nvidia_wheel: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real conda env with a locked NVIDIA wheel installed and conda activation written."""
    from cudaenv import activation
    from cudaenv.pipeline.install import install

    root = tmp_path_factory.mktemp("conda-stack")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in _conda_environ(root).items():
            mp.setenv(key, value)
        env = _make_env(channel)
        install(_nvidia_resolution(nvidia_wheel), env)
    activation.write_conda(env)
    return env, root


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
@pytest.mark.parametrize(
    ("shell", "before"), [("bash", "/opt/keep"), ("bash", None), ("fish", None)]
)
def test_conda_activate_puts_the_locked_wheels_libraries_on_the_path(stack_env, shell, before):
    import os
    import shlex
    import shutil

    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    env, root = stack_env
    conda = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "conda"))
    script = _ACTIVATE[shell].format(conda=conda, prefix=shlex.quote(str(env.prefix)))
    environ = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    environ.update(_conda_environ(root))
    if before is not None:
        environ["LD_LIBRARY_PATH"] = before
    r = subprocess.run(
        [shell, "-c", script], capture_output=True, text=True, env=environ, check=False
    )
    assert r.returncode == 0, r.stderr
    lib = env.site_packages / "nvidia" / "cuda_runtime" / "lib"
    on = str(lib) if before is None else f"{lib}:{before}"
    assert r.stdout.splitlines() == [f"ON:{on}", "LOADED", f"OFF:{before or '<unset>'}"]


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_a_conda_environment_cudaenv_makes_works_without_activation(
    channel, conda_home, nvidia_wheel, tmp_path
):
    """``create``'s path with the conda backend writes the start-up hook into the conda
    environment's site-packages: its Python, started by path with an empty environment, gets
    the wheel's libcudart on the first import of a CuPy (a stand-in that dlopens it by soname)."""
    import hashlib
    from dataclasses import replace

    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from cudaenv import preload
    from cudaenv.envs import find_backend
    from cudaenv.pipeline.creation import materialize
    from cudaenv.resolution import Pin, WheelFile
    from tests.tools.make_wheel import make_wheel

    code = "import ctypes\nV = ctypes.CDLL('libcudart.so.12').cudaenv_fake_version()\n"
    standin = make_wheel(tmp_path, "cupy-standin", "1.0", files={"cupy/__init__.py": code})
    pin = Pin(
        name=canonicalize_name("cupy-standin"),
        version=Version("1.0"),
        wheel=WheelFile(
            filename=standin.name,
            url=standin.as_uri(),
            sha256=hashlib.sha256(standin.read_bytes()).hexdigest(),
        ),
        group="framework",
    )
    resolution = _nvidia_resolution(nvidia_wheel)
    resolution = replace(resolution, pins=(*resolution.pins, pin))
    backend = find_backend("conda", channels=[channel])
    env, _ = materialize(resolution, conda_home / "envs" / "hooked", backend=backend)
    assert env.is_conda and preload.written_by(env.site_packages) is not None
    done = subprocess.run(
        ["env", "-i", str(env.python), "-c", "import cupy; print(cupy.V)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "12"), done.stderr


# --- environment.yml -----------------------------------------------------------------------


def test_environment_yml_asks_for_the_python_pyproject_supports_and_installs_the_project():
    text = (ROOT / "environment.yml").read_text()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    entries = [ln.strip()[2:].strip() for ln in text.splitlines() if ln.strip().startswith("- ")]
    assert f"python{requires}" in entries
    assert "pip" in entries and "-e ." in entries


@pytest.mark.conda
@pytest.mark.network  # cudaenv's dependencies and its build backend come from PyPI
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_conda_env_create_from_environment_yml_gives_a_working_cudaenv(channel, conda_home):
    import os

    prefix = conda_home / "cudaenv-env"
    environ = {**os.environ, "CONDA_CHANNELS": channel}  # conda-forge stands in offline
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "conda",
            "env",
            "create",
            "--offline",
            "-q",
            "-f",
            str(ROOT / "environment.yml"),
            "-p",
            str(prefix),
        ],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    version = subprocess.run(
        [str(prefix / "bin" / "cudaenv"), "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"cudaenv {__import__('cudaenv').__version__}"
    plugin = subprocess.run(
        [
            str(prefix / "bin" / "python"),
            "-c",
            "from importlib.metadata import entry_points as e;"
            "print([p.value for p in e(group='conda') if p.name == 'cudaenv'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert plugin.stdout.strip() == "['cudaenv.conda_plugin']"
    assert (prefix / "bin" / "uv").exists()


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_conda_cudaenv_create_from_a_lock_makes_a_named_conda_env(
    channel, conda_home, nvidia_wheel
):
    from cudaenv.lock import write

    lock = write(
        _nvidia_resolution(nvidia_wheel), conda_home / "pylock.toml", knowledge_version="test"
    )
    argv = ["cudaenv", "create", "--from", str(lock), "-n", "gpu", "-c", channel, "--no-smoke"]
    r = _conda(*argv, "--json")
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    prefix = conda_home / "envs" / "gpu"
    assert (facts["backend"], facts["prefix"], facts["wheels"]) == ("conda", str(prefix), 1)
    assert facts["installer"] == "uv"  # the uv that comes with cudaenv, into conda envs too
    assert (prefix / "conda-meta").is_dir()
    assert (prefix / "etc/conda/activate.d/cudaenv.sh").is_file()
    assert list(prefix.glob("lib/python*/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12"))
    smoke = json.loads(_conda("cudaenv", "smoke", "-n", "gpu", "--quick", "--json").stdout)
    assert [lib["soname"] for lib in smoke["libraries"] if lib["loaded"]] == ["libcudart.so.12"]
    doctor = json.loads(_conda("cudaenv", "doctor", "-n", "gpu", "--json").stdout)
    assert doctor["prefix"] == str(prefix)
    again = _conda(*argv)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    base = _conda("cudaenv", "create", "--from", str(lock), "-n", "base", "--no-smoke")
    assert base.returncode == 2 and "base environment" in base.stderr
    assert not (conda_home / "envs" / "base").exists()


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
@pytest.mark.skipif(
    importlib.util.find_spec("conda_libmamba_solver") is not None,
    reason="conda-libmamba-solver is installed here: conda's default solver works",
)
def test_a_conda_without_its_default_solver_is_named_and_the_hint_works(
    channel, conda_home, nvidia_wheel, monkeypatch
):
    from cudaenv.lock import write

    lock = write(
        _nvidia_resolution(nvidia_wheel), conda_home / "pylock.toml", knowledge_version="test"
    )
    argv = ["cudaenv", "create", "--from", str(lock), "-n", "gpu", "-c", channel, "--no-smoke"]
    monkeypatch.delenv("CONDA_SOLVER")  # conda's default: libmamba, not installed here
    r = _conda(*argv)
    assert r.returncode == 2
    first, *rest = r.stderr.splitlines()
    assert first == (
        "error: `conda create` failed (exit 1): solver backend (libmamba) is not installed"
    )
    assert "hint: set CONDA_SOLVER=classic, or install conda-libmamba-solver" in rest
    assert not (conda_home / "envs" / "gpu").exists()
    monkeypatch.setenv("CONDA_SOLVER", "classic")  # the hint, followed
    assert _conda(*argv).returncode == 0


# --- with conda: every command through conda's own parser ----------------------------------
# conda parses `conda cudaenv ...` and reads the Namespace itself (prefix, name, verbosity...)
# before cudaenv runs: each command, with -p and -n where it takes them, must get through that.

SOLVE = ("--tf", "2.15", "--spacy", "3.7", "--driver", "535.104.05", "--python", "3.11",
         "--platform", "manylinux_2_28_x86_64")  # fmt: skip


@pytest.fixture(scope="module")
def solve_index():
    if not HAS_CONDA:
        pytest.skip(NO_CONDA)
    import tempfile

    from tests.functional.solve_index import build_index, serve

    with tempfile.TemporaryDirectory(prefix="cudaenv-solve-wheels-") as tmp:
        server = serve(build_index(Path(tmp)), shared=True)
        try:
            yield server
        finally:
            server.stop()


def _json(r: subprocess.CompletedProcess[str]) -> dict:
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return json.loads(r.stdout)


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
@pytest.mark.parametrize("where", [("-v", "detect"), ("detect", "-v"), ("detect", "-q")])
def test_output_options_before_or_after_the_command_pass_condas_reading(registered, where):
    """`-v` once had a `verbose` next to conda's `verbosity`: conda refused the command."""
    r = _conda("cudaenv", *where, "--json")
    assert "driver_version" in _json(r)
    assert "MultipleKeysError" not in r.stderr


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_the_commands_without_an_environment_run_under_conda(registered, solve_index, tmp_path):
    index = ("--index-url", solve_index.url, "--cache-dir", str(tmp_path / "cache"))
    log = tmp_path / "tf.log"
    log.write_text("Could not find cuda drivers on your machine, GPU will not be used.\n")
    assert _json(_conda("cudaenv", "matrix", "--tf", "2.15", "--json"))["tensorflow"]
    assert _json(_conda("cudaenv", "explain", str(log), "--json"))["lines"]
    solved = _json(_conda("cudaenv", "solve", *SOLVE, *index, "--json"))
    assert solved["frameworks"] == {"tensorflow": "2.15.1", "spacy": solved["frameworks"]["spacy"]}
    out = tmp_path / "new dir" / "pylock.toml"
    locked = _json(_conda("cudaenv", "lock", *SOLVE, *index, "-o", str(out), "--json"))
    assert locked["written"] == str(out) and out.is_file()
    script = _conda("cudaenv", "completion", "bash")
    assert script.returncode == 0 and "complete " in script.stdout


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_create_with_a_prefix_and_a_name_then_smoke_and_doctor_under_conda(
    registered, conda_home, solve_index, tmp_path
):
    """The crash of the issue: `conda cudaenv create --tf 2.15 --spacy 3.7 -p PATH --backend
    venv` (conda read the Path-typed prefix as a string: AttributeError in conda)."""
    index = ("--index-url", solve_index.url, "--cache-dir", str(tmp_path / "cache"))
    prefix = tmp_path / "tf env"
    argv = ("cudaenv", "create", *SOLVE, *index, "--backend", "venv", "--no-smoke", "--json")
    r = _conda(*argv, "-p", str(prefix))
    assert "AttributeError" not in r.stderr
    facts = _json(r)
    assert (facts["prefix"], facts["backend"]) == (str(prefix), "venv")
    named = _json(_conda(*argv, "-n", "named", cwd=tmp_path))  # venv: ./NAME
    assert named["prefix"] == str(tmp_path / "named")
    smoke = _conda("cudaenv", "smoke", "-p", str(prefix), "--quick", "--json")
    assert json.loads(smoke.stdout)["verdict"], smoke.stderr[-2000:]
    doctor = _conda("cudaenv", "doctor", "-p", str(prefix), "--json")
    assert json.loads(doctor.stdout)["prefix"] == str(prefix), doctor.stderr[-2000:]
    verified = _conda("cudaenv", "verify", "-p", str(prefix), "--json")
    verdict = json.loads(verified.stdout)  # every file as locked; no driver on this machine
    assert verified.returncode == 2 and verdict["added"] == [], verified.stderr[-2000:]
    assert [d["kind"] for d in verdict["differences"]] == ["driver"]
    ran = _conda(
        "cudaenv", "run", "-p", str(prefix), "--", "python", "-c", "import sys; print(sys.prefix)"
    )
    assert (ran.returncode, ran.stdout.strip()) == (0, str(prefix)), ran.stderr[-2000:]
    wheels = tmp_path / "wheel house"
    fetched = _conda(
        "cudaenv", "download", str(prefix / "pylock.toml"), "-d", str(wheels), "--json"
    )
    assert _json(fetched)["wheels"] == facts["wheels"]
    argv = ("cudaenv", "kernel", "-p", str(prefix), "--prefix", str(tmp_path / "jupyter"))
    kernel = _conda(*argv, "--name", "my kernel")  # conda reads neither as its own
    assert kernel.returncode == 2 and "ipykernel is not installed" in kernel.stderr, kernel.stderr
