#!/usr/bin/env python3
"""Compare cudaenv's knowledge base with the package index, and print what to add.

    python scripts/audit-knowledge.py [--index-url URL] [--cache-dir DIR] [--check]

For maintainers: the recipes fall behind the day a release appears. This reads the index and
reports, each with the metadata it comes from as the source:

- final releases of TensorFlow and spaCy whose line the recipes lack, from the oldest line
  they hold on (with the table to add,
  derived from the newest release's METADATA the way the solver derives it), and lines still
  marked ``pre_release_only`` that have a final release;
- CUDA extras whose pins differ from the recipe: a TensorFlow line's ``wheels`` against the
  CUDA extra of its newest final release, a spaCy line's ``gpu_extras`` against its extras;
- CuPy builds (``cupy-cudaNNx``) for a CUDA major ``recipes/cupy.toml`` lacks;
- NVIDIA CUDA runtime releases newer than ``constraints/cuda_driver.toml`` knows: a
  major.minor with neither a ``[[toolkit]]`` row nor a ``[[floor_only]]`` row (add the row
  NVIDIA's release notes give). Those with a ``[[floor_only]]`` row are listed apart, with what
  the row says is missing: explained, not to add.

Exit 0; with ``--check``, 1 when anything is to add.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from cudaenv.index import Index, ProjectNotFound
from cudaenv.knowledge import TfLine, load
from cudaenv.solver.rules import uncurated

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from packaging.requirements import Requirement

    from cudaenv.index import FileLink
    from cudaenv.knowledge import Knowledge, SpacyLine

RUNTIMES = ("nvidia-cuda-runtime-cu11", "nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime")
_CPYTHON = re.compile(r"-cp3(\d+)-")


def finals(index: Index, name: str) -> dict[Version, list[FileLink]]:
    """Final releases of ``name`` on the index, each with its wheels (none if not there)."""
    try:
        links = index.project(name)
    except ProjectNotFound:
        return {}
    out: dict[Version, list[FileLink]] = {}
    for link in links:
        if link.version is not None and link.is_wheel and not link.version.is_prerelease:
            out.setdefault(link.version, []).append(link)
    return out


def pythons(links: list[FileLink]) -> str:
    """The Pythons the wheels are built for, as a range (``>=3.10,<3.14``)."""
    minors = sorted({int(m.group(1)) for lk in links if (m := _CPYTHON.search(lk.filename))})
    return f">=3.{minors[0]},<3.{minors[-1] + 1}" if minors else ""


def newest_by_line(releases: dict[Version, list[FileLink]]) -> dict[Version, Version]:
    out: dict[Version, Version] = {}
    for v in releases:
        line = Version(f"{v.major}.{v.minor}")
        out[line] = max(out.get(line, v), v)
    return out


def toml_list(items: list[str]) -> str:
    return "[\n" + "".join(f'  "{item}",\n' for item in items) + "]"


def tf_table(line: TfLine, python: str) -> str:
    rows = [
        f'[lines."{line.line}"]',
        f'cuda = "{line.cuda}"',
        f'cudnn = "{line.cudnn}"',
        f'python = "{python or line.python}"',
        f'extra = "{line.extra}"',
        f"wheels = {toml_list([str(w) for w in line.wheels])}",
        f'min_cuda = "{line.min_cuda}"',
        f"sonames = {toml_list(list(line.sonames))}",
        f"path = {toml_list(list(line.path))}",
        f'source = "{line.source}"',
    ]
    return "\n".join(rows)


def spacy_table(line: SpacyLine, python: str) -> str:
    extras = ", ".join(f'{m} = "{e}"' for m, e in sorted(line.gpu_extras.items()))
    rows = [
        f'[lines."{line.line}"]',
        f'thinc = "{line.thinc}"',
        f'python = "{python or line.python}"',
        f"gpu_extras = {{ {extras} }}",
        f"requirements = {toml_list([str(r) for r in line.requirements])}",
        f'source = "{line.source}"',
    ]
    return "\n".join(rows)


def new_lines(index: Index, know: Knowledge, name: str) -> Iterator[str]:
    known = know.tensorflow if name == "tensorflow" else know.spacy
    oldest = min((k.line for k in known), default=Version("0"))
    releases = finals(index, name)
    for line, newest in sorted(newest_by_line(releases).items()):
        if line < oldest:
            continue  # the recipes start where they start on purpose
        match = next((k for k in known if k.line == line), None)
        if match is not None:
            if getattr(match, "pre_release_only", False):
                yield f"{name} {line}: has a final release ({newest}); drop pre_release_only"
            continue
        links = releases[newest]
        meta = index.metadata(links[0])
        derived = uncurated.tf_line(meta, know) if name == "tensorflow" else None
        if name == "spacy":
            derived = uncurated.spacy_line(meta, know)
        if isinstance(derived, str):
            yield f"{name} {line}: not in the recipes; its metadata cannot say: {derived}"
        elif isinstance(derived, TfLine):
            yield f"{name} {line}: not in the recipes; add\n{tf_table(derived, pythons(links))}"
        elif derived is not None:
            yield f"{name} {line}: not in the recipes; add\n{spacy_table(derived, pythons(links))}"


def pins(reqs: Iterable[Requirement]) -> set[str]:
    return {f"{canonicalize_name(r.name)}{r.specifier}" for r in reqs}


def changed_extras(index: Index, know: Knowledge) -> Iterator[str]:
    tf = finals(index, "tensorflow")
    newest = newest_by_line(tf)
    for line in know.tensorflow:
        if line.extra is None or line.line not in newest:
            continue
        version = newest[line.line]
        found = uncurated.cuda_extra(index.metadata(tf[version][0]))
        have, want = pins(line.wheels), pins(found[1]) if found else set()
        if have != want:
            yield (
                f"tensorflow {line.line}: the {line.extra} pins of {version} differ from the "
                f"recipe (source: PyPI metadata of tensorflow=={version})\n"
                f"  add: {sorted(want - have)}\n  drop: {sorted(have - want)}"
            )
    sp = finals(index, "spacy")
    for line, version in sorted(newest_by_line(sp).items()):
        match = know.spacy_line(version)
        derived = uncurated.spacy_line(index.metadata(sp[version][0]), know)
        if match is not None and not isinstance(derived, str):
            if dict(derived.gpu_extras) != dict(match.gpu_extras):
                yield (
                    f"spacy {line}: GPU extras of {version} are {dict(derived.gpu_extras)}, the "
                    f"recipe has {dict(match.gpu_extras)} (source: PyPI metadata of "
                    f"spacy=={version})"
                )


def new_cupy(index: Index, know: Knowledge) -> Iterator[str]:
    top = max((c.cuda_major for c in know.cupy), default=11)
    for major in (top + 1, top + 2):
        releases = finals(index, f"cupy-cuda{major}x")
        if releases:
            newest = max(releases)
            yield f"cupy-cuda{major}x: on the index ({newest}); cupy.toml has no CUDA {major}"


def runtime_releases(index: Index) -> Iterator[tuple[str, tuple[int, int], Version]]:
    """(wheel, (major, minor), newest release of that minor) of every CUDA runtime wheel."""
    for name in RUNTIMES:
        seen: dict[tuple[int, int], Version] = {}
        for v in finals(index, name):
            key = (v.major, v.minor)
            seen[key] = max(seen.get(key, v), v)
        for key, v in sorted(seen.items()):
            yield name, key, v


def new_runtimes(index: Index, know: Knowledge) -> Iterator[str]:
    rows = {t.cuda.release for t in know.toolkit} | {f.cuda.release for f in know.floor_only}
    for name, key, v in runtime_releases(index):
        if key not in rows:
            yield (
                f"CUDA {key[0]}.{key[1]}: {name} {v} is on the index, newer than "
                "cuda_driver.toml knows (no [[toolkit]] or [[floor_only]] row: add the row "
                "NVIDIA's release notes give)"
            )


def floor_only_runtimes(index: Index, know: Knowledge) -> Iterator[str]:
    rows = {t.cuda.release for t in know.toolkit}
    for name, key, v in runtime_releases(index):
        row = know.floor_only_for(v)
        if key not in rows and row is not None:
            yield f"CUDA {key[0]}.{key[1]}: {name} {v}; [[floor_only]] {row.release}: {row.note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--index-url", help="the index (default: PIP_INDEX_URL, else PyPI)")
    parser.add_argument("--cache-dir", type=Path, help="HTTP cache folder")
    parser.add_argument("--check", action="store_true", help="exit 1 when anything is to add")
    args = parser.parse_args(argv)
    know = load()
    sections = {
        "TensorFlow lines": lambda ix: new_lines(ix, know, "tensorflow"),
        "spaCy lines": lambda ix: new_lines(ix, know, "spacy"),
        "CUDA extras": lambda ix: changed_extras(ix, know),
        "CuPy builds": lambda ix: new_cupy(ix, know),
        "NVIDIA runtime releases": lambda ix: new_runtimes(ix, know),
    }
    found = 0
    with Index(args.index_url, cache_dir=args.cache_dir) as index:
        print(f"knowledge base {know.version} against {index.url}")
        for title, find in sections.items():
            items = list(find(index))
            found += len(items)
            print(f"\n== {title}: {len(items) or 'nothing'} to add")
            for item in items:
                print(f"- {item}")
        explained = list(floor_only_runtimes(index, know))
        print(f"\n== NVIDIA runtime releases with only their major's floor: {len(explained)}")
        for item in explained:
            print(f"- {item} (explained, nothing to add)")
    return 1 if args.check and found else 0


if __name__ == "__main__":
    sys.exit(main())
