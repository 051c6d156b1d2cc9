"""The log-line table: what a TensorFlow/XLA/thinc/CuPy message means, whether it matters, the fix.

The meaning of each message is data (``recipes/log_lines.toml``), read and validated by
:mod:`.logschema` (every problem collected into one :class:`~cudaenv.errors.KnowledgeError`)
into the values here; this module classifies lines through them. The smoke test,
``doctor`` and ``explain`` all classify through :meth:`LogRules.classify` and get the same value,
:class:`LogLine`, so a line means the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = [
    "CAUSES",
    "VERDICTS",
    "Cause",
    "LineVerdict",
    "LogLine",
    "LogRule",
    "LogRules",
    "TfLines",
    "Verdict",
]

Verdict = Literal["noise", "problem", "info"]
LineVerdict = Literal["noise", "problem", "info", "unknown"]  # "unknown": no row knows the line
TfLines = Mapping[str, Sequence[str]]  # soname -> the TensorFlow release lines that load it
Cause = Literal[
    "version-mismatch", "several-installs", "driver", "library-path", "container", "none"
]
VERDICTS: tuple[str, ...] = get_args(Verdict)
CAUSES: tuple[str, ...] = get_args(Cause)


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
    run: tuple[str, ...] = ()  # the fix's commands, runnable as written (templates)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    """A line a framework printed, with the meaning its rule gives it (templates filled in).

    ``phase`` is where the smoke probe saw it (import, gpu, ...; empty for a pasted log). A line
    no rule knows has verdict ``unknown`` and empty rule, explanation, fix and source.
    """

    line: str
    rule: str
    verdict: LineVerdict
    cause: Cause
    explanation: str
    fix: str
    source: str
    phase: str = ""
    run: tuple[str, ...] = ()  # shell commands the fix names, runnable as written

    @classmethod
    def unknown(cls, line: str, *, phase: str = "") -> LogLine:
        return cls(
            line=line.strip(),
            rule="",
            verdict="unknown",
            cause="none",
            explanation="",
            fix="",
            source="",
            phase=phase,
        )

    def to_dict(self) -> dict[str, str | list[str]]:
        return {
            "line": self.line,
            "phase": self.phase,
            "rule": self.rule,
            "verdict": self.verdict,
            "cause": self.cause,
            "explanation": self.explanation,
            "fix": self.fix,
            "run": list(self.run),
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

    def classify(
        self, line: str, *, tf_lines: TfLines | None = None, phase: str = ""
    ) -> LogLine | None:
        """The meaning of ``line``, or None when no row knows it.

        ``tf_lines`` maps a soname to the TensorFlow release lines that load it (from the
        knowledge base), for the ``{group_tf}`` template fields.
        """
        hit = self.match(line)
        if hit is None:
            return None
        rule, found = hit
        values = self._fields(found, tf_lines or {})
        return LogLine(
            line=line.strip(),
            rule=rule.id,
            verdict=rule.verdict,
            cause=rule.cause,
            explanation=rule.explanation.format_map(values),
            fix=rule.fix.format_map(values),
            source=rule.source,
            phase=phase,
            run=tuple(cmd.format_map(values) for cmd in rule.run),
        )

    def wheel_dir(self, soname: str) -> str | None:
        """``nvidia/<component>/lib`` of the first wheel known to ship ``soname``."""
        wheels = self.sonames.get(soname)
        if not wheels:
            return None
        if not re.search(r"-cu[0-9]+$", wheels[0]):  # CUDA 13's toolkit wheels share one
            return "nvidia/cu13/lib"
        component = re.sub(r"^nvidia-|-cu[0-9]+$", "", wheels[0]).replace("-", "_")
        return f"nvidia/{component}/lib"

    def _fields(self, found: re.Match[str], tf_lines: TfLines) -> _Fields:
        """The pattern's groups and what is derived from them; a soname no TensorFlow line
        loads (CUDA 10 from an old TF) gets the newest line, so a command stays concrete."""
        values = _Fields()
        newest = max(
            (v for lines in tf_lines.values() for v in lines), key=_line_key, default="<TF line>"
        )
        for name, value in found.groupdict().items():
            if value is None:
                continue
            values[name] = value
            if value in self.sonames:
                values[f"{name}_wheel"] = " or ".join(self.sonames[value])
                values[f"{name}_dir"] = self.wheel_dir(value) or "its lib folder"
            lines = list(tf_lines.get(value, ()))
            values[f"{name}_tf"] = lines[-1] if lines else newest
        return values


def _line_key(line: str) -> tuple[int, ...]:
    return tuple(int(p) for p in line.split(".") if p.isdigit())
