"""The code as a reviewer reads it: ruff's lint and format rules, and mypy, on every run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = ["src", "tests", "benchmarks", "scripts"]


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *cmd], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("check", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(check: list[str]) -> None:
    done = run("ruff", *check, *TREES)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy() -> None:
    done = run("mypy")  # files and options: [tool.mypy] in pyproject.toml
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_strict_on_the_library() -> None:
    """``strict = true`` for all of src/cudaenv; only the named modules relax a flag, each with
    its reason in pyproject.toml (the probe scripts, and conda's untyped hook marker)."""
    from cudaenv._toml import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True and config["files"] == ["src/cudaenv"]
    relaxed = {
        module: sorted(set(override) - {"module"})
        for override in config.get("overrides", [])
        for module in override["module"]
        if module.startswith("cudaenv")
    }
    assert relaxed == {
        "cudaenv.smoke.probe": [
            "check_untyped_defs",
            "disallow_incomplete_defs",
            "disallow_untyped_calls",
            "disallow_untyped_defs",
        ],
        "cudaenv.smoke.parts": [
            "check_untyped_defs",
            "disallow_incomplete_defs",
            "disallow_untyped_calls",
            "disallow_untyped_defs",
        ],
        "cudaenv.smoke.parts_spacy": [
            "check_untyped_defs",
            "disallow_incomplete_defs",
            "disallow_untyped_calls",
            "disallow_untyped_defs",
        ],
        "cudaenv.conda_plugin": ["disallow_untyped_decorators"],
    }
