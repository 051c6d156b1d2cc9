"""``Content-Encoding`` decoded a bounded piece at a time: a gzip bomb never inflates at once.

``zlib``'s ``decompress(data)`` turns 64 KiB of a hostile gzip body into 64 MiB in one call.
Here every call gives at most ``size`` bytes and keeps the input it has not decoded yet
(``unconsumed_tail``) for the next one, so a reader that counts what it gets can stop at its
limit with at most ``size`` bytes more in memory. ``gzip`` and ``deflate`` are decoded (the
encodings the client asks for); any other body is passed through as it came.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Decoder", "decoder"]


class Decoder:
    """One body's decoder (gzip, or deflate zlib-wrapped or raw, as servers send it)."""

    def __init__(self, encoding: str) -> None:
        gzip = encoding != "deflate"
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 16) if gzip else None
        self._fed = False

    def decode(self, data: bytes, size: int) -> Iterator[bytes]:
        """The decoded bytes of *data*, in pieces of at most *size* bytes."""
        d = self._start(data)
        self._fed = self._fed or bool(data)
        out = d.decompress(data, size)
        while True:
            if out:
                yield out
            if not d.unconsumed_tail:
                return
            out = d.decompress(d.unconsumed_tail, size)

    def finish(self) -> bytes:
        """What the decoder still holds once the body has ended (little: every call of
        :meth:`decode` consumed its input whole); ``zlib.error`` if the compressed stream
        stopped before its end (a body cut short that looked whole)."""
        if self._d is None or not self._fed:
            return b""
        rest = self._d.flush()
        if not self._d.eof:
            raise zlib.error("the compressed body stops before its end")
        return rest

    def _start(self, data: bytes) -> zlib._Decompress:
        """The decompressor; for ``deflate``, chosen by the first bytes: a zlib header or
        raw deflate (some servers send that)."""
        if self._d is None:
            probe = zlib.decompressobj()
            try:
                probe.decompress(data[:2], 1)
                self._d = zlib.decompressobj()
            except zlib.error:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._d


def decoder(encoding: str) -> Decoder | None:
    """The decoder for a ``Content-Encoding`` value (None: the body is as it came)."""
    if encoding in ("gzip", "x-gzip", "deflate"):
        return Decoder(encoding)
    return None
