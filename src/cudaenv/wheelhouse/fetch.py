"""Fetch one locked wheel into a folder: hash-checked, resumed where a download stopped.

A wheel is written to ``NAME.whl.part`` and renamed to ``NAME.whl`` only once its sha256 is
the lock's, so a file with the wheel's name is always complete and right. A ``.part`` left by
an interrupted run is continued with ``Range: bytes=N-`` when the server answers 206 from
byte N, and started again when it answers 200 (it ignores ``Range``) or 416. A wheel already
there with the right hash costs one read of the file and no request. A connection that breaks
mid-body is resumed from what arrived, up to :data:`TRIES` times. A body is read up to the
lock's size of the wheel (:data:`~cudaenv.net.limits.MAX_WHEEL` when the lock gives none),
and one download may take the index client's time per request plus a second for every 64 KiB
of the wheel (:mod:`cudaenv.net.limits`).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from cudaenv.errors import IndexError_, WheelhouseError
from cudaenv.net.limits import MAX_WHEEL, MIN_RATE, BodyTooLarge

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from pathlib import Path

    from cudaenv.net.http import Http, Response
    from cudaenv.resolution import Pin

__all__ = ["TRIES", "Fetched", "Stopped", "fetch", "sha256_of"]

TRIES = 3
_BLOCK = 1024 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-\d+/(\d+|\*)$")

How = Literal["present", "downloaded", "resumed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetched:
    """One wheel in the wheelhouse: how it got there, and the bytes received for it."""

    filename: str
    size: int
    how: How
    received: int


class Stopped(Exception):
    """The run was asked to stop (Ctrl-C in the main thread); the ``.part`` stays."""


def sha256_of(path: Path, prefix: int | None = None) -> hashlib._Hash:
    """The sha256 object of ``path`` (of its first ``prefix`` bytes), read in blocks."""
    digest = hashlib.sha256()
    left = prefix
    with open(path, "rb") as f:
        while left is None or left > 0:
            block = f.read(_BLOCK if left is None else min(_BLOCK, left))
            if not block:
                break
            digest.update(block)
            if left is not None:
                left -= len(block)
    return digest


def fetch(
    pin: Pin,
    directory: Path,
    http: Http,
    *,
    at: Callable[[int], None],
    stop: threading.Event,
) -> Fetched:
    """Make ``directory/<wheel>`` the locked file; ``at`` hears how many of its bytes are on
    disk after every chunk."""
    wheel = pin.wheel
    final = directory / wheel.filename
    if final.is_file():
        if sha256_of(final).hexdigest() == wheel.sha256:
            size = final.stat().st_size
            at(size)
            return Fetched(filename=wheel.filename, size=size, how="present", received=0)
        final.unlink()  # not the locked bytes: fetched again below
    part = final.with_name(final.name + ".part")
    resumed, received = False, 0
    for attempt in range(TRIES):
        try:
            got, from_byte = _download(pin, part, http, at, stop)
        except IndexError_:
            if attempt + 1 == TRIES or not part.is_file():
                raise
            continue
        resumed, received = resumed or from_byte > 0, received + got
        break
    _finish(pin, part, final)
    how: How = "resumed" if resumed else "downloaded"
    return Fetched(filename=wheel.filename, size=final.stat().st_size, how=how, received=received)


def _download(
    pin: Pin, part: Path, http: Http, at: Callable[[int], None], stop: threading.Event
) -> tuple[int, int]:
    """Write the rest of ``part``; return (bytes received, the byte it started from)."""
    have = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    what = pin.wheel.filename
    seconds = http.total + (pin.wheel.size or MAX_WHEEL) / MIN_RATE
    with http.stream(pin.wheel.url, headers, what=what, seconds=seconds) as resp:
        start = _start(resp, have)
        if start is None and resp.status_code == 416 and have:
            part.unlink()  # the .part is no prefix of the file: fetch it whole
        elif start is None:
            raise http.failure(resp, what=what)
        else:
            return _write(pin, resp, part, start, http, at, stop), start
    return _download(pin, part, http, at, stop)


def _write(
    pin: Pin,
    resp: Response,
    part: Path,
    start: int,
    http: Http,
    at: Callable[[int], None],
    stop: threading.Event,
) -> int:
    """Write the body into ``part`` from byte ``start``; return the bytes received."""
    what = part.name
    size = pin.wheel.size
    limit = size - start if size is not None and size > start else MAX_WHEEL
    got = 0
    try:
        with open(part, "r+b" if start else "wb") as out:
            out.truncate(start)
            out.seek(start)
            at(start)
            for chunk in http.chunks(resp, what, limit):
                if stop.is_set():
                    raise Stopped(what)
                out.write(chunk)
                got += len(chunk)
                at(start + got)
    except BodyTooLarge:
        part.unlink()  # longer than the locked file: no prefix of it either
        raise _too_large(pin, limit + start) from None
    return got


def _too_large(pin: Pin, limit: int) -> WheelhouseError:
    stated = "the lock's size" if pin.wheel.size is not None else "the most cudaenv downloads"
    return WheelhouseError(
        f"{pin.wheel.url} sent more than {limit:,} bytes ({stated}) for {pin.wheel.filename}: "
        "not the locked file",
        hint="the index or a mirror serves other files than when the lock was made; "
        "`cudaenv lock --check LOCK` says whether the index changed",
    )


def _start(resp: Response, have: int) -> int | None:
    """The byte the body starts at: ``have`` for a 206 from there, 0 for a whole body (200),
    None for any other answer."""
    if resp.status_code == 200:
        return 0
    if resp.status_code == 206:
        match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
        return have if match and int(match.group(1)) == have else None
    return None


def _finish(pin: Pin, part: Path, final: Path) -> None:
    """Rename ``part`` into place if it is the locked file; else remove it and say so."""
    digest = sha256_of(part).hexdigest()
    if digest == pin.wheel.sha256:
        os.replace(part, final)
        return
    part.unlink()
    raise WheelhouseError(
        f"{pin.wheel.filename} ({pin.name} {pin.version}) from {pin.wheel.url} has sha256 "
        f"{digest}; the lock says {pin.wheel.sha256}",
        hint="the index or a mirror serves other bytes than when the lock was made; "
        "`cudaenv lock --check LOCK` says whether the index changed",
    )
