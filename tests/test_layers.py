"""The stages of the flow import only downwards: each rule names a package and what it never
imports. Read from the import statements of every module (including imports inside functions and
under TYPE_CHECKING), so a rule holds for the code as written, not only for one run's imports."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "cudaenv"

Rule = tuple[str, tuple[str, ...]]

# (package, prefixes no module under it may import)
INDEX_RULES: list[Rule] = [
    ("cudaenv.index", ("cudaenv.solver", "cudaenv.lock", "cudaenv.commands")),
    ("cudaenv.solver", ("httpx", "http.client", "cudaenv.index.transport", "cudaenv.commands")),
    ("cudaenv.lock", ("httpx", "http.client", "cudaenv.index.transport")),
]


# -- commands are thin; envs/ below the installer (issue 15, item 3) ----------------------------
_ABOVE_THE_LIBRARY = {"cli", "commands", "conda_plugin", "__main__"}


def command_modules() -> list[str]:
    """The subcommand modules (``_options``, ``_reports``: shared helpers, not commands)."""
    infos = pkgutil.iter_modules([str(PACKAGE / "commands")])
    return sorted(f"cudaenv.commands.{i.name}" for i in infos if not i.name.startswith("_"))


def command_rules() -> list[Rule]:
    # No command module imports another: what they share lives in commands/_options.py,
    # commands/_reports.py, or below the CLI (cudaenv.create, cudaenv.steps).
    commands = command_modules()
    rules: list[Rule] = [(c, tuple(o for o in commands if o != c)) for c in commands]
    # Below the CLI nothing imports the CLI: the create pipeline runs without it (tests do).
    below = sorted(
        f"cudaenv.{i.name}"
        for i in pkgutil.iter_modules([str(PACKAGE)])
        if i.name not in _ABOVE_THE_LIBRARY
    )
    rules += [(m, ("cudaenv.cli", "cudaenv.commands")) for m in below]
    # The environment backends run before the installer: they share cudaenv.process with it.
    rules.append(("cudaenv.envs", ("cudaenv.install",)))
    # The process helpers sit below both, and import nothing of cudaenv.
    rules.append(("cudaenv.process", ("cudaenv",)))
    # The driver version value is read by every stage (knowledge, machine, solver, lock).
    rules.append(("cudaenv.driver", ("cudaenv",)))
    return rules


RULES: list[Rule] = [*INDEX_RULES, *command_rules()]


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
    return imports_in(path.read_text(), name, is_package=path.name == "__init__.py")


def imports_in(source: str, name: str, *, is_package: bool = False) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
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
    assert found and all(path.is_file() for _, path in found), f"{package}: no such module"
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
    assert {"cudaenv.index.http", "cudaenv.index.http.redacted"} <= imported(
        "cudaenv.index.client", client
    )
    http = dict(modules("cudaenv.index"))["cudaenv.index.http"]
    assert "cudaenv.index.transport" in imported("cudaenv.index.http", http)  # in functions
    factory = dict(modules("cudaenv.solver"))["cudaenv.solver.factory"]
    assert "cudaenv.solver.rules.recipes" in imported("cudaenv.solver.factory", factory)


def test_the_import_reader_sees_lazy_relative_and_type_checking_imports() -> None:
    """A command's import inside a function, a relative import and one under TYPE_CHECKING."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from cudaenv.install import install\n"
        "def run():\n    from cudaenv.commands.solve import summary\n"
    )
    seen = imports_in(source, "cudaenv.envs.venv")
    assert {"cudaenv.install", "cudaenv.install.install", "cudaenv.commands.solve"} <= seen
    assert "cudaenv.install" in imports_in("from .. import install\n", "cudaenv.envs.venv")
    assert not _under("cudaenv.commands.solver", "cudaenv.commands.solve")
    assert len(command_modules()) >= 8  # detect, matrix, solve, lock, create, smoke, doctor, ...


# -- only render.py writes to the terminal (issue 15, item 4) ------------------------------------
# The probe scripts run inside foreign environments and talk to cudaenv through their stdout.
_PROBES = {"cudaenv/smoke/probe.py", "cudaenv/smoke/parts.py", "cudaenv/smoke/parts_spacy.py"}
_STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}
_PRINTERS = {"print_exc", "print_exception", "print_tb", "print_help", "print_usage"}


def terminal_writes(source: str) -> list[int]:
    """Lines that print, print a traceback or help, or touch ``sys.stdout``/``sys.stderr``
    (code, not text in strings)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id == "print":
            lines.append(node.lineno)
        elif isinstance(node, ast.Attribute) and (
            node.attr in _PRINTERS
            or (
                isinstance(node.value, ast.Name)
                and node.value.id == "sys"
                and node.attr in _STREAMS
            )
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_only_render_writes_to_the_terminal() -> None:
    """render.py's promise (the installer's output reaches the terminal through it too)."""
    found = {
        str(path.relative_to(SRC)): terminal_writes(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(SRC)) not in {"cudaenv/render.py", *_PROBES}
    }
    assert {name: lines for name, lines in found.items() if lines} == {}
    assert terminal_writes("import sys\nsys.stderr.write('x')\nprint('y')\n'print(1)'\n") == [2, 3]
