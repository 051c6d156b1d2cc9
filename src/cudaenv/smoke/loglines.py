"""The log-line table: what a TensorFlow/thinc/CuPy message means, whether it matters, the fix.

The meaning of each message is data (``recipes/log_lines.toml``), loaded and validated here the
way the knowledge loader validates recipes: every invalid row is collected, and all of them are
raised together as one :class:`~cudaenv.errors.KnowledgeError` whose context names each one by a
dotted path (``log_lines.toml: rules[3].verdict: ...``). The smoke test, ``doctor`` and
``explain`` all classify through :meth:`LogRules.classify`, so a line means the same everywhere.
"""

from __future__ import annotations

import functools
import re
import string
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

from cudaenv.errors import KnowledgeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CAUSES",
    "VERDICTS",
    "Cause",
    "Classified",
    "LogRule",
    "LogRules",
    "TfLines",
    "load_log_rules",
]

Verdict = Literal["noise", "problem", "info"]
TfLines = Mapping[str, Sequence[str]]  # soname -> the TensorFlow release lines that load it
Cause = Literal[
    "version-mismatch", "several-installs", "driver", "library-path", "container", "none"
]
VERDICTS: tuple[str, ...] = get_args(Verdict)
CAUSES: tuple[str, ...] = get_args(Cause)
_FIELDS = ("id", "pattern", "verdict", "cause", "explanation", "fix", "source")
_DERIVED = ("wheel", "dir", "tf")
_SONAME = re.compile(r"^lib[A-Za-z0-9_+-]+\.so(\.[0-9]+)*$")
_WHEEL = re.compile(r"^nvidia-[a-z0-9-]+-cu[0-9]+$")


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRule:
    """One row of the table: a pattern and what a line matching it means."""

    id: str
    pattern: re.Pattern[str]
    verdict: Verdict
    cause: Cause
    explanation: str
    fix: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Classified:
    """A log line with the meaning its rule gives it (templates filled in)."""

    line: str
    rule: str
    verdict: Verdict
    cause: Cause
    explanation: str
    fix: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return {
            "line": self.line,
            "rule": self.rule,
            "verdict": self.verdict,
            "cause": self.cause,
            "explanation": self.explanation,
            "fix": self.fix,
            "source": self.source,
        }


class _Fields(dict[str, str]):
    """Template values; a field the line did not fill reads as a neutral phrase."""

    def __missing__(self, key: str) -> str:
        if key.endswith("_wheel"):
            return "the NVIDIA wheel that ships it"
        return "nvidia/<component>/lib" if key.endswith("_dir") else "<TF line>"


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRules:
    """The whole table, in match order, and the soname -> wheel map templates draw on."""

    version: str
    rules: tuple[LogRule, ...]
    sonames: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def match(self, line: str) -> tuple[LogRule, re.Match[str]] | None:
        for rule in self.rules:
            found = rule.pattern.search(line)
            if found:
                return rule, found
        return None

    def classify(self, line: str, *, tf_lines: TfLines | None = None) -> Classified | None:
        """The meaning of ``line``, or None when no row knows it.

        ``tf_lines`` maps a soname to the TensorFlow release lines that load it (from the
        knowledge base), for the ``{group_tf}`` template fields.
        """
        hit = self.match(line)
        if hit is None:
            return None
        rule, found = hit
        values = self._fields(found, tf_lines or {})
        return Classified(
            line=line.strip(),
            rule=rule.id,
            verdict=rule.verdict,
            cause=rule.cause,
            explanation=rule.explanation.format_map(values),
            fix=rule.fix.format_map(values),
            source=rule.source,
        )

    def wheel_dir(self, soname: str) -> str | None:
        """``nvidia/<component>/lib`` of the first wheel known to ship ``soname``."""
        wheels = self.sonames.get(soname)
        if not wheels:
            return None
        component = re.sub(r"^nvidia-|-cu[0-9]+$", "", wheels[0]).replace("-", "_")
        return f"nvidia/{component}/lib"

    def _fields(self, found: re.Match[str], tf_lines: TfLines) -> _Fields:
        values = _Fields()
        for name, value in found.groupdict().items():
            if value is None:
                continue
            values[name] = value
            if value in self.sonames:
                values[f"{name}_wheel"] = " or ".join(self.sonames[value])
                values[f"{name}_dir"] = self.wheel_dir(value) or "its lib folder"
            lines = list(tf_lines.get(value, ()))
            values[f"{name}_tf"] = lines[-1] if lines else "<TF line>"
        return values


@functools.cache
def load_log_rules(path: Path | None = None) -> LogRules:
    """Read and validate ``log_lines.toml``; all problems are raised together."""
    if path is None:
        from cudaenv.knowledge import data_dirs

        path = data_dirs()[0] / "log_lines.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise KnowledgeError(f"cannot read {path.name}: {e}", context=str(path)) from e
    errors: list[str] = []
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
    if errors:
        raise KnowledgeError(
            f"{path.name} has {len(errors)} invalid entr{'y' if len(errors) == 1 else 'ies'}",
            context="\n".join(f"{path.name}: {e}" for e in errors),
            hint="fix the rows named above (see the field list at the top of the file)",
        )
    version = str(data.get("meta", {}).get("version", ""))
    return LogRules(version=version, rules=tuple(rules), sonames=sonames)


def _sonames(table: object, errors: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        errors.append("sonames: must be a table")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for soname, wheels in table.items():
        bad = not isinstance(wheels, list) or not wheels
        if not _SONAME.match(soname) or bad or not all(_WHEEL.match(str(w)) for w in wheels):
            errors.append(
                f"sonames.{soname!r}: must map a soname to a list of nvidia-*-cuNN wheels"
            )
            continue
        out[soname] = tuple(wheels)
    return out


def _rule(row: object, where: str, errors: list[str]) -> LogRule | None:
    if not isinstance(row, dict):
        errors.append(f"{where}: must be a table")
        return None
    before = len(errors)
    errors += [f"{where}.{k}: unknown field" for k in row if k not in _FIELDS]
    for key in _FIELDS:
        if not isinstance(row.get(key), str) or not row[key].strip():
            errors.append(f"{where}.{key}: missing or not a non-empty string")
    if len(errors) > before:
        return None
    pattern = _compile(row["pattern"], f"{where}.pattern", errors)
    _check_values(row, pattern, where, errors)
    if len(errors) > before or pattern is None:
        return None
    return LogRule(
        id=row["id"],
        pattern=pattern,
        verdict=row["verdict"],
        cause=row["cause"],
        explanation=row["explanation"],
        fix=row["fix"],
        source=row["source"],
    )


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
