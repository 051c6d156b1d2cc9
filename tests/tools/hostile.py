"""A broken or hostile package index on 127.0.0.1: every request gets the same bad answer.

What a misconfigured mirror, a proxy in the way or an attacker may send, for the tests that the
index client stays bounded in memory, time and messages (``tests/functional/test_hostile.py``):

- ``bomb``: a PEP 691 JSON page sent with ``Content-Encoding: gzip``, about 2 MB on the wire that
  expand to 2 GiB (a file entry, then whitespace); made on the fly from one compressed block
  repeated (never stored);
- ``endless``: a chunked body that never ends (64 KiB chunks of JSON file entries);
- ``drip``: the whole answer, status line included, one byte every :attr:`Hostile.interval`
  seconds (never a silence long enough for a read timeout);
- ``short``: ``Content-Length: 1000000``, then 1,000 bytes, then silence;
- ``bad-status``: a status line that is not HTTP's;
- ``long-header``: a header line that never ends;
- ``redirect-loop``: every path answers 302 to another path on the same server, forever;
- ``silent``: reads the request and says nothing (an index, or a proxy, that hangs).

Each server is bounded: it answers at most ``max_requests`` requests (later connections are
closed unanswered) and no answer lasts longer than ``max_seconds`` or past :meth:`stop`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["BEHAVIOURS", "BOMB_DECODED", "Hostile", "bomb_body"]

BOMB_DECODED = 2 << 30  # bytes the bomb expands to
_BLOCK = 1 << 20  # decoded bytes of one repeated block
_ENTRY = (
    b'{"filename":"spacy-3.7.5-cp311-cp311-manylinux_2_17_x86_64.whl",'
    b'"url":"/files/spacy-3.7.5-cp311-cp311-manylinux_2_17_x86_64.whl","hashes":{}},'
)
_HEAD = b'{"meta":{"api-version":"1.1"},"name":"spacy","files":['
_TAIL = _ENTRY[:-1] + b"]}"
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03"


def _blocks() -> tuple[bytes, bytes, bytes, bytes]:
    """(head, repeated block, tail: compressed, and the decoded block), as raw deflate. After a
    full flush a compressor starts afresh, so the same input compresses to the same bytes:
    the block can be sent any number of times."""
    block = b" " * _BLOCK  # JSON's whitespace: a valid page, and deflate's best ratio
    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = c.compress(_HEAD) + c.flush(zlib.Z_FULL_FLUSH)
    once = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    assert once == again, "a full flush must make the block repeatable"
    tail = c.compress(_TAIL) + c.flush(zlib.Z_FINISH)
    return head, once, tail, block


def bomb_body() -> tuple[int, Callable[[], Iterator[bytes]]]:
    """(its length on the wire, a generator of its pieces) of a gzip body that decodes to
    about :data:`BOMB_DECODED` bytes of one PEP 691 page. The CRC of the trailer is computed
    only if the reader takes the whole body."""
    head, block, tail, decoded = _blocks()
    count = (BOMB_DECODED - len(_HEAD) - len(_TAIL)) // len(decoded)
    size = len(_GZIP_HEADER) + len(head) + count * len(block) + len(tail) + 8

    def pieces() -> Iterator[bytes]:
        yield _GZIP_HEADER + head
        for _ in range(count):
            yield block
        yield tail
        crc = zlib.crc32(_HEAD)
        for _ in range(count):
            crc = zlib.crc32(decoded, crc)
        crc = zlib.crc32(_TAIL, crc)
        total = len(_HEAD) + count * len(decoded) + len(_TAIL)
        yield crc.to_bytes(4, "little") + (total & 0xFFFFFFFF).to_bytes(4, "little")

    return size, pieces


class Hostile:
    """A server on 127.0.0.1 that answers every request with one of :data:`BEHAVIOURS`.
    ``url`` is its index URL (``.../simple``) and ``proxy`` its address as a proxy URL;
    ``requests`` counts the requests it read."""

    def __init__(
        self,
        behaviour: str,
        *,
        max_requests: int = 64,
        max_seconds: float = 60.0,
        interval: float = 0.5,
    ) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}")
        self.behaviour = behaviour
        self.max_requests, self.max_seconds, self.interval = max_requests, max_seconds, interval
        self.requests = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/simple"
        self.proxy = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        self._sock.close()
        self._thread.join(5)

    def __enter__(self) -> Hostile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(self.max_seconds)
        with conn:
            try:
                while (path := _read_request(conn)) is not None and self._count():
                    until = time.monotonic() + self.max_seconds
                    if not BEHAVIOURS[self.behaviour](self, conn, path, until):
                        return
            except OSError:
                return  # the client gave up: what the tests want of it

    def _count(self) -> bool:
        with self._lock:
            self.requests += 1
            return self.requests <= self.max_requests

    def on(self, until: float) -> bool:
        """Whether an answer may go on (the server runs and the answer is not too old)."""
        return not self.stopping.is_set() and time.monotonic() < until

    def wait(self, until: float) -> None:
        """Stay silent until :meth:`stop` or *until*."""
        self.stopping.wait(max(0.0, until - time.monotonic()))


def _read_request(conn: socket.socket) -> str | None:
    """The path of the next request on *conn* (its head read whole), None at its end."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = conn.recv(65536)
        if not got:
            return None
        data += got
        if len(data) > 1 << 20:
            return None
    parts = data.split(b"\r\n", 1)[0].split()
    return parts[1].decode("latin-1") if len(parts) > 1 else "/"


_JSON = b"Content-Type: application/vnd.pypi.simple.v1+json\r\n"


def _bomb(server: Hostile, conn: socket.socket, path: str, until: float) -> bool:
    size, pieces = bomb_body()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\n" + _JSON + b"Content-Encoding: gzip\r\n"
        b"Content-Length: %d\r\n\r\n" % size
    )
    for piece in pieces():
        if not server.on(until):
            return False
        conn.sendall(piece)
    return True


def _endless(server: Hostile, conn: socket.socket, path: str, until: float) -> bool:
    conn.sendall(b"HTTP/1.1 200 OK\r\n" + _JSON + b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = _ENTRY * (65536 // len(_ENTRY))
    conn.sendall(b"%x\r\n%s\r\n" % (len(_HEAD), _HEAD))
    while server.on(until):
        conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    return False


def _drip(server: Hostile, conn: socket.socket, path: str, until: float) -> bool:
    body = _HEAD + _TAIL
    answer = b"HTTP/1.1 200 OK\r\n" + _JSON + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    for i in range(len(answer)):
        if not server.on(until):
            return False
        conn.sendall(answer[i : i + 1])
        server.stopping.wait(server.interval)
    return True


def _short(server: Hostile, conn: socket.socket, path: str, until: float) -> bool:
    conn.sendall(b"HTTP/1.1 200 OK\r\n" + _JSON + b"Content-Length: 1000000\r\n\r\n")
    conn.sendall((_HEAD + _ENTRY * 20)[:1000])
    server.wait(until)
    return False


def _bad_status(server: Hostile, conn: socket.socket, path: str, until: float) -> bool:
    conn.sendall(b"HTTP/1.1 two hundred OK\r\n\r\n")
    return False


def _long_header(server: Hostile, conn: socket.socket, path: str, until: float) -> bool:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Never-Ends: ")
    for _ in range(64):  # 4 MiB at most, far past what any client reads of one header line
        if not server.on(until):
            return False
        conn.sendall(b"a" * 65536)
    return False


def _redirect_loop(server: Hostile, conn: socket.socket, path: str, until: float) -> bool:
    """``/simple/spacy/`` -> ``/simple/spacy/again/`` -> ``/simple/spacy/`` -> ..."""
    again = "again/"
    target = path[: -len(again)] if path.endswith("/" + again) else path.rstrip("/") + "/" + again
    conn.sendall(
        b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % target.encode()
    )
    return True


def _silent(server: Hostile, conn: socket.socket, path: str, until: float) -> bool:
    server.wait(until)
    return False


BEHAVIOURS: dict[str, Callable[[Hostile, socket.socket, str, float], bool]] = {
    "bomb": _bomb,
    "endless": _endless,
    "drip": _drip,
    "short": _short,
    "bad-status": _bad_status,
    "long-header": _long_header,
    "redirect-loop": _redirect_loop,
    "silent": _silent,
}
