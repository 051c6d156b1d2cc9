"""``conda cudaenv fix -n NAME``: a conda environment is fixed through the conda plugin.

Without conda (CI has none): the same parser conda configures (``host="conda"``), the
arguments as conda hands them (strings), and a conda environment's shape (``conda-meta/``) on a
venv the test makes; conda's one answer cudaenv asks for (``conda info --json``: where named
environments live) comes from a stand-in executable behind ``CONDA_EXE``. With conda: a real
conda environment from the local channel (tests/tools/conda_channel.py), TensorFlow installed
into it by its own pip, and ``conda cudaenv fix`` run by conda; skipped where conda cannot be
imported, like the other conda tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from cudaenv import cli
from cudaenv.envs.base import Env
from tests.functional.fix_index import (
    DRIVER,
    build,
    cuda_findings,
    hashes,
    report,
    served,
    uv_env,
)
from tests.functional.test_conda_plugin import (  # noqa: F401 (fixtures)
    HAS_CONDA,
    NO_CONDA,
    channel,
    conda_cli,
    conda_home,
    plugin_manager,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.tools.index_server import IndexServer


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    yield from served(build(tmp_path_factory.mktemp("fix-wheels")))


@pytest.fixture
def conda_cudaenv(capsys: pytest.CaptureFixture[str]):
    """Run ``conda cudaenv ARGS`` as the plugin does: conda's parser configured by cudaenv
    for the conda host, then :func:`cudaenv.cli.execute`; returns (code, out, err)."""

    def run(*argv: str) -> tuple[int, str, str]:
        parser = cli.Parser(prog="conda cudaenv")
        cli.configure_parser(parser, host="conda")
        capsys.readouterr()
        code = cli.execute(parser.parse_args(list(argv)))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_conda_cudaenv_fix_by_name_writes_condas_activate_d_and_leaves_bin_activate(
    conda_cudaenv, index: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    envs = tmp_path / "conda envs"
    env = uv_env(envs / "tf", index, ["tensorflow==2.15.1"])
    (env.prefix / "conda-meta").mkdir()
    (env.prefix / "conda-meta" / "history").write_text("")
    conda = tmp_path / "bin" / "conda"  # what `conda info --json` says, nothing more
    conda.parent.mkdir()
    conda.write_text(f"#!/bin/sh\necho '{json.dumps({'envs_dirs': [str(envs)]})}'\n")
    conda.chmod(0o755)
    monkeypatch.setenv("CONDA_EXE", str(conda))
    activate = hashes(env.prefix)["bin/activate"]
    started = time.monotonic()
    code, out, err = conda_cudaenv(
        "fix", "-n", "tf", "--driver", DRIVER, "--index-url", index.url,
        "--cache-dir", str(tmp_path / "cache"), "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    report("conda cudaenv fix -n NAME, conda-shaped", doc, time.monotonic() - started)
    assert len(doc["plan"]) == 8 and doc["doctor"]["after"]["cuda_findings"] == 0
    assert (env.prefix / "etc" / "conda" / "activate.d" / "cudaenv.sh").is_file()
    assert hashes(env.prefix)["bin/activate"] == activate  # conda's way, not the venv's
    missing = conda_cudaenv("fix", "-n", "nope", "--driver", DRIVER)
    assert missing[0] == 2 and "no conda environment named 'nope'" in missing[2]


@pytest.mark.conda
@pytest.mark.skipif(not HAS_CONDA, reason=NO_CONDA)
def test_real_conda_fixes_a_conda_environment_by_name(
    conda_cli,  # noqa: F811
    channel,  # noqa: F811
    conda_home: Path,  # noqa: F811
    index: IndexServer,
    tmp_path: Path,
) -> None:
    from packaging.version import Version

    from cudaenv.envs import find_backend

    backend = find_backend("conda", channels=[channel])
    made = backend.create(
        backend.prefix_for_name("tf"), Version(f"{sys.version_info[0]}.{sys.version_info[1]}")
    )
    pip = [str(made.python), "-m", "pip", "install", "-q", "--index-url", index.url]
    subprocess.run([*pip, "tensorflow==2.15.1"], check=True, timeout=300)
    code, out, err = conda_cli(
        "cudaenv", "fix", "-n", "tf", "--driver", DRIVER, "--index-url", index.url,
        "--cache-dir", str(tmp_path / "cache"), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["doctor"]["after"]["cuda_findings"] == 0
    env = Env.from_prefix(made.prefix)
    assert (env.prefix / "etc" / "conda" / "activate.d" / "cudaenv.sh").is_file()
    done = subprocess.run(
        [sys.executable, "-m", "cudaenv", "doctor", "-p", str(env.prefix), "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert cuda_findings(json.loads(done.stdout)["findings"]) == []
