"""The stages of the flow import only downwards: each rule names a package and what it never
imports. Read from the import statements of every module (including imports inside functions and
under TYPE_CHECKING), so a rule holds for the code as written, not only for one run's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# (package, prefixes no module under it may import)
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("cudaenv.index", ("cudaenv.solver", "cudaenv.lock", "cudaenv.commands")),
    ("cudaenv.solver", ("httpx", "cudaenv.commands")),
    ("cudaenv.lock", ("httpx",)),
]


def modules(package: str) -> list[tuple[str, Path]]:
    """(dotted name, path) of every module of *package*."""
    root = SRC / package.replace(".", "/")
    paths = sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]
    out = []
    for path in paths:
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append((".".join(parts), path))
    return out


def imported(name: str, path: Path) -> set[str]:
    """Every module *path* imports, absolute (``from . import x`` resolved against *name*)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".")
                anchor = here[: len(here) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("package", "forbidden"), RULES, ids=[p for p, _ in RULES])
def test_layer_imports(package: str, forbidden: tuple[str, ...]) -> None:
    found = modules(package)
    assert found, f"no modules under {package}: the rule checks nothing"
    broken = sorted(
        f"{name} imports {module}"
        for name, path in found
        for module in imported(name, path)
        if any(_under(module, prefix) for prefix in forbidden)
    )
    assert broken == [], "\n".join(broken)


def test_the_import_reader_sees_what_the_rules_forbid() -> None:
    """The rules would pass on a reader that finds nothing: it finds these known imports."""
    client = dict(modules("cudaenv.index"))["cudaenv.index.client"]
    assert {"cudaenv.index.http", "cudaenv.index.http.Http"} <= imported(
        "cudaenv.index.client", client
    )
    http = dict(modules("cudaenv.index"))["cudaenv.index.http"]
    assert "httpx" in imported("cudaenv.index.http", http)  # imported inside functions
    factory = dict(modules("cudaenv.solver"))["cudaenv.solver.factory"]
    assert "cudaenv.solver.recipes" in imported("cudaenv.solver.factory", factory)
