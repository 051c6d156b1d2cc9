"""activation: what activation changes (plan/variables) and how the scripts are rendered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from cudaenv import activation
from cudaenv.activation import Change, library_dirs, plan, variables
from cudaenv.activation.scripts import csh_quote, fish_quote, render, sh_quote, template
from cudaenv.envs import Env
from cudaenv.errors import KnowledgeError

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Line:
    """Stands in for a knowledge TfLine: only the two fields activation reads."""

    env: dict[str, str] = field(default_factory=dict)
    path: tuple[str, ...] = ()


def make_env(root: Path, libs: dict[str, list[str]]) -> Env:
    site = root / "lib" / "python3.11" / "site-packages"
    for package, files in libs.items():
        folder = site / "nvidia" / package / "lib"
        folder.mkdir(parents=True)
        for name in files:
            (folder / name).write_bytes(b"\x7fELF")
    site.mkdir(parents=True, exist_ok=True)
    (root / "bin").mkdir()
    return Env(prefix=root, python=root / "bin/python", site_packages=site, backend="venv")


def test_library_dirs_found_on_disk_sorted(tmp_path: Path):
    env = make_env(
        tmp_path,
        {
            "cudnn": ["libcudnn.so.9"],
            "cublas": ["libcublas.so.12", "libcublasLt.so.12"],
            "cuda_runtime": ["libcudart.so.12"],
            "cuda_nvcc": ["__init__.py"],  # a lib folder without a shared library is skipped
        },
    )
    names = [d.parent.name for d in library_dirs(env)]
    assert names == ["cublas", "cuda_runtime", "cudnn"]


def test_recipe_named_dirs_only_when_they_exist(tmp_path: Path):
    env = make_env(tmp_path, {"cublas": ["libcublas.so.12"]})
    extra = tmp_path / "lib" / "extra"
    extra.mkdir()
    line = Line(env={"LD_LIBRARY_PATH": "{prefix}/lib/extra:{prefix}/lib/missing"})
    dirs = library_dirs(env, [line])
    assert extra in dirs
    assert tmp_path / "lib" / "missing" not in dirs


def test_no_nvidia_wheels_means_no_ld_library_path(tmp_path: Path):
    env = make_env(tmp_path, {})
    assert variables(env, [], {"LD_LIBRARY_PATH": "/x"}) == {}


@pytest.mark.parametrize(
    ("old", "expected"),
    [
        (None, "/a:/b"),
        ("", "/a:/b"),
        ("/c", "/a:/b:/c"),
        ("::/c::/d:", "/a:/b:/c:/d"),
        ("/b:/c:/a", "/a:/b:/c"),  # activating twice never duplicates
    ],
)
def test_path_change_never_adds_an_empty_element(old: str | None, expected: str):
    change = Change(name="LD_LIBRARY_PATH", kind="path", values=("/a", "/b"))
    assert change.apply(old) == expected
    assert "" not in change.apply(old).split(":")


def test_flags_put_ours_first_so_the_users_win():
    change = Change(name="XLA_FLAGS", kind="flags", values=("--dir=/a b",))
    assert change.apply(None) == "--dir=/a b"
    assert change.apply("--dir=/mine") == "--dir=/a b --dir=/mine"


def test_plan_fills_recipe_templates(tmp_path: Path):
    env = make_env(tmp_path, {"cuda_runtime": ["libcudart.so.12"]})
    nvcc_bin = env.site_packages / "nvidia" / "cuda_nvcc" / "bin"
    nvcc_bin.mkdir(parents=True)
    line = Line(
        env={"XLA_FLAGS": "--xla_gpu_cuda_data_dir={site}/nvidia/cuda_nvcc", "TF_X": "{prefix}"},
        path=("{site}/nvidia/cuda_nvcc/bin", "{site}/nvidia/not_installed/bin"),
    )
    got = variables(env, [line], {"PATH": "/usr/bin", "TF_X": "old"})
    assert got["PATH"] == f"{nvcc_bin}:/usr/bin"
    assert got["XLA_FLAGS"] == f"--xla_gpu_cuda_data_dir={env.site_packages}/nvidia/cuda_nvcc"
    assert got["TF_X"] == str(tmp_path)
    assert got["LD_LIBRARY_PATH"] == str(env.site_packages / "nvidia/cuda_runtime/lib")
    assert [c.name for c in plan(env, [line])] == ["LD_LIBRARY_PATH", "PATH", "TF_X", "XLA_FLAGS"]


@pytest.mark.parametrize("name", ["A-B", "x;rm", "PS1", "VIRTUAL_ENV", "_CUDAENV_ACTIVE"])
def test_recipe_may_not_set_odd_or_reserved_names(tmp_path: Path, name: str):
    env = make_env(tmp_path, {})
    with pytest.raises(KnowledgeError):
        plan(env, [Line(env={name: "1"})])


@pytest.mark.parametrize(
    "template",
    [
        "activate.sh",
        "activate.fish",
        "activate.csh",
        "engine.sh",
        "engine.fish",
        "conda-activate.d.sh",
        "conda-deactivate.d.sh",
        "conda-activate.d.fish",
        "conda-deactivate.d.fish",
        "conda-activate.d.csh",
    ],
)
def test_every_template_renders_without_leftover_placeholders(template: str):
    keys = ("ENGINE", "STEPS", "VIRTUAL_ENV", "PREFIX", "BIN_DIR", "PROMPT", "PRINT")
    text = render(template, dict.fromkeys(keys, "X"))
    assert "{{" not in text


def test_quoting_functions():
    assert sh_quote("a'b") == "'a'\"'\"'b'"
    assert fish_quote("a'b\\c") == "'a\\'b\\\\c'"
    assert csh_quote("it's $(x) `y` !z \\!") == "'it'\\''s $(x) `y` \\!z \\\\!'"
    assert csh_quote("two\nlines") is None


def test_every_script_carries_the_same_engine(tmp_path: Path):
    """Any cudaenv script may run the state another one saved: one engine text per shell."""
    venv = make_env(tmp_path / "v", {"cublas": ["libcublas.so.12"]})
    conda_root = tmp_path / "c"
    conda = make_env(conda_root, {"cudnn": ["libcudnn.so.9"]})
    (conda_root / "conda-meta").mkdir()
    written = activation.write(venv) + activation.write_conda(conda)
    by_shell = {
        "sh": [p for p in written if p.suffix == ".sh" or p.name == "activate"],
        "fish": [p for p in written if p.suffix == ".fish"],
    }
    for shell, scripts in by_shell.items():
        engine = template(f"engine.{shell}").rstrip("\n")
        assert len(scripts) == 3
        assert all(engine in p.read_text() for p in scripts)


def test_write_for_venv_and_conda(tmp_path: Path):
    venv = make_env(tmp_path / "v", {"cublas": ["libcublas.so.12"]})
    written = activation.write(venv)
    assert [p.name for p in written] == ["activate", "activate.fish", "activate.csh"]
    assert str(venv.site_packages / "nvidia/cublas/lib") in written[0].read_text()

    conda_root = tmp_path / "c"
    conda = make_env(conda_root, {"cublas": ["libcublas.so.12"]})
    (conda_root / "conda-meta").mkdir()
    (conda_root / "bin" / "python").write_text("")
    written = activation.write(conda)
    rel = sorted(str(p.relative_to(conda_root)) for p in written)
    assert rel == [
        "etc/conda/activate.d/cudaenv.csh",
        "etc/conda/activate.d/cudaenv.fish",
        "etc/conda/activate.d/cudaenv.sh",
        "etc/conda/deactivate.d/cudaenv.fish",
        "etc/conda/deactivate.d/cudaenv.sh",
    ]
    assert activation.write_conda(conda_root) == written  # the conda helper's entry point


def test_variables_from_a_resolution_use_the_real_recipes(tmp_path: Path):
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    from cudaenv.request import Target
    from cudaenv.resolution import Pin, Resolution, WheelFile

    env = make_env(tmp_path, {"cuda_runtime": ["libcudart.so.11.0"]})
    (env.site_packages / "nvidia" / "cuda_nvcc" / "bin").mkdir(parents=True)
    wheel = WheelFile(filename="tf.whl", url="https://example.invalid/tf.whl", sha256="0" * 64)
    tf = Pin(name=canonicalize_name("tensorflow"), version=Version("2.12.1"), wheel=wheel)
    target = Target(python=Version("3.11"), platform="manylinux_2_17_x86_64")
    resolution = Resolution(pins=(tf,), target=target, frameworks=())
    got = variables(env, resolution, {"PATH": "/usr/bin"})
    nvcc = env.site_packages / "nvidia" / "cuda_nvcc"
    assert got["XLA_FLAGS"] == f"--xla_gpu_cuda_data_dir={nvcc}"
    assert got["PATH"] == f"{nvcc}/bin:/usr/bin"
    no_tf = Resolution(pins=(), target=target, frameworks=())
    assert activation.recipe_lines(no_tf) == ()
