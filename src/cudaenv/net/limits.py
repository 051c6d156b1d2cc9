"""How much the index client reads of one answer, and for how long, whatever the server sends.

A broken mirror or a hostile server can answer with a body that never ends, a gzip body that
expands a thousandfold, or one byte a second. Every body is therefore read with a limit on its
*decoded* size that fits its kind, enforced while it streams in, before the bytes are kept:

==================  ===========================================================================
project page        :data:`DEFAULT_PAGE` (256 MiB), ``CUDAENV_MAX_PAGE_MIB`` sets another
METADATA            :data:`MAX_METADATA` (8 MiB: METADATA is kilobytes, a long README hundreds)
a range of a wheel  the bytes asked for
a whole wheel       its size as the index or the lock states it, else :data:`MAX_WHEEL`
==================  ===========================================================================

Bodies past :data:`SHARED_FROM` are read into memory one at a time, the one whose read began
first going first (:data:`LARGE_BODIES`), so that sixteen pages read side by side cannot hold
sixteen limits at once: an index that answers every page with a gzip bomb costs at most one
limit plus :data:`SHARED_FROM` per connection, and the page asked for first is judged first.

Time: the server may stay silent for ``CUDAENV_HTTP_TIMEOUT`` seconds (default
:data:`DEFAULT_TIMEOUT`: to connect, and between two reads), and one request may take
:data:`TOTAL_FACTOR` times that in all, its retries and redirects included (120 s by default),
however its bytes trickle in. A wheel download may take that plus a second for every
:data:`MIN_RATE` bytes of the wheel. A server's ``Retry-After`` is waited for up to
:data:`MAX_RETRY_AFTER` seconds (:func:`retry_after` reads it).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING

from cudaenv.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_PAGE",
    "DEFAULT_TIMEOUT",
    "LARGE_BODIES",
    "MAX_METADATA",
    "MAX_RETRY_AFTER",
    "MAX_WHEEL",
    "MIN_RATE",
    "PAGE_SETTING",
    "SHARED_FROM",
    "TIMEOUT_SETTING",
    "TOTAL_FACTOR",
    "BodyTooLarge",
    "Limits",
    "Turns",
    "retry_after",
    "size_text",
]

MIB = 1 << 20
DEFAULT_PAGE = 256 * MIB
MAX_METADATA = 8 * MIB
MAX_WHEEL = 4 << 30  # CUDA wheels reach hundreds of MB (TF, cuDNN), ~2.5 GB (PyTorch's index)
SHARED_FROM = 4 * MIB
DEFAULT_TIMEOUT = 30.0
TOTAL_FACTOR = 4
MIN_RATE = 64 * 1024  # bytes per second a wheel download must average, beyond the total
PAGE_SETTING = "CUDAENV_MAX_PAGE_MIB"
TIMEOUT_SETTING = "CUDAENV_HTTP_TIMEOUT"
MAX_RETRY_AFTER = 10.0  # seconds; PyPI's CDN asks for a few, a rate limiter may ask for an hour


class Turns:
    """A lock granted, among those waiting, to the reader that started first: each reader
    takes a :meth:`ticket` when it starts, and only one that grows large waits for its turn
    (:meth:`acquire`). A waiter that gives up (Ctrl-C) blocks no one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0
        self._waiting: set[int] = set()
        self._held = False

    def ticket(self) -> int:
        with self._cond:
            self._next += 1
            return self._next

    def acquire(self, ticket: int) -> None:
        with self._cond:
            self._waiting.add(ticket)
            try:
                self._cond.wait_for(lambda: not self._held and min(self._waiting) == ticket)
                self._held = True
            finally:
                self._waiting.discard(ticket)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._held = False
            self._cond.notify_all()


LARGE_BODIES = Turns()  # held while a body past SHARED_FROM is read into memory


class BodyTooLarge(Exception):
    """A body past its reader's limit (``limit`` bytes, decoded); the reader says what that
    means."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {size_text(limit)}")
        self.limit = limit


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """The limits the user may set: the decoded size of a project page (bytes) and the
    seconds a server may stay silent (one request may take :attr:`total`)."""

    page: int = DEFAULT_PAGE
    timeout: float = DEFAULT_TIMEOUT

    @property
    def total(self) -> float:
        return self.timeout * TOTAL_FACTOR

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """``CUDAENV_MAX_PAGE_MIB`` and ``CUDAENV_HTTP_TIMEOUT``, else the defaults; a value
        that is not a positive number is a :class:`~cudaenv.errors.UsageError`."""
        env = os.environ if environ is None else environ
        page = _positive(env, PAGE_SETTING, "512")
        timeout = _positive(env, TIMEOUT_SETTING, "60")
        return cls(
            page=DEFAULT_PAGE if page is None else max(1, int(page * MIB)),
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        )


def _positive(env: Mapping[str, str], name: str, example: str) -> float | None:
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise UsageError(
            f"{name}={text!r} is not a positive number",
            hint=f"set it to a number such as {name}={example}, or unset it for the default",
        )
    return value


def size_text(n: int) -> str:
    """``256 MiB``, ``8 MiB``, ``1.5 KiB``, ``700 bytes``."""
    for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} bytes"


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date; a date
    already past is 0); None when there is none or it cannot be read."""
    text = (value or "").strip()
    if text.isdigit():
        return float(text)
    if not text:
        return None
    from email.utils import parsedate_to_datetime  # only for a server that sent a date

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": an HTTP date is GMT all the same
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
