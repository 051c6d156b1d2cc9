"""Validating ``log_lines.toml`` row by row, collecting every problem instead of the first.

A contributor who adds a message should see all of their mistakes in one run, each named by a
dotted path (``rules[3].verdict: 'bad' is not one of noise, problem, info``), the way the
recipe files are checked (:mod:`.parse`). :func:`load_log_rules` reads the file, and
:func:`table` turns the parsed TOML document into the values
:class:`~cudaenv.knowledge.loglines.LogRules` holds.
"""

from __future__ import annotations

import functools
import re
import string
from typing import TYPE_CHECKING, Any

from cudaenv._toml import tomllib
from cudaenv.errors import KnowledgeError
from cudaenv.knowledge.loglines import CAUSES, VERDICTS, LogRule, LogRules

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["load_log_rules", "table"]

_FIELDS = ("id", "pattern", "verdict", "cause", "explanation", "fix", "source")
_OPTIONAL = ("run",)
# What a fix must not say: a hint is a command or flag that works as written (PREFIX, `...`,
# <TF line>, DRIVER_VERSION, cupy-cudaXXx and pythonX.Y are for a person to fill in).
_PLACEHOLDER = re.compile(r"\.\.\.|…|\bPREFIX\b|<[A-Za-z][A-Za-z .-]*>|\b[A-Z]+_VERSION\b|XXx|X\.Y")
_DERIVED = ("wheel", "dir", "tf")
_SONAME = re.compile(r"^lib[A-Za-z0-9_+-]+\.so(\.[0-9]+)*$")
_WHEEL = re.compile(r"^nvidia-[a-z0-9-]+$")  # -cuNN, or none for CUDA 13's toolkit wheels


def table(
    data: dict[str, Any], errors: list[str]
) -> tuple[str, tuple[LogRule, ...], dict[str, tuple[str, ...]]]:
    """The table's version, its valid rules in order and its soname map; problems go to errors."""
    sonames = _sonames(data.get("sonames", {}), errors)
    rows = data.get("rules")
    if not isinstance(rows, list) or not rows:
        errors.append("rules: must be a non-empty array of tables ([[rules]])")
        rows = []
    rules = [r for i, row in enumerate(rows) if (r := _rule(row, f"rules[{i}]", errors))]
    ids = [r.id for r in rules]
    errors += [
        f"rules: id {i!r} is used twice" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    meta = data.get("meta", {})
    version = str(meta.get("version", "")) if isinstance(meta, dict) else ""
    return version, tuple(rules), sonames


def _sonames(table: object, errors: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        errors.append("sonames: must be a table")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for soname, wheels in table.items():
        bad = not isinstance(wheels, list) or not wheels
        if not _SONAME.match(soname) or bad or not all(_WHEEL.match(str(w)) for w in wheels):
            errors.append(f"sonames.{soname!r}: must map a soname to a list of nvidia-* wheels")
            continue
        out[soname] = tuple(wheels)
    return out


def _rule(row: object, where: str, errors: list[str]) -> LogRule | None:
    if not isinstance(row, dict):
        errors.append(f"{where}: must be a table")
        return None
    before = len(errors)
    errors += [f"{where}.{k}: unknown field" for k in row if k not in (*_FIELDS, *_OPTIONAL)]
    for key in _FIELDS:
        if not isinstance(row.get(key), str) or not row[key].strip():
            errors.append(f"{where}.{key}: missing or not a non-empty string")
    if len(errors) > before:
        return None
    pattern = _compile(row["pattern"], f"{where}.pattern", errors)
    _check_values(row, pattern, where, errors)
    if len(errors) > before or pattern is None:
        return None
    run = _run(row.get("run", []), pattern, where, errors)
    if len(errors) > before:
        return None
    return LogRule(
        id=row["id"],
        pattern=pattern,
        verdict=row["verdict"],
        cause=row["cause"],
        explanation=row["explanation"],
        fix=row["fix"],
        source=row["source"],
        run=run,
    )


def _run(value: object, pattern: re.Pattern[str], where: str, errors: list[str]) -> tuple[str, ...]:
    """``run``: the fix's commands, each a non-empty template runnable as written."""
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        errors.append(f"{where}.run: must be a list of non-empty strings (shell commands)")
        return ()
    for i, command in enumerate(value):
        _check_template(command, pattern, f"{where}.run[{i}]", errors)
        _check_concrete(command, f"{where}.run[{i}]", errors)
    return tuple(value)


def _check_concrete(text: str, where: str, errors: list[str]) -> None:
    found = _PLACEHOLDER.search(text)
    if found:
        errors.append(f"{where}: {found.group(0)!r} is a placeholder; name the command as it runs")


def _check_values(
    row: dict[str, str], pattern: re.Pattern[str] | None, where: str, errors: list[str]
) -> None:
    if row["verdict"] not in VERDICTS:
        errors.append(f"{where}.verdict: {row['verdict']!r} is not one of {', '.join(VERDICTS)}")
    if row["cause"] not in CAUSES:
        errors.append(f"{where}.cause: {row['cause']!r} is not one of {', '.join(CAUSES)}")
    if not row["source"].startswith("https://"):
        errors.append(f"{where}.source: must be an https:// URL")
    if pattern is not None:
        for key in ("explanation", "fix"):
            _check_template(row[key], pattern, f"{where}.{key}", errors)
    _check_concrete(row["fix"], f"{where}.fix", errors)


def _compile(text: str, where: str, errors: list[str]) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error as e:
        errors.append(f"{where}: not a regular expression ({e})")
        return None


def _check_template(text: str, pattern: re.Pattern[str], where: str, errors: list[str]) -> None:
    groups = set(pattern.groupindex)
    allowed = groups | {f"{g}_{d}" for g in groups for d in _DERIVED}
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as e:
        errors.append(f"{where}: bad template ({e})")
        return
    errors += [f"{where}: {{{n}}} is not a group of the pattern" for n in names if n not in allowed]


@functools.cache
def load_log_rules(path: Path | None = None) -> LogRules:
    """Read and validate ``log_lines.toml``; all problems are raised together."""
    if path is None:
        from cudaenv.knowledge import data_dirs

        path = data_dirs()[0] / "log_lines.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise KnowledgeError(f"cannot read {path.name}: {e}", context=str(path)) from e
    errors: list[str] = []
    version, rules, sonames = table(data, errors)
    if errors:
        raise KnowledgeError(
            f"{path.name} has {len(errors)} invalid entr{'y' if len(errors) == 1 else 'ies'}",
            context="\n".join(f"{path.name}: {e}" for e in errors),
            hint="fix the rows named above (see the field list at the top of the file)",
        )
    return LogRules(version=version, rules=rules, sonames=sonames)
