"""Shared fixtures: an in-process CLI runner, markers' skip rules, and ``--reverse``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

# wheel_dir, make_wheel, make_nvidia_wheel, local_index: see tests/tools/fixtures.py
pytest_plugins = ["tests.tools.fixtures"]


@dataclass(frozen=True)
class RunResult:
    code: int
    out: str
    err: str


# The index settings cudaenv reads (and pip and uv, which tests also run): a developer's or CI
# machine has its own (a find-links folder, a pip.conf with extra indexes, a ~/.netrc). Every
# test starts without them; a test of a setting sets exactly that one.
INDEX_VARIABLES = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_FIND_LINKS",
    "UV_INDEX_STRATEGY",
    "UV_CONFIG_FILE",
    "UV_OFFLINE",
)


@pytest.fixture(autouse=True)
def no_index_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """No pip or uv configuration file, no index variable, no netrc of this machine's, and no
    uv cache shared with other tests."""
    for name in INDEX_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("NETRC", str(tmp_path_factory.mktemp("no-netrc") / "netrc"))
    # uv's cache of its own per test: the test wheels are built byte-identical every time, so a
    # shared cache would let uv install them without asking the test's index (a stalling, a
    # tampering or a credential-checking server would then never be asked). bigenv tests name
    # their shared cache themselves (tests/tools/bigenv.py).
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path_factory.mktemp("uv-cache")))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run ``cudaenv ARGS`` in-process and return (code, stdout, stderr)."""
    from cudaenv.cli import main

    def run(*argv: str, env: dict[str, str] | None = None) -> RunResult:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as e:  # argparse errors
            code = int(e.code or 0)
        captured = capsys.readouterr()
        return RunResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def data_dir() -> Path:
    return DATA


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reverse",
        action="store_true",
        help="run the collected tests in reverse order (a test that needs another to run "
        "first, or not to have run, then fails)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--reverse"):
        items.reverse()
    if os.environ.get("CUDAENV_TEST_GPU"):
        return
    skip_gpu = pytest.mark.skip(reason="needs an NVIDIA GPU and driver (set CUDAENV_TEST_GPU=1)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
