"""One error family for every expected failure, so the CLI renders them all the same way.

Each stage raises a subclass of :class:`CudaenvError` and translates third-party exceptions at
its boundary (``raise ... from e``). Only ``cli.execute`` catches them.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BUG",
    "FAILURE",
    "INTERRUPTED",
    "OK",
    "CudaenvError",
    "DetectError",
    "EnvError",
    "IndexError_",
    "InstallError",
    "KnowledgeError",
    "LockError",
    "ResolutionError",
    "SmokeError",
    "UsageError",
    "WheelhouseError",
]

# Exit codes. Expected failures exit 2 and bugs exit 1: the inverse of pip's table, chosen so that
# a script can tell "the request cannot be met" (2, act on the message) from "cudaenv crashed"
# (1, report it). Do not "fix" this to match pip.
OK = 0
BUG = 1
FAILURE = 2
INTERRUPTED = 130


class CudaenvError(Exception):
    """An expected failure: a message saying what went wrong and a hint saying what to do."""

    reference: ClassVar[str] = "cudaenv-error"

    def __init__(self, message: str, *, context: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.context = context
        self.hint = hint

    def to_dict(self) -> dict[str, str | None]:
        return {
            "reference": self.reference,
            "message": self.message,
            "context": self.context,
            "hint": self.hint,
        }


class UsageError(CudaenvError):
    reference = "bad-input"


class DetectError(CudaenvError):
    reference = "detect-failed"


class KnowledgeError(CudaenvError):
    reference = "knowledge-invalid"


class IndexError_(CudaenvError):  # the underscore avoids shadowing the builtin IndexError
    reference = "index-unreachable"


class ResolutionError(CudaenvError):
    reference = "resolution-impossible"


class LockError(CudaenvError):
    reference = "lock-invalid"


class EnvError(CudaenvError):
    reference = "environment-failed"


class InstallError(CudaenvError):
    reference = "install-failed"


class SmokeError(CudaenvError):
    reference = "smoke-failed"


class WheelhouseError(CudaenvError):
    """A wheelhouse (``cudaenv download``, ``create --find-links``) lacks a locked wheel or
    holds other bytes than the lock's."""

    reference = "wheelhouse-invalid"
