"""The tomllib/tomli switch is written once (cudaenv/_toml.py) and every TOML reader uses it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_one_tomllib_shim() -> None:
    sources = [*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py")]
    sources = [p for p in sources if p != Path(__file__).resolve()]
    shims = [p for p in sources if "import tomli as tomllib" in p.read_text(encoding="utf-8")]
    assert [p.relative_to(ROOT).as_posix() for p in shims] == ["src/cudaenv/_toml.py"]
    readers = [p for p in sources if "tomllib.loads(" in p.read_text(encoding="utf-8")]
    assert readers, "nothing reads TOML?"
    for path in readers:
        assert "from cudaenv._toml import tomllib" in path.read_text(encoding="utf-8"), path
