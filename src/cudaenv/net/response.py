"""One HTTP answer as the index client reads it: status and headers, then the body decoded
a bounded piece at a time, streamed or read whole up to a limit.

:meth:`Response.read` is how every page and file of the index is read: at most *limit* decoded
bytes (:mod:`.limits`), stopped as soon as the body is longer, whatever its
``Content-Encoding`` (:mod:`.decoding`) or length (sized, chunked, or until the connection
closes). A body cut at its request's deadline (:mod:`.watchdog`) is never taken for a whole one.
"""

from __future__ import annotations

import http.client
import zlib
from typing import TYPE_CHECKING, overload

from cudaenv.net.decoding import decoder
from cudaenv.net.httperrors import DeadlineExceeded, ReadError, ReadTimeout
from cudaenv.net.limits import LARGE_BODIES, SHARED_FROM, BodyTooLarge

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cudaenv.net.pool import Release

__all__ = ["CHUNK", "Headers", "Response"]

CHUNK = 64 * 1024


class Headers:
    """Response headers, read without regard to case (``http.client``'s message)."""

    def __init__(self, message: http.client.HTTPMessage):
        self._message = message

    @overload
    def get(self, name: str) -> str | None: ...

    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self._message.get(name)
        return default if value is None else str(value)

    def __getitem__(self, name: str) -> str:
        value = self._message.get(name)
        if value is None:
            raise KeyError(name)
        return str(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._message


class Response:
    """One answer: status and headers at once, the body read (``content``, :meth:`read`) or
    streamed (:meth:`iter_bytes`), decoded; :meth:`close` gives the connection back."""

    def __init__(self, url: str, raw: http.client.HTTPResponse, release: Release):
        self.url = url
        self.status_code = raw.status
        self.reason_phrase = raw.reason
        self.headers = Headers(raw.headers)
        self._raw, self._release = raw, release
        self._content: bytes | None = None
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        self._decoder = decoder(encoding)

    @property
    def content(self) -> bytes:
        """The whole body, without a limit (the index client reads with :meth:`read`)."""
        if self._content is None:
            self._content = b"".join(self.iter_bytes(CHUNK))
        return self._content

    def read(self, limit: int, *, ticket: int | None = None) -> bytes:
        """The whole body, decoded, if it is at most *limit* bytes: :class:`BodyTooLarge` as
        soon as it is longer (the connection is closed then). A body past
        :data:`~.limits.SHARED_FROM` bytes is read on while no other is
        (:data:`~.limits.LARGE_BODIES`), in the order of *ticket* (taken when the request
        began; default: now)."""
        declared = self.headers.get("Content-Length", "")
        if self._content is None and self._decoder is None and declared.isdigit():
            if int(declared) > limit:
                self.close()
                raise BodyTooLarge(limit)
        if self._content is None:
            self._content = self._read(limit, LARGE_BODIES.ticket() if ticket is None else ticket)
        if len(self._content) > limit:
            raise BodyTooLarge(limit)
        return self._content

    def _read(self, limit: int, ticket: int) -> bytes:
        body, large = bytearray(), False
        try:
            for piece in self.iter_bytes(CHUNK):
                self._release.check()  # a closed client or a deadline: stop decoding now
                if len(body) + len(piece) > limit:
                    self.close()
                    raise BodyTooLarge(limit)
                if not large and len(body) + len(piece) > SHARED_FROM:
                    LARGE_BODIES.acquire(ticket)
                    large = True
                body += piece
            return bytes(body)
        except BaseException:
            # The error keeps this frame alive in its traceback, and errors are kept (a failed
            # page is raised again to every later asker): it must not keep the body too.
            body.clear()
            raise
        finally:
            if large:
                LARGE_BODIES.release()

    def iter_bytes(self, chunk_size: int) -> Iterator[bytes]:
        """The body, decoded, in pieces of at most *chunk_size* bytes (0: 64 KiB); the
        connection is given back once the body has been read to its end."""
        if self._content is not None:
            yield self._content
            return
        size = chunk_size or CHUNK
        try:
            while data := self._raw.read1(size):
                self._release.check()
                yield from self._decode(data, size)
            self._release.check()  # the end of a body cut at its deadline is no end
            if self._raw.length:  # read1 takes an early end for the end: it is not
                raise http.client.IncompleteRead(b"", self._raw.length)
            self._raw.close()  # read to its end: the connection may take the next request
            if self._decoder is not None and (rest := self._decoder.finish()):
                yield rest
        except TimeoutError as e:
            self._release(keep=False)
            self._release.check()
            raise ReadTimeout(str(e) or "the server sent nothing in time") from e
        except (OSError, http.client.HTTPException, zlib.error) as e:
            self._release(keep=False)
            self._release.check()
            raise ReadError(f"{type(e).__name__}: {e}") from e
        except DeadlineExceeded:
            self._release(keep=False)
            raise
        self._release(keep=not self._raw.will_close)

    def _decode(self, data: bytes, size: int) -> Iterator[bytes]:
        if self._decoder is None:
            yield data
        else:
            yield from self._decoder.decode(data, size)

    def allow(self, seconds: float) -> None:
        """Give the rest of this request *seconds* from now, instead of its deadline (the
        answer turned out to be a whole wheel)."""
        self._release.allow(seconds)

    def close(self) -> None:
        """Done with the answer: a body not read to its end closes the connection."""
        self._release(keep=False)
