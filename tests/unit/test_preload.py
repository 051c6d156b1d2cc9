"""The start-up hook's parts: the ELF facts its plan rests on, the load order, the recipes'
``[preload]`` tables, the module it renders, and the hook's own rules (variables, the finder),
on real ELF libraries the tests compile and the real interpreter."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cudaenv import preload
from cudaenv.activation import Change
from cudaenv.errors import KnowledgeError
from cudaenv.knowledge import load, load_from
from cudaenv.preload import Library, Plan, load_order
from cudaenv.preload import hook as hook_module
from cudaenv.system.elf import Dynamic, dynamic
from tests.tools.make_wheel import build_shared_library
from tests.unit.test_knowledge import MINIMAL, broken

# --- the ELF facts -----------------------------------------------------------------------------


def test_soname_and_needed_are_read_from_the_elf_file_in_order(tmp_path: Path) -> None:
    path = tmp_path / "libcublas.so.12"
    needed = ["libcublasLt.so.12", "libnvJitLink.so.12"]
    path.write_bytes(build_shared_library("libcublas.so.12", number=12, needed=needed))
    info = dynamic(path)
    assert info.soname == "libcublas.so.12"
    assert info.needed[:2] == tuple(needed)  # then the C library the compiler adds
    assert info.runpath == ()


def test_what_is_not_an_elf_library_reads_as_nothing(tmp_path: Path) -> None:
    text = tmp_path / "libx.so.1"
    text.write_text("not ELF")
    truncated = tmp_path / "liby.so.1"
    truncated.write_bytes(build_shared_library("liby.so.1")[:100])
    for path in (text, truncated, tmp_path / "missing.so"):
        assert dynamic(path) == Dynamic()


# --- the load order -------------------------------------------------------------------------


def lib(soname: str, *needed: str) -> Library:
    return Library(soname=soname, path=Path("/nvidia") / soname, needed=needed)


def test_each_library_comes_after_what_it_needs() -> None:
    libraries = [
        lib("libcublas.so.12", "libcublasLt.so.12", "libc.so.6"),
        lib("libcublasLt.so.12"),
        lib("libcusolver.so.11", "libnvJitLink.so.12", "libcusparse.so.12", "libcublas.so.12"),
        lib("libcusparse.so.12", "libnvJitLink.so.12"),
        lib("libnvJitLink.so.12"),
    ]
    order = [x.soname for x in load_order(libraries)]
    assert order == [
        "libcublasLt.so.12",
        "libcublas.so.12",
        "libnvJitLink.so.12",
        "libcusparse.so.12",
        "libcusolver.so.11",
    ]


def test_a_cycle_is_broken_and_nothing_is_lost() -> None:
    order = load_order([lib("liba.so.1", "libb.so.1"), lib("libb.so.1", "liba.so.1")])
    assert [x.soname for x in order] == ["libb.so.1", "liba.so.1"]


# --- the recipes' [preload] tables --------------------------------------------------------------


def test_the_recipes_name_the_modules_that_wake_the_hook() -> None:
    k = load()
    assert {"tensorflow", "torch", "jax", "jaxlib", "cupy", "cupy_backends"} == k.preload_modules
    assert all(p.source.startswith("https://") and p.why for p in k.preload)


def test_a_preload_table_is_validated_like_every_row(tmp_path: Path) -> None:
    table = '[meta]\nversion = "2026.11.25"\n\n[preload]\nmodules = ["cupy", "not a module"]\n'
    problems = broken(tmp_path, ("cupy.toml", '[meta]\nversion = "2026.11.25"\n', table))
    assert problems == [
        "cupy.toml: preload.modules: 'not a module' is not a top-level module name",
        "cupy.toml: preload.why: missing",
        "cupy.toml: preload.source: missing",
    ]
    assert load_from(MINIMAL / "recipes", MINIMAL / "constraints").preload_modules == frozenset()


# --- the module it renders ----------------------------------------------------------------------


def test_the_rendered_module_holds_the_plan_relative_to_site_packages(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    plan = Plan(
        libraries=(Library(soname="libcudart.so.12", path=site / "nvidia/cuda_runtime/lib/x"),),
        changes=(Change(name="XLA_FLAGS", kind="flags", values=(f"--dir={site}/nvidia/nvcc",)),),
        modules=frozenset({"tensorflow", "cupy"}),
    )
    text = preload.render(site, plan)
    assert text == preload.render(site, plan)  # the same bytes every time
    namespace: dict[str, object] = {"__file__": str(site / "_cudaenv_preload.py")}
    exec(compile(text, "_cudaenv_preload.py", "exec"), namespace)
    assert namespace["MODULES"] == frozenset({"cupy", "tensorflow"})
    assert namespace["LIBRARIES"] == (("libcudart.so.12", "nvidia/cuda_runtime/lib/x"),)
    assert namespace["CHANGES"] == (("XLA_FLAGS", "flags", ("--dir={site}/nvidia/nvcc",)),)
    assert str(tmp_path) not in text  # relative: a moved or packed environment keeps it


def test_the_hook_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(hook_module.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    top = {name.split(".")[0] for name in names}
    assert top == {
        "os",
        "sys",
        "_thread",
        "ctypes",
        "collections",
        "importlib",
        "types",
    }


# --- the hook's own rules ---------------------------------------------------------------------


@pytest.fixture
def rules(monkeypatch: pytest.MonkeyPatch):
    """The hook module with a plan of variables, its record emptied after each test."""
    changes = (
        ("XLA_FLAGS", "flags", ("--xla_gpu_cuda_data_dir={site}/nvidia/cuda_nvcc",)),
        ("PATH", "path", ("{site}/nvidia/cuda_nvcc/bin",)),
        ("TF_SOMETHING", "set", ("{site}/x",)),
    )
    monkeypatch.setattr(hook_module, "CHANGES", changes)
    yield hook_module
    hook_module._changed.clear()
    hook_module._kept.clear()


def test_variables_are_set_only_where_the_user_set_nothing(rules) -> None:
    environ: dict[str, str] = {}
    rules.apply(environ, "/site")
    assert environ == {
        "XLA_FLAGS": "--xla_gpu_cuda_data_dir=/site/nvidia/cuda_nvcc",
        "PATH": f"/site/nvidia/cuda_nvcc/bin:{os.defpath}",  # the default search stays
        "TF_SOMETHING": "/site/x",
    }
    theirs = {
        "XLA_FLAGS": "--xla_gpu_cuda_data_dir=/mine",
        "PATH": "/site/nvidia/cuda_nvcc/bin:/usr/bin",
        "TF_SOMETHING": "",
    }
    again = dict(theirs)
    rules.apply(again, "/site")
    assert again == theirs  # an activated shell's, or the user's own
    other = {"XLA_FLAGS": "--xla_dump_to=dumps", "PATH": "::/usr/bin:"}
    rules.apply(other, "/site")
    ours = "--xla_gpu_cuda_data_dir=/site/nvidia/cuda_nvcc"
    assert other["XLA_FLAGS"] == f"{ours} --xla_dump_to=dumps"
    assert other["PATH"] == "/site/nvidia/cuda_nvcc/bin:/usr/bin"  # no empty element


@pytest.mark.parametrize(("value", "off"), [("", False), ("0", False), ("1", True), ("yes", True)])
def test_the_off_switch(value: str, off: bool) -> None:
    assert hook_module.disabled({"CUDAENV_NO_PRELOAD": value}) is off
    assert hook_module.disabled({}) is False


def test_the_finder_wakes_once_leaves_and_hands_the_import_on(tmp_path: Path) -> None:
    """In a fresh interpreter: a module of MODULES imports as usual, the hook ran before it, the
    finder is gone, and the import after it went through the rest of sys.meta_path."""
    site = tmp_path / "site"
    (site / "nvidia" / "cuda_runtime" / "lib").mkdir(parents=True)
    lib_file = site / "nvidia" / "cuda_runtime" / "lib" / "libcudart.so.12"
    lib_file.write_bytes(build_shared_library("libcudart.so.12", number=12))
    (site / "wakes.py").write_text("import sys\nSEEN = [type(f).__name__ for f in sys.meta_path]\n")
    plan = Plan(
        libraries=(Library(soname="libcudart.so.12", path=lib_file),),
        changes=(),
        modules=frozenset({"wakes"}),
    )
    preload.write_hook(site, plan)
    code = (
        "import site, sys; site.addsitedir(sys.argv[1])\n"
        "import _cudaenv_preload as h\n"
        "before = [type(f).__name__ for f in sys.meta_path][0]\n"
        "import json, wakes\n"
        "print(json.dumps([before, wakes.SEEN, [type(f).__name__ for f in sys.meta_path], "
        "h.report()['trigger'], h.report()['loaded']]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(site)],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "CUDAENV_NO_PRELOAD"},
    )
    import json

    before, seen, after, trigger, loaded = json.loads(done.stdout)
    assert before == "Finder" and "Finder" not in seen and "Finder" not in after
    assert trigger == "wakes"
    assert loaded == [["libcudart.so.12", str(lib_file)]]


def test_write_hook_replaces_a_stale_compiled_module(tmp_path: Path) -> None:
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    stale = cache / "_cudaenv_preload.cpython-311.pyc"
    stale.write_bytes(b"old")
    written = preload.write_hook(tmp_path, Plan(libraries=(), changes=(), modules=frozenset()))
    assert [p.name for p in written] == ["_cudaenv_preload.py", "_cudaenv_preload.pth"]
    assert not stale.exists()
    assert preload.written_by(tmp_path) is not None
    (tmp_path / "_cudaenv_preload.py").unlink()
    assert preload.written_by(tmp_path) is None  # half a hook is no hook
    shutil.rmtree(cache)


@pytest.mark.parametrize("module", [None, "raise TypeError('broken')\n"], ids=["missing", "broken"])
def test_a_pth_whose_module_is_missing_or_broken_is_silent(tmp_path: Path, module) -> None:
    (tmp_path / preload.PTH_FILE).write_text(preload.PTH_LINE)
    if module is not None:
        (tmp_path / f"{preload.HOOK_MODULE}.py").write_text(module)
    add = "import site, sys; site.addsitedir(sys.argv[1]); print('started')"
    done = subprocess.run(
        [sys.executable, "-S", "-c", add, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert (done.stdout, done.stderr) == ("started\n", "")


def test_a_knowledge_error_is_not_swallowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import cudaenv.knowledge as knowledge_pkg

    def fail() -> None:
        raise KnowledgeError("broken")

    monkeypatch.setattr(knowledge_pkg, "load", fail)
    from cudaenv.envs.base import Env

    env = Env(prefix=tmp_path, python=Path(sys.executable), site_packages=tmp_path, backend="venv")
    with pytest.raises(KnowledgeError):
        preload.write(env)
