"""One error family for every expected failure, so the CLI renders them all the same way.

Each stage raises a subclass of :class:`CudaenvError` and translates third-party exceptions at
its boundary (``raise ... from e``). Only ``cli.execute`` catches them.

A hint is what to do next, and it must work when followed. Where the way out is a change to the
command or another command, the error carries it as data too (:class:`Remedy`): ``--json``
prints it, and the tests follow every remedy and require it to succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "BUG",
    "FAILURE",
    "INTERRUPTED",
    "OK",
    "TERMINATED",
    "CudaenvError",
    "DetectError",
    "EnvError",
    "Explanation",
    "FilesystemError",
    "FixError",
    "IndexError_",
    "InstallError",
    "KnowledgeError",
    "LockError",
    "Remedy",
    "ResolutionError",
    "SmokeError",
    "Terminated",
    "UsageError",
    "WheelhouseError",
]

# Exit codes. Expected failures exit 2 and bugs exit 1: the inverse of pip's table, chosen so that
# a script can tell "the request cannot be met" (2, act on the message) from "cudaenv crashed"
# (1, report it). Do not "fix" this to match pip.
OK = 0
BUG = 1
FAILURE = 2
INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + 2, as a shell reports a process the signal ended
TERMINATED = 143  # SIGTERM: 128 + 15


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (cudaenv.system.interrupts raises it): unwound like Ctrl-C, so that the same
    rollbacks run; the CLI exits :data:`TERMINATED`."""


Option = tuple[str, str | None]  # ("--python", "3.11"); ("--pre", None) is a bare flag


@dataclass(frozen=True, slots=True, kw_only=True)
class Remedy:
    """One way out of a failure, as text and as data a program can follow.

    ``options`` are set on the command that failed (replacing the same option if it was given;
    a value of None is a bare flag such as ``--pre``); ``commands`` are whole command lines to
    run instead, in order (each an argv, ``cudaenv`` first). The text says the same in words.
    """

    text: str
    options: tuple[Option, ...] = ()
    commands: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def use(cls, *options: Option, verb: str = "use") -> Remedy:
        """``use --tf 2.14`` / ``add --pre``: options of the failed command."""
        words = " ".join(flag if value is None else f"{flag} {value}" for flag, value in options)
        return cls(text=f"{verb} {words}", options=tuple(options))

    @classmethod
    def run(cls, *commands: tuple[str, ...], text: str | None = None) -> Remedy:
        """Run these commands instead (shown quoted for a POSIX shell)."""
        import shlex

        shown = " && ".join(shlex.join(c) for c in commands)
        return cls(text=text or f"run `{shown}`", commands=tuple(commands))

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "options": [list(o) for o in self.options],
            "commands": [list(c) for c in self.commands],
        }


class CudaenvError(Exception):
    """An expected failure: a message saying what went wrong and a hint saying what to do.

    ``remedies`` are the ways out as data; when no ``hint`` is given it is their texts.
    """

    reference: ClassVar[str] = "cudaenv-error"

    def __init__(
        self,
        message: str,
        *,
        context: str | None = None,
        hint: str | None = None,
        remedies: tuple[Remedy, ...] = (),
    ):
        super().__init__(message)
        self.message = message
        self.context = context
        self.remedies = remedies
        self.hint = hint if hint is not None else (", or ".join(r.text for r in remedies) or None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "message": self.message,
            "context": self.context,
            "hint": self.hint,
            "remedies": [r.to_dict() for r in self.remedies],
        }


class UsageError(CudaenvError):
    reference = "bad-input"


class DetectError(CudaenvError):
    reference = "detect-failed"


class KnowledgeError(CudaenvError):
    reference = "knowledge-invalid"


class IndexError_(CudaenvError):  # the underscore avoids shadowing the builtin IndexError
    reference = "index-unreachable"


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """A failed solve as data: one headline, the reasons behind it, the ways out (the solver's
    rules make it; :class:`ResolutionError` carries it)."""

    headline: str
    reasons: tuple[str, ...] = ()
    hints: tuple[Remedy, ...] = ()

    def hint_text(self) -> str | None:
        return ", or ".join(h.text for h in self.hints) or None

    def sentence(self) -> str:
        """``headline → hint, or hint``: the explanation in one line."""
        hints = self.hint_text()
        return f"{self.headline} → {hints}" if hints else self.headline


class ResolutionError(CudaenvError):
    """No set of releases meets the request; ``explanation`` is the solver's account of why,
    when it made one (a solve that gave up after too many rounds has none)."""

    reference = "resolution-impossible"
    explanation: Explanation | None

    def __init__(
        self,
        message: str,
        *,
        context: str | None = None,
        hint: str | None = None,
        remedies: tuple[Remedy, ...] = (),
        explanation: Explanation | None = None,
    ):
        super().__init__(message, context=context, hint=hint, remedies=remedies)
        self.explanation = explanation

    @classmethod
    def explained(cls, explanation: Explanation) -> ResolutionError:
        """The error for an explanation: its headline, reasons as context, hints as remedies."""
        return cls(
            explanation.headline,
            context="\n".join(explanation.reasons) or None,
            remedies=explanation.hints,
            explanation=explanation,
        )


class LockError(CudaenvError):
    reference = "lock-invalid"


class EnvError(CudaenvError):
    reference = "environment-failed"


class FilesystemError(CudaenvError):
    """The file system refused a path (full, read-only, denied, not a folder): see oserrors."""

    reference = "filesystem-refused"


class InstallError(CudaenvError):
    reference = "install-failed"


class FixError(CudaenvError):
    """``cudaenv fix`` will not change an environment: what it would take, and the way out."""

    reference = "fix-refused"


class SmokeError(CudaenvError):
    reference = "smoke-failed"


class WheelhouseError(CudaenvError):
    """A wheelhouse (``cudaenv download``, ``create --find-links``) lacks a locked wheel or
    holds other bytes than the lock's."""

    reference = "wheelhouse-invalid"
