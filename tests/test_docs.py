"""The repository explains itself: no file points to a document outside it or names a folder of
the machine it was written on, and the documents the code cites exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("src", "recipes", "constraints", "tests", "docs", "benchmarks", "scripts")
TOP_FILES = ("README.md", "pyproject.toml", "environment.yml")

# Written so that this file does not match itself: each pattern breaks its literal with [].
OUTSIDE = re.compile(
    r"\.\./share[d]"  # a sibling folder of notes
    r"|(?<![\w-])share[d]/"
    r"|/wor[k]/"
    r"|(?<![\w-])compa[t]\.md"
    r"|(?<![\w-])framework[s]\.md"
    r"|(?<![\w-])desig[n]\.md"
    r"|(?<![\w-])styl[e]\.md"
    r"|/tm[p]/"
    r"|(?<![\w.~-])/roo[t](?![\w-])"  # root's home folder
    r"|(?<![\w.~-])/hom[e]/[\w.-]+"  # anyone's home folder
)


def files() -> list[Path]:
    found = [ROOT / name for name in TOP_FILES if (ROOT / name).is_file()]
    for folder in SCANNED:
        found += sorted(p for p in (ROOT / folder).rglob("*") if p.is_file())
    return [p for p in found if "__pycache__" not in p.parts]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary: a built test library, a wheel


def offending(text: str) -> list[str]:
    return [m.group(0) for m in OUTSIDE.finditer(text)]


def test_no_file_points_outside_the_repository() -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for path in files()
        if (text := text_of(path)) is not None and (hits := offending(text))
    }
    assert found == {}


@pytest.mark.parametrize(
    "text",
    [
        "see ../sha|red/notes",
        "(compa|t.md K-8)",
        "framework|s.md",
        "desig|n.md decision 1",
        "styl|e.md §8",
        "captured in /wor|k/main/tests",
        '"/roo|t/.conda/envs"',
        "/hom|e/dev/cudaenv",
        "PATH=/roo|t:/usr/bin",
        "/tm|p/conda-venv/bin",
        "notes in sha|red/facts",
    ],
)
def test_the_check_sees_what_it_forbids(text: str) -> None:
    """Each sample is written broken by a "|" so that this file passes its own check."""
    assert "|" in text and offending(text) == []
    assert offending(text.replace("|", ""))


@pytest.mark.parametrize(
    "text",
    [
        "docs/facts.md",
        "libcudart.so.12: cannot open shared object file",
        "site-packages/nvidia/*/lib",
        "~/.cache/cudaenv",
        "/usr/share/doc",
        "the pytest tmp_path fixture",
        "/opt/conda/envs",
    ],
)
def test_the_check_lets_ordinary_text_through(text: str) -> None:
    assert offending(text) == []


def test_the_documents_the_code_cites_exist() -> None:
    cited = set()
    for path in files():
        text = text_of(path) or ""
        cited.update(re.findall(r"\bdocs/([\w-]+\.md)", text))
    assert cited, "nothing cites docs/"
    assert sorted(c for c in cited if not (ROOT / "docs" / c).is_file()) == []


def test_facts_sections_cited_by_name_exist() -> None:
    """``docs/facts.md, "TensorRT in and-cuda"``: the section is there."""
    headings = set(re.findall(r"^## (.+)$", (ROOT / "docs" / "facts.md").read_text(), re.M))
    cited = set()
    for path in files():
        text = re.sub(r"\s*\n\s*#?\s*", " ", text_of(path) or "")  # comments wrap lines
        cited.update(re.findall(r'docs/facts\.md, "([^"]+)"', text))
    assert cited, "nothing cites a section of docs/facts.md"
    assert sorted(cited - headings) == []
