"""Shared fixtures: an in-process CLI runner and markers' skip rules."""

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CUDAENV_TEST_GPU"):
        return
    skip_gpu = pytest.mark.skip(reason="needs an NVIDIA GPU and driver (set CUDAENV_TEST_GPU=1)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
