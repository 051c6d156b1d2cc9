"""The solver against the real PyPI, checked by a second resolver (uv).

uv is given the same roots cudaenv's recipes make, with cudaenv's pins as constraints: if the
set is complete and consistent, uv adds nothing and changes nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from cudaenv import knowledge
from cudaenv.index import Index
from cudaenv.machine import Overrides, detect
from cudaenv.request import Request
from cudaenv.solver import solve

pytestmark = pytest.mark.network

UV = Path(sys.executable).with_name("uv")
PLATFORM = "manylinux_2_28_x86_64"


@pytest.fixture(scope="module")
def tf215_spacy37(tmp_path_factory: pytest.TempPathFactory):
    know = knowledge.load()
    machine = detect(Overrides(driver="535.104.05"), driver_to_cuda=know.max_cuda_for_driver)
    request = Request.from_args(tf="2.15", spacy="3.7", python="3.11", platform=PLATFORM)
    cache = tmp_path_factory.mktemp("pypi-cache")
    with Index("https://pypi.org/simple", cache_dir=cache, platform=PLATFORM) as index:
        return solve(request, machine, know, index)


def test_tf215_spacy37_on_a_cuda_12_2_driver(tf215_spacy37) -> None:
    pins = {p.name: p.version for p in tf215_spacy37.pins}
    assert pins["tensorflow"].release[:2] == (2, 15)
    assert pins["spacy"].release[:2] == (3, 7)
    assert pins["nvidia-cudnn-cu12"].release[:2] == (8, 9)
    assert pins["nvidia-cuda-runtime-cu12"].release[:2] == (12, 2)
    assert pins["cupy-cuda12x"] < Version("13")
    assert pins["numpy"] < Version("2")
    assert not [name for name in pins if name.endswith("-cu11")]
    assert str(tf215_spacy37.stack.driver_floor) == "525.60.13"
    for pin in tf215_spacy37.pins:
        assert pin.wheel.url.startswith("https://") and len(pin.wheel.sha256) == 64


@pytest.mark.skipif(not UV.exists(), reason="uv is not installed next to this Python")
def test_uv_finds_the_set_complete_and_consistent(tf215_spacy37, tmp_path: Path) -> None:
    know = knowledge.load()
    cupy = know.cupy_for(12)
    roots = [
        "tensorflow[and-cuda]==2.15.*",
        "spacy[cuda12x]==3.7.*",
        "numpy<2",
        *(str(r) for r in cupy.runtime_wheels),
        # what spaCy imports without declaring it (click): the same roots cudaenv solves
        *(str(r) for r in know.spacy_line(Version("3.7")).requirements),
    ]
    (tmp_path / "in.txt").write_text("\n".join(roots) + "\n")
    (tmp_path / "pins.txt").write_text(
        "".join(f"{p.name}=={p.version}\n" for p in tf215_spacy37.pins)
    )
    out = subprocess.run(
        [
            str(UV),
            "pip",
            "compile",
            str(tmp_path / "in.txt"),
            "-c",
            str(tmp_path / "pins.txt"),
            "--python-version",
            "3.11",
            "--python-platform",
            "x86_64-manylinux_2_28",
            "--prerelease",
            "disallow",
            "--no-header",
            "--no-annotate",
            "--quiet",
            "--index-url",
            "https://pypi.org/simple",
            "--cache-dir",
            str(tmp_path / "uv-cache"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    uv = {}
    for line in out.stdout.splitlines():
        if "==" in line and not line.startswith("#"):
            name, _, version = line.strip().partition("==")
            uv[name.split("[")[0].strip()] = Version(version.strip())
    ours = {str(p.name): p.version for p in tf215_spacy37.pins}
    assert uv == ours
