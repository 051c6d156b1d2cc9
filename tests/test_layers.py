"""The stages of the flow import only downwards: every module stands on a floor of the list in
docs/architecture.md ("Floors") and imports nothing on its own floor or above it, outside its own
box; and each rule below names a package and what it never imports. Read from the import
statements of every module (including imports inside functions and under TYPE_CHECKING), so a
rule holds for the code as written, not only for one run's imports."""

from __future__ import annotations

import ast
import pkgutil
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "cudaenv"
ARCHITECTURE = SRC.parent / "docs" / "architecture.md"

Rule = tuple[str, tuple[str, ...]]

# (package, prefixes no module under it may import)
INDEX_RULES: list[Rule] = [
    ("cudaenv.index", ("cudaenv.solver", "cudaenv.lock", "cudaenv.cli")),
    ("cudaenv.solver", ("httpx", "http.client", "cudaenv.net", "cudaenv.cli")),
    ("cudaenv.lock", ("httpx", "http.client", "cudaenv.net.transport")),
    ("cudaenv.net", ("cudaenv.index", "cudaenv.settings")),  # the transport knows no index
]


# -- commands are thin; envs/ below the installer (issue 15, item 3) ----------------------------
_ABOVE_THE_LIBRARY = {"cli", "conda_plugin", "__main__"}


def command_modules() -> list[str]:
    """The subcommand modules (``_options``, ``_reports``: shared helpers, not commands)."""
    infos = pkgutil.iter_modules([str(PACKAGE / "cli" / "commands")])
    return sorted(f"cudaenv.cli.commands.{i.name}" for i in infos if not i.name.startswith("_"))


def command_rules() -> list[Rule]:
    # No command module imports another: what they share lives in commands/_options.py,
    # commands/_reports.py, or below the CLI (cudaenv.pipeline.creation, cudaenv.pipeline.steps).
    commands = command_modules()
    rules: list[Rule] = [(c, tuple(o for o in commands if o != c)) for c in commands]
    # Below the CLI nothing imports the CLI: the create pipeline runs without it (tests do).
    below = sorted(
        f"cudaenv.{i.name}"
        for i in pkgutil.iter_modules([str(PACKAGE)])
        if i.name not in _ABOVE_THE_LIBRARY
    )
    rules += [(m, ("cudaenv.cli",)) for m in below]
    # The environment backends run before the installer: they share cudaenv.system.process with it.
    rules.append(("cudaenv.envs", ("cudaenv.pipeline.install",)))
    # The process helpers sit below both, and import nothing of cudaenv.
    rules.append(("cudaenv.system.process", ("cudaenv",)))
    # The driver version value is read by every stage (knowledge, machine, solver, lock).
    rules.append(("cudaenv.driver", ("cudaenv",)))
    # The progress protocol is spoken by every stage that takes long, and the CLI.
    rules.append(("cudaenv.events", ("cudaenv",)))
    # The start-up hook runs inside the environments cudaenv makes, on their Python 3.8+.
    rules.append(("cudaenv.preload.hook", ("cudaenv",)))
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
    assert {"cudaenv.net.http", "cudaenv.net.http.redacted"} <= imported(
        "cudaenv.index.client", client
    )
    http = dict(modules("cudaenv.net"))["cudaenv.net.http"]
    assert "cudaenv.net.transport" in imported("cudaenv.net.http", http)  # in functions
    factory = dict(modules("cudaenv.solver"))["cudaenv.solver.factory"]
    assert "cudaenv.solver.rules.recipes" in imported("cudaenv.solver.factory", factory)


def test_the_import_reader_sees_lazy_relative_and_type_checking_imports() -> None:
    """A command's import inside a function, a relative import and one under TYPE_CHECKING."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from cudaenv.pipeline.install import install\n"
        "def run():\n    from cudaenv.cli.commands.solve import summary\n"
    )
    seen = imports_in(source, "cudaenv.envs.venv")
    assert {
        "cudaenv.pipeline.install",
        "cudaenv.pipeline.install.install",
        "cudaenv.cli.commands.solve",
    } <= seen
    assert "cudaenv.pipeline.install" in imports_in(
        "from ..pipeline import install\n", "cudaenv.envs.venv"
    )
    assert not _under("cudaenv.cli.commands.solver", "cudaenv.cli.commands.solve")
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
        if str(path.relative_to(SRC)) not in {"cudaenv/cli/render.py", *_PROBES}
    }
    assert {name: lines for name, lines in found.items() if lines} == {}
    assert terminal_writes("import sys\nsys.stderr.write('x')\nprint('y')\n'print(1)'\n") == [2, 3]


# -- the solver: a pip-shaped engine apart from the CUDA rules (issue 25) ------------------------
# The rules (cudaenv.solver.rules) take a frozen Context and ask the index through the Catalog
# protocol the factory implements: of the engine they use only its vocabulary, never the
# factory, the provider or the solve. And no import circle runs in the solver: an import that
# runs (at the top of a module or inside a function) never leads back to where it started; only
# an import under TYPE_CHECKING may (none does today).
_SOLVER = "cudaenv.solver"
_RULES = "cudaenv.solver.rules"
_VOCABULARY = {f"{_SOLVER}.{m}" for m in ("requirements", "candidates", "releases")}


def _is_module(dotted: str) -> bool:
    path = SRC / dotted.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_edges(source: str, name: str, *, is_package: bool = False, run_only: bool) -> set[str]:
    """The cudaenv modules *source* (module *name*) imports: ``from pkg import mod`` is an edge
    to ``pkg.mod``, ``from pkg import value`` to ``pkg``; ``run_only`` leaves out what is
    imported under TYPE_CHECKING (imports inside functions run, so they count)."""
    found: set[str] = set()
    todo: list[ast.AST] = [ast.parse(source)]
    while todo:
        node = todo.pop()
        if run_only and _type_checking(node):
            assert isinstance(node, ast.If)
            todo += node.orelse
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".")
                anchor = here[: len(here) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if _is_module(full) else base)
        todo += ast.iter_child_nodes(node)
    return {m for m in found if _under(m, "cudaenv")}


def solver_graph(*, run_only: bool) -> dict[str, set[str]]:
    """module -> the solver modules it imports."""
    return {
        name: {
            m
            for m in module_edges(
                path.read_text(), name, is_package=path.name == "__init__.py", run_only=run_only
            )
            if _under(m, _SOLVER) and m != name
        }
        for name, path in modules(_SOLVER)
    }


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of *graph* (its modules in order, the first again at the end), or
    None when there is none."""
    state: dict[str, int] = {}  # 1: on the path being walked, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)) is not None:
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := walk(start)) is not None:
            return found
    return None


def test_the_solver_has_no_import_circle_that_runs() -> None:
    found = circle(solver_graph(run_only=True))
    assert found is None, " -> ".join(found or ())


def test_no_rule_imports_the_factory_the_provider_or_the_solve() -> None:
    """Not even under TYPE_CHECKING: a rule sees the index through the Catalog protocol."""
    rules = {n: es for n, es in solver_graph(run_only=False).items() if _under(n, _RULES)}
    assert len(rules) >= 14  # recipes, frameworks, spacy, majors, ..., floor, context, catalog
    broken = sorted(
        f"{name} imports {m}"
        for name, edges in rules.items()
        for m in edges
        if not _under(m, _RULES) and m not in _VOCABULARY
    )
    assert broken == [], "\n".join(broken)


def test_the_solver_graph_reader_sees_circles_and_tells_type_checking_apart() -> None:
    """The two tests above would pass on a reader that finds nothing."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from cudaenv.solver import requirements\n"
        "from cudaenv.solver.rules import recipes\n"
        "from cudaenv.solver import solve\n"
        "if TYPE_CHECKING:\n    from cudaenv.solver.factory import Factory\n"
        "def f():\n    from cudaenv.solver.provider import Provider\n"
    )
    name = "cudaenv.solver.rules.x"
    assert module_edges(source, name, run_only=True) == {
        "cudaenv.solver.requirements",
        "cudaenv.solver.rules.recipes",
        "cudaenv.solver",
        "cudaenv.solver.provider",
    }
    assert "cudaenv.solver.factory" in module_edges(source, name, run_only=False)
    assert circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert circle({"a": {"b"}, "b": {"c"}, "d": {"a"}}) is None
    graph = solver_graph(run_only=True)
    assert "cudaenv.solver.rules.recipes" in graph["cudaenv.solver.factory"]
    assert "cudaenv.solver.factory" in graph["cudaenv.solver"]  # inside _search: it runs


# -- the floors of docs/architecture.md: no arrow runs back up (issue 25) ------------------------
# The numbered list under "## Floors" names, floor by floor from the top, the boxes (packages and
# top-level modules) on it. A module belongs to the longest box that holds it; it may import
# its own box and the floors below, never a box on its own floor or above. A new package or
# top-level module is placed in that list before it can pass.
_ROOT = "cudaenv"  # the package's face (__version__): the ground under every floor
_FLOOR = re.compile(r"^(\d+)\. (.+)$")
_BOX = re.compile(r"`(cudaenv(?:\.\w+)*)`")
MAX_TOP_LEVEL = 9  # the entry points and the shared values


def floors(text: str | None = None) -> list[list[str]]:
    """The boxes of each floor, top first, from the list under "## Floors"."""
    text = ARCHITECTURE.read_text() if text is None else text
    section = text.split("\n## Floors\n", 1)[1].split("\n## ", 1)[0]
    found: list[list[str]] = []
    for line in section.splitlines():
        if (m := _FLOOR.match(line)) is not None:
            assert int(m.group(1)) == len(found) + 1, f"floors out of order at {line!r}"
            found.append(_BOX.findall(m.group(2).split(": ", 1)[0]))
    return found


def boxes(plan: list[list[str]]) -> dict[str, int]:
    """box -> its floor (1: the top)."""
    return {box: n for n, floor in enumerate(plan, start=1) for box in floor}


def box_of(module: str, where: dict[str, int]) -> str | None:
    """The box holding *module* (the longest that does); None when the list has none."""
    if module == _ROOT:
        return _ROOT if _ROOT in where else None
    held = [b for b in where if b != _ROOT and _under(module, b)]
    return max(held, key=len) if held else None


def upward(name: str, source: str, where: dict[str, int], *, is_package: bool = False) -> list[str]:
    """The imports of module *name* (its *source*) that reach its own floor or one above."""
    mine = box_of(name, where)
    assert mine is not None, f"{name} stands on no floor of docs/architecture.md"
    found = []
    for target in sorted(module_edges(source, name, is_package=is_package, run_only=False)):
        box = box_of(target, where)
        if box is not None and box != mine and where[box] <= where[mine]:
            found.append(f"{name} (floor {where[mine]}) imports {target} (floor {where[box]})")
    return found


def test_every_box_of_the_floors_exists_and_stands_on_one_floor() -> None:
    plan = floors()
    listed = [box for floor in plan for box in floor]
    assert len(plan) >= 10 and len(listed) == len(set(listed)), plan
    assert [b for b in listed if b != _ROOT and not _is_module(b)] == []
    assert plan[-1] == [_ROOT], "the package's face is the ground"


def test_every_module_stands_on_a_floor() -> None:
    where = boxes(floors())
    assert [name for name, _ in modules("cudaenv") if box_of(name, where) is None] == []


def test_no_import_runs_back_up_the_floors() -> None:
    where = boxes(floors())
    broken = [
        line
        for name, path in modules("cudaenv")
        for line in upward(name, path.read_text(), where, is_package=path.name == "__init__.py")
    ]
    assert broken == [], "\n".join(broken)


def test_the_floor_reader_sees_an_import_back_up() -> None:
    """The two tests above would pass on a reader that finds no floor or no import."""
    plan = floors("# A\n\n## Floors\n\n1. `cudaenv.cli`: top\n2. `cudaenv.a`, `cudaenv.b`: middle\n"
                  "3. `cudaenv`: ground\n\n## Next\n4. `cudaenv.c`: not a floor\n")  # fmt: skip
    assert plan == [["cudaenv.cli"], ["cudaenv.a", "cudaenv.b"], ["cudaenv"]]
    where = boxes(plan)
    up = "from cudaenv.cli import render\nimport cudaenv.b\nfrom cudaenv import __version__\n"
    assert upward("cudaenv.a.x", up, where) == [
        "cudaenv.a.x (floor 2) imports cudaenv.b (floor 2)",
        "cudaenv.a.x (floor 2) imports cudaenv.cli.render (floor 1)",
    ]
    assert upward("cudaenv.cli.render", "from cudaenv.a import y\nimport cudaenv\n", where) == []
    assert box_of("cudaenv.c", where) is None and box_of("cudaenv", where) == "cudaenv"
    real = boxes(floors())
    assert box_of("cudaenv.cli.commands.create", real) == "cudaenv.cli"
    assert real["cudaenv.cli"] < real["cudaenv.pipeline"] < real["cudaenv.solver"]


def test_the_top_level_holds_only_the_entry_points_and_the_shared_values() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top
