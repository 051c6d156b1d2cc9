"""Write recipes/prefetch.toml: the projects a solve of each TensorFlow and spaCy line reads.

    python benchmarks/prefetch_lists.py [--index-url URL] [--out recipes/prefetch.toml]

A cold solve asks for the page of each project when the resolver reaches it, one dependency level
after another; given these lists, the solver asks for all of them at once (``Index.hint``). The
lists are a speed hint only: a project missing from them is fetched when it is reached, one no
longer needed costs one page request. So they are made, not curated: this script solves each line
on the index (each newest and oldest Python the line supports, on the GPU and on the CPU) and
records the pages each solve read. Run it when a line is added; stale lists only cost time.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from cudaenv import knowledge as knowledge_base
from cudaenv.errors import CudaenvError
from cudaenv.index import Index
from cudaenv.machine import Overrides
from cudaenv.pipeline.steps import detect
from cudaenv.request import FrameworkRequest, Request, Target
from cudaenv.settings import IndexSettings
from cudaenv.solver import solve

if TYPE_CHECKING:
    from collections.abc import Iterable

    from cudaenv.knowledge import Knowledge

PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
PLATFORM = "manylinux_2_28_x86_64"
DRIVER = "570.86.10"  # new enough for every line's CUDA
OUT = Path(__file__).resolve().parents[1] / "recipes" / "prefetch.toml"


def pages_read(
    know: Knowledge, framework: str, line: str, python: str, *, gpu: bool, index_url: str
) -> set[str]:
    """The projects one solve of ``framework`` ``line`` reads (none when it fails)."""
    target = Target(python=Version(python), platform=PLATFORM)
    request = Request(
        frameworks=(FrameworkRequest.from_string(framework, line),), target=target, gpu=gpu
    )
    machine = detect(Overrides(driver=DRIVER), know)
    with tempfile.TemporaryDirectory(prefix="cudaenv-hints-") as cache:
        settings = IndexSettings.single(index_url)
        tags = target.supported_tags()
        with Index(settings=settings, cache_dir=cache, platform=PLATFORM, tags=tags) as index:
            try:
                solve(request, machine, know, index)
            except CudaenvError as e:
                sys.stderr.write(f"  {framework} {line} python {python}: {e.message}\n")
                return set()
            return set(index.pages_read() or ())


def line_lists(
    know: Knowledge, framework: str, line: str, pythons: Iterable[str], url: str
) -> tuple[list[str], list[str]]:
    """(projects read on the CPU, projects read only on the GPU) for one line."""
    cpu: set[str] = set()
    gpu: set[str] = set()
    for python in pythons:
        cpu |= pages_read(know, framework, line, python, gpu=False, index_url=url)
        gpu |= pages_read(know, framework, line, python, gpu=True, index_url=url)
    return sorted(cpu), sorted(gpu - cpu)


def toml_list(key: str, names: list[str]) -> list[str]:
    lines, row = [f"{key} = ["], "  "
    for name in names:
        item = f'"{name}", '
        if len(row) + len(item) > 99:
            lines.append(row.rstrip())
            row = "  "
        row += item
    if row.strip():
        lines.append(row.rstrip())
    return [*lines, "]"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--index-url", default="https://pypi.org/simple")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    know = knowledge_base.load()
    today = datetime.date.today().isoformat()
    text = [
        "# The projects a solve of each framework line reads: the solver asks the index for all",
        "# of their pages at the start of a cold solve, so that they arrive together instead of",
        "# one dependency level after another. A speed hint only, never an answer: a project",
        "# missing here is fetched when the resolver reaches it, one no longer needed costs one",
        "# page request. `projects`: read on the CPU and on the GPU; `gpu`: read only on the GPU.",
        f"# Made by `python benchmarks/prefetch_lists.py` on {today}: solves of each line on",
        f"# {args.index_url} (its newest and oldest Python, {PLATFORM}, GPU and CPU).",
    ]
    for framework, lines in (("tensorflow", know.tensorflow), ("spacy", know.spacy)):
        for line in lines:
            pythons = [p for p in PYTHONS if line.python.contains(p)]
            chosen = sorted({pythons[0], pythons[-1]}) if pythons else []
            sys.stderr.write(f"{framework} {line.line}: python {', '.join(chosen)}\n")
            cpu, gpu = line_lists(know, framework, str(line.line), chosen, args.index_url)
            if not cpu and not gpu:
                continue
            text += ["", f'[{framework}."{line.line}"]', *toml_list("projects", cpu)]
            text += toml_list("gpu", gpu)
    args.out.write_text("\n".join(text) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
