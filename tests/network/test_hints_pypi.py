"""Hints followed against the real index: the refused requests issue 14 names, each way out
applied and run (exit 0), and what the fixes changed: TF 2.14 on Python 3.11 resolves without
TensorRT, ``--tf 2.12`` beside spaCy 3.8 picks 2.12's newest release that works, TF 2.21's
reported stack is its pins."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from packaging.version import Version

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.network

TARGET = ["--platform", "manylinux_2_28_x86_64", "--driver", "535.104.05"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pypi-cache")


def _args(cache: Path, *request: str) -> list[str]:
    python = [] if "--python" in request else ["--python", "3.11"]
    return ["solve", *request, *python, *TARGET, "--cache-dir", str(cache)]


def _apply(argv: list[str], options: list[list[Any]]) -> list[str]:
    out = list(argv)
    for flag, value in options:
        if flag in out and value is not None:
            out[out.index(flag) + 1] = value
        elif flag not in out:
            out += [flag] if value is None else [flag, value]
    return out


@pytest.mark.parametrize(
    ("request_", "first"),
    [
        (("--tf", "2.13", "--spacy", "3.8", "--python", "3.8"), ["--python", "3.11"]),
        (("--tf", "2.21", "--spacy", "3.5"), ["--spacy", "3.8"]),
        (("--tf", "2.15", "--driver", "418.39"), ["--driver", "525.60.13"]),
    ],
    ids=["tf213-spacy38-py38", "tf221-spacy35", "driver-418"],
)
def test_each_remedy_works_on_the_real_index(request_, first, cache: Path, cli) -> None:
    argv = _args(cache, *request_)
    if "--driver" in request_:  # the request's own driver, not the default one
        i = argv.index("--driver", argv.index("--platform"))
        del argv[i : i + 2]
    refused = cli(*argv, "--json")
    assert refused.code == 2, refused.out
    remedies = json.loads(refused.out)["error"]["remedies"]
    assert remedies[0]["options"] == [first], remedies
    for remedy in remedies:
        followed = cli(*_apply(argv, remedy["options"]))
        assert followed.code == 0, (remedy, followed.err)


def test_tf214_on_python_311_resolves_without_tensorrt(cache: Path, cli) -> None:
    doc = json.loads(cli(*_args(cache, "--tf", "2.14"), "--json").out)
    names = {p["name"]: p["version"] for p in doc["packages"]}
    assert names["tensorflow"] == "2.14.1" and "tensorrt" not in names
    human = cli(*_args(cache, "--tf", "2.14")).out
    assert "TF-TRT (tf.experimental.tensorrt) is unavailable: tensorrt==8.5.3.1" in human


def test_a_line_gets_its_newest_release_that_works(cache: Path, cli) -> None:
    out = cli(*_args(cache, "--tf", "2.12", "--spacy", "3.8"), "--json").out
    doc = json.loads(out)
    assert "error" not in doc, doc["error"]
    assert doc["frameworks"]["tensorflow"] == "2.12.1", doc["frameworks"]


def test_tf221_reports_the_pinned_stack(cache: Path, cli) -> None:
    doc = json.loads(cli(*_args(cache, "--tf", "2.21"), "--json").out)
    pins = {p["name"]: Version(p["version"]) for p in doc["packages"]}
    runtime, cudnn = pins["nvidia-cuda-runtime-cu12"], pins["nvidia-cudnn-cu12"]
    assert doc["cuda"] == f"{runtime.major}.{runtime.minor}"
    assert doc["cudnn"] == f"{cudnn.major}.{cudnn.minor}"
    assert doc["built_with"] == {"cuda": "12.5", "cudnn": "9.3"}


def test_a_line_with_only_pre_releases_says_add_pre(cache: Path, cli) -> None:
    doc = json.loads(cli(*_args(cache, "--tf", "2.22"), "--json").out)
    if "error" not in doc:
        pytest.skip("TensorFlow 2.22 has a final release now")
    assert doc["error"]["message"].startswith("TensorFlow 2.22 has only pre-releases so far (")
    assert doc["error"]["remedies"][0]["options"] == [["--pre", None]]


def test_the_hint_for_an_index_url_that_is_no_url_works(cli, cache) -> None:
    argv = _args(cache, "--spacy", "3.7", "--cpu")
    refused = cli(*argv, "--index-url", "not-a-url")
    assert refused.code == 2
    hint = refused.err.split("e.g. ", 1)[1].split()
    assert hint == ["--index-url", "https://pypi.org/simple"]
    assert cli(*argv, *hint).code == 0
