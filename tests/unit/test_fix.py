"""The pieces of ``cudaenv fix`` that need no index: reading dist-infos, telling the index's
file from another, the frameworks a driver blocks, the plan's difference, the file
transaction. Real files in temporary folders, the real recipes; the whole command runs on real
environments in tests/functional/test_fix.py."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.driver import DriverVersion
from cudaenv.errors import FixError
from cudaenv.fix import files, frameworks, installed, plan
from cudaenv.fix.before import _is_it
from cudaenv.index.links import FileLink
from cudaenv.knowledge import load
from cudaenv.machine import Machine
from cudaenv.request import Target
from cudaenv.resolution import Pin, Resolution, Stack, WheelFile

ENV = Target.from_strings("3.11", "manylinux_2_28_x86_64").marker_environment()


@pytest.mark.parametrize(
    ("name", "free", "major"),
    [
        ("nvidia-cudnn-cu11", True, 11),
        ("nvidia_cuda_runtime_cu12", True, 12),
        ("nvidia-cuda-runtime", True, None),  # CUDA 13's unsuffixed wheels
        ("cupy-cuda12x", True, 12),
        ("jax-cuda12-plugin", True, 12),
        ("jax-cuda13-pjrt", True, 13),
        ("tensorrt-libs", True, None),
        ("cuda-toolkit", True, None),
        ("tensorflow", False, None),
        ("jaxlib", False, None),
        ("numpy", False, None),
        ("cuda-bindings", False, None),
    ],
)
def test_what_fix_may_change_and_the_cuda_major_a_name_says(name, free, major) -> None:
    assert installed.is_free(name) is free
    assert installed.cuda_major(name) == major


def dist_info(site: Path, name: str, version: str, **files: str) -> Path:
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    head = files.pop("metadata", "")
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{head}\n"
    )
    for key, text in files.items():
        (folder / ("direct_url.json" if key == "direct_url_json" else key)).write_text(text)
    return folder


def test_a_dist_info_is_read_for_its_wheel_tags_hash_source_and_requirements(tmp_path) -> None:
    site = tmp_path / "site-packages"
    dist_info(
        site,
        "tensorflow",
        "2.15.1",
        metadata="Requires-Dist: numpy<2\n"
        'Requires-Dist: nvidia-cudnn-cu12==8.9.4.25; extra == "and-cuda"',
        WHEEL="Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\n"
        "Tag: cp311-cp311-manylinux2014_x86_64\n",
        INSTALLER="pip\n",
    )
    url = "https://files.example/nvidia_cudnn_cu12-8.9.4.25-py3-none-manylinux1_x86_64.whl"
    dist_info(
        site,
        "nvidia-cudnn-cu12",
        "8.9.4.25",
        direct_url_json=json.dumps({"url": url, "archive_info": {"hashes": {"sha256": "ab" * 32}}}),
    )
    dist_info(
        site, "acme", "0.1", direct_url_json=json.dumps({"url": "file:///src", "dir_info": {}})
    )
    wheel = "file:///w/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl"
    dist_info(site, "numpy", "1.26.4", direct_url_json=json.dumps({"url": wheel}))
    got = {d.name: d for d in installed.read(site)}
    tf = got["tensorflow"]
    assert tf.tags == parse_tag("cp311-cp311-manylinux_2_17_x86_64") | parse_tag(
        "cp311-cp311-manylinux2014_x86_64"
    )
    assert tf.metadata_sha256 == hashlib.sha256((tf.folder / "METADATA").read_bytes()).hexdigest()
    assert tf.installer == "pip" and tf.direct is None and not tf.local
    assert [str(r) for r in tf.needs(ENV)] == ["numpy<2"]  # the extra's pins only with it
    cudnn = got["nvidia-cudnn-cu12"]
    assert cudnn.direct == WheelFile(filename=url.rsplit("/", 1)[1], url=url, sha256="ab" * 32)
    assert got["acme"].local and got["acme"].direct is None
    assert not got["numpy"].local and got["numpy"].direct is None  # a file: looked for by tags


def link(filename: str, **more) -> FileLink:
    return FileLink(
        filename=filename, url=f"https://i.example/{filename}", sha256="cd" * 32, **more
    )


def test_the_index_file_is_the_one_whose_tags_build_and_metadata_are_those_installed(
    tmp_path,
) -> None:
    site = tmp_path / "site"
    dist_info(site, "numpy", "1.26.4", WHEEL="Tag: cp311-cp311-manylinux_2_17_x86_64\n")
    (dist,) = installed.read(site)
    right = "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl"
    assert _is_it(link(right), dist)
    assert _is_it(link(right, core_metadata={"sha256": dist.metadata_sha256}), dist)
    assert not _is_it(link(right, core_metadata={"sha256": "00" * 32}), dist)  # another build
    assert not _is_it(link("numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.whl"), dist)
    assert not _is_it(link("numpy-1.26.4-1-cp311-cp311-manylinux_2_17_x86_64.whl"), dist)
    assert not _is_it(link("numpy-1.26.3-cp311-cp311-manylinux_2_17_x86_64.whl"), dist)


def machine(driver: str | None) -> Machine:
    if driver is None:
        return Machine(driver_version=None, max_cuda=None, source="none")
    parsed = DriverVersion.parse(driver)
    return Machine(
        driver_version=parsed, max_cuda=load().max_cuda_for_driver(parsed), source="override"
    )


def test_a_driver_too_old_for_the_installed_tensorflow_is_refused_with_the_ways_out() -> None:
    know = load()
    found = {"tensorflow": Version("2.15.1"), "spacy": Version("3.7.5")}
    with pytest.raises(FixError) as refused:
        frameworks.specifiers(
            found, machine("470.82.01"), know, Version("3.11"), allow_change=False
        )
    err = refused.value
    assert err.message.startswith(
        "TensorFlow 2.15.1 needs CUDA >= 12.0, and this driver (470.82.01)"
    )
    assert "install NVIDIA driver >= 525.60.13" in (err.hint or "")
    assert "TensorFlow 2.14" in (err.hint or "")
    assert [r.options for r in err.remedies] == [(("--allow-framework-change", None),)]
    allowed = frameworks.specifiers(
        found, machine("470.82.01"), know, Version("3.11"), allow_change=True
    )
    assert {k: str(v) for k, v in allowed.items()} == {"tensorflow": "==2.14.*", "spacy": "==3.7.5"}
    fine = frameworks.specifiers(
        found, machine("535.104.05"), know, Version("3.11"), allow_change=False
    )
    assert {k: str(v) for k, v in fine.items()} == {"tensorflow": "==2.15.1", "spacy": "==3.7.5"}


def test_no_driver_names_the_one_that_runs_the_frameworks() -> None:
    with pytest.raises(FixError) as refused:
        frameworks.specifiers(
            {"tensorflow": Version("2.15.1")},
            machine(None),
            load(),
            Version("3.11"),
            allow_change=False,
        )
    assert [r.options for r in refused.value.remedies] == [(("--driver", "525.60.13"),)]


def dist(
    name: str, version: str, *requires: str, folder: Path = Path("/nowhere")
) -> installed.Dist:
    return installed.Dist(
        name=canonicalize_name(name),
        version=Version(version),
        folder=folder,
        installer="pip",
        tags=frozenset(),
        build=None,
        metadata_sha256=None,
        direct=None,
        local=False,
        requires=tuple(Requirement(r) for r in requires),
    )


def test_what_only_a_framework_needs_moves_with_it() -> None:
    dists = [
        dist("tensorflow", "2.15.1", "numpy<2", "tensorboard<2.16"),
        dist("tensorboard", "2.15.2", "markdown>=2.6", "numpy>=1.12"),
        dist("markdown", "3.5"),
        dist("numpy", "1.26.4"),
        dist("spacy", "3.7.5", "numpy>=1.19"),
    ]
    assert frameworks.exclusive(dists, ["tensorflow"], ENV) == {
        "tensorflow",
        "tensorboard",
        "markdown",
    }


def pin(name: str, version: str, *why: str) -> Pin:
    wheel = WheelFile(
        filename=f"{name}-{version}-py3-none-any.whl", url="https://x/", sha256="0" * 64
    )
    return Pin(name=canonicalize_name(name), version=Version(version), wheel=wheel, why=why)


def resolution(*pins: Pin, cuda: str = "12.2") -> Resolution:
    target = Target.from_strings("3.11", "manylinux_2_28_x86_64")
    return Resolution(pins=pins, target=target, frameworks=(), stack=Stack(cuda=Version(cuda)))


def test_the_plan_adds_replaces_and_removes_only_the_free_packages_it_must() -> None:
    dists = [
        dist("tensorflow", "2.15.1"),
        dist("numpy", "1.26.4"),
        dist("nvidia-cudnn-cu12", "8.9.2.26"),
        dist("nvidia-cudnn-cu11", "8.7.0.84"),  # a second libcudnn.so.8, for CUDA 11
        dist("cupy-cuda11x", "12.3.0"),  # a second CuPy
        dist("nvidia-nccl-cu12", "2.20.5"),  # of the stack's major, nothing pins it: stays
        dist("nvidia-cublas-cu11", "11.11.3.6"),  # another major, but a held package needs it
        dist("acme", "1.0", "nvidia-cublas-cu11"),
    ]
    solved = resolution(
        pin("tensorflow", "2.15.1", "--tf 2.15.1"),
        pin("numpy", "1.26.4"),
        pin("nvidia-cudnn-cu12", "8.9.4.25", "tensorflow[and-cuda]==2.15.1"),
        pin("nvidia-cuda-runtime-cu12", "12.2.140", "tensorflow[and-cuda]==2.15.1"),
        pin("cupy-cuda12x", "12.3.0", "spacy[cuda12x]==3.7.5"),
    )
    got = {c.name: (c.kind, c.before, c.after) for c in plan.diff(dists, solved, ENV)}
    assert got == {
        "nvidia-cudnn-cu12": ("replace", Version("8.9.2.26"), Version("8.9.4.25")),
        "nvidia-cuda-runtime-cu12": ("add", None, Version("12.2.140")),
        "cupy-cuda12x": ("add", None, Version("12.3.0")),
        "nvidia-cudnn-cu11": ("remove", Version("8.7.0.84"), None),
        "cupy-cuda11x": ("remove", Version("12.3.0"), None),
    }


def test_a_plan_that_breaks_a_kept_package_is_refused() -> None:
    dists = [
        dist("nvidia-cudnn-cu12", "8.9.2.26"),
        dist("acme", "1.0", "nvidia-cudnn-cu12==8.9.2.26"),
    ]
    solved = resolution(pin("nvidia-cudnn-cu12", "8.9.4.25"))
    with pytest.raises(FixError, match=r"acme 1.0 needs nvidia-cudnn-cu12==8.9.2.26"):
        plan.diff(dists, solved, ENV)
    assert plan.diff(dists, solved, ENV, solved=["acme"])  # the solve met its needs itself


def record(site: Path, name: str, paths: dict[str, bytes]) -> None:
    folder = dist_info(site, name, "1.0")
    rows = []
    for rel, data in paths.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
        rows.append(f"{rel},sha256=x,{len(data)}")
    rows += [f"{folder.name}/METADATA,,", f"{folder.name}/RECORD,,"]
    (folder / "RECORD").write_text("\n".join(rows) + "\n")


def tree(prefix: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(prefix)): p.read_bytes()
        for p in prefix.rglob("*")
        if p.is_file() and files.STATE not in p.parts
    }


def test_files_set_aside_come_back_exactly_and_what_stays_keeps_its_shared_files(tmp_path) -> None:
    prefix = tmp_path / "env"
    site = prefix / "lib/python3.11/site-packages"
    record(site, "nvidia-a", {"nvidia/__init__.py": b"", "nvidia/a/lib/liba.so.1": b"A"})
    record(site, "nvidia-b", {"nvidia/__init__.py": b"", "nvidia/b/lib/libb.so.1": b"B"})
    (site / "nvidia/a/__pycache__").mkdir()
    (site / "nvidia/a/__pycache__/x.cpython-311.pyc").write_bytes(b"pyc")
    record(site, "nvidia-c", {"nvidia/a/x.py": b"x"})
    before = tree(prefix)
    dists = {d.name: d for d in installed.read(site)}
    aside = files.Aside(prefix)
    aside.set_aside([dists["nvidia-a"], dists["nvidia-c"]], [dists["nvidia-b"]])
    assert not (site / "nvidia/a").exists()  # its files, their bytecode and folders: gone
    assert (site / "nvidia/__init__.py").exists()  # nvidia-b lists it too: copied, not moved
    (site / "nvidia/a/lib").mkdir(parents=True)
    (site / "nvidia/a/lib/liba.so.2").write_bytes(b"new")  # what an installer adds
    (site / "nvidia/__init__.py").write_bytes(b"# rewritten")
    assert aside.rollback() == []
    assert tree(prefix) == before
    assert not (prefix / files.STATE).exists()


def test_a_commit_keeps_only_what_undo_needs(tmp_path) -> None:
    prefix = tmp_path / "env"
    site = prefix / "lib/python3.11/site-packages"
    record(site, "nvidia-a", {"nvidia/a/lib/liba.so.1": b"A"})
    (prefix / "bin").mkdir()
    (prefix / "bin/activate").write_text("# the venv's own\n")
    (dist_a,) = installed.read(site)
    aside = files.Aside(prefix)
    aside.set_aside([dist_a], [])
    aside.copy(["bin/activate", "bin/activate.fish"])  # only what exists is copied
    assert aside.copied == ["bin/activate"]
    aside.commit(["bin/activate"])
    kept = prefix / files.STATE / files.UNDO
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file()) == [
        "bin/activate"
    ]
    assert not [p for p in (prefix / files.STATE).iterdir() if p.name.startswith("aside-")]
    assert os.listdir(site) == []


def test_what_fix_keeps_in_a_prefix_cudaenv_made_is_cudaenvs_own_for_force(tmp_path) -> None:
    """`create --force` replaces a prefix only while every file is accounted for: the
    before-lock and fix's folder are cudaenv's own, a file of the user's still is not."""
    from cudaenv.envs.prefix import _marker, foreign, write_marker

    prefix = tmp_path / "env"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "activate").write_text("# cudaenv's\n")
    write_marker(prefix, "venv")
    (prefix / "pylock.before-fix.toml").write_text("")
    (prefix / files.STATE / files.UNDO / "bin").mkdir(parents=True)
    (prefix / files.STATE / files.UNDO / "bin" / "activate").write_text("# the venv's own\n")
    marker = _marker(prefix)
    assert marker is not None
    assert foreign(prefix, marker) == []
    (prefix / "notes.txt").write_text("mine")
    assert foreign(prefix, marker) == ["notes.txt"]
