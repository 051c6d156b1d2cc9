"""A real package index on 127.0.0.1 that serves a directory of wheels (and sdists), for tests.

The standard library's ``http.server`` speaks neither PEP 691 nor ``Range``, and the code under
test depends on both, so this handler implements what pip, uv and cudaenv's index client use:

- ``GET /simple/`` and ``/simple/<name>/``: PEP 691 JSON (api-version 1.1) when ``Accept`` asks
  for ``application/vnd.pypi.simple.v1+json``, PEP 503 HTML otherwise (``json=False`` forces
  HTML). File entries carry sha256, ``requires-python``, ``yanked``, ``size``, ``upload-time``
  and, when ``pep658`` is on, ``core-metadata`` / ``data-dist-info-metadata`` (PEP 658/714).
  Pages carry an ``ETag`` and ``Cache-Control: <page_cache_control>`` (``max-age=0``) and
  answer ``If-None-Match`` with 304 (``validators=False``: neither header, never 304).
- ``GET /files/<filename>``: the wheel, honouring single ``Range`` headers (``a-b``, ``a-``,
  ``-N``) with 206 + ``Content-Range`` or 416; ``ETag``/``Last-Modified`` with 304 on
  ``If-None-Match`` / ``If-Modified-Since``. ``honour_range=False`` ignores ``Range`` (200).
- ``GET /files/<filename>.metadata``: the wheel's ``METADATA`` (an sdist's ``PKG-INFO``) when
  ``pep658`` is on, else 404.

- ``GET /links/``: every file on one HTML page of links (what ``--find-links URL`` reads).

``auth = ("user", "password")`` makes every request without that HTTP Basic login answer 401
(with ``WWW-Authenticate``); the log records the login each request carried (``auth``,
``"user:password"``). ``redirect_files`` (a base URL such as another server's) answers
``/files/...`` with a 302 there, as an index whose files live on another host does.
:meth:`IndexServer.write_static` writes the index as a PEP 503 folder (``file://`` index).

Every request is logged (:attr:`IndexServer.requests`). A server that several tests share (a
module's fixture, ``shared=True``) refuses to show its log: a test may leave requests behind
that arrive while the next one runs (a failed solve does not wait for the pages it asked for
ahead, and a keep-alive connection outlives its test), so no log read there can tell one test's
requests from another's. A test that reads the log or changes how the index answers gets a
server of its own (over the same wheels: starting one takes milliseconds).

:meth:`IndexServer.fail` makes the next
requests answer a status (500 by default; with a ``Retry-After`` header when given, as a rate
limiter's 429 or an overloaded server's 503 does) or drop the connection, for retry tests;
:meth:`IndexServer.stall` makes requests wait before their answer (a slow index),
:meth:`IndexServer.hold` holds them unanswered (a client stuck mid-request), and
:meth:`IndexServer.tamper` serves other bytes for a wheel than its page's sha256 (a mirror or
proxy that changes files). The wheel
directory is read on every request, so tests may add wheels after the server has started. The
server binds 127.0.0.1 (or another loopback address given as ``host``, e.g. 127.0.0.2: a host
of its own for credentials), serves at most ``max_requests`` requests and stops at ``stop()``.
With ``tls`` (a server ``ssl.SSLContext``, e.g. from ``http_peers.make_certificates``) it
speaks HTTPS, and :attr:`IndexServer.base` is an ``https://`` URL. ``page_padding`` adds that
many bytes of whitespace to every PEP 691 page (a project with a page of that size).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import sys
import tarfile
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import parse_sdist_filename, parse_wheel_filename

from tests.tools.index_http import JSON_TYPE, IndexHandler, parse_range

if TYPE_CHECKING:
    import ssl

    from packaging.version import Version

__all__ = ["JSON_TYPE", "IndexServer", "LoggedRequest", "parse_range"]


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    path: str
    range: str | None
    status: int
    accept: str | None = None
    auth: str | None = None  # the Basic login the request carried, "user:password"


@dataclass(frozen=True, slots=True)
class _Dist:
    filename: str
    path: Path
    name: str
    sha256: str
    size: int
    mtime: float
    metadata: bytes
    requires_python: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (a dropped keep-alive connection) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _read_metadata(path: Path) -> bytes:
    if path.name.endswith(".tar.gz"):  # an sdist: its top-level PKG-INFO
        with tarfile.open(path) as tar:
            member = next(m for m in tar.getmembers() if m.name.count("/") == 1)
            top = member.name.split("/")[0]
            extracted = tar.extractfile(f"{top}/PKG-INFO")
            assert extracted is not None
            return extracted.read()
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            parts = member.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return zf.read(member)
    raise ValueError(f"{path.name}: no .dist-info/METADATA")


def _name_version(filename: str) -> tuple[str, Version]:
    if filename.endswith(".tar.gz"):
        return parse_sdist_filename(filename)
    return parse_wheel_filename(filename)[:2]


def _requires_python(metadata: bytes) -> str | None:
    head = metadata.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    match = re.search(r"^Requires-Python:\s*(.+?)\s*$", head, re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else None


class IndexServer:
    """Serve the wheels and sdists in *root* as a simple index at ``http://127.0.0.1:PORT/simple``."""

    def __init__(
        self,
        root: Path,
        *,
        pep658: bool = True,
        max_requests: int = 10_000,
        host: str = "127.0.0.1",
        shared: bool = False,
        tls: ssl.SSLContext | None = None,
    ):
        assert host.startswith("127."), "a test index binds a loopback address only"
        self.root = Path(root)
        self.host = host
        self.shared = shared
        self.tls = tls
        self.page_padding = 0
        self.auth: tuple[str, str] | None = None
        self.redirect_files: str | None = None
        self.pep658 = pep658
        self.json = True
        self.honour_range = True
        self.page_cache_control = "max-age=0"
        self.validators = True  # False: pages without ETag and Cache-Control (some mirrors)
        self.max_requests = max_requests
        self._requests: list[LoggedRequest] = []
        self.yanked: dict[str, str] = {}
        self.tampered: dict[str, bytes] = {}
        self._failures: list[tuple[int, bool, str, str | None]] = []
        self._stalls: list[tuple[str, float]] = []
        self._holds: list[str] = []
        self.held = threading.Event()  # set once a request is held by hold()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, float, int], _Dist] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> IndexServer:
        handler = type("Handler", (IndexHandler,), {"index": self})
        httpd = _Server((self.host, 0), handler)
        if self.tls is not None:
            httpd.socket = self.tls.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.02,), name="index-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The index URL to give pip, uv or cudaenv (no trailing slash)."""
        return f"{self.base}/simple"

    def file_url(self, filename: str) -> str:
        return f"{self.base}/files/{filename}"

    # -- test controls ---------------------------------------------------------------------
    def fail(
        self,
        count: int = 1,
        *,
        status: int = 500,
        drop: bool = False,
        path: str = "",
        retry_after: str | None = None,
    ) -> None:
        """Make the next *count* requests whose path starts with *path* fail; *retry_after* is
        sent as the ``Retry-After`` header (seconds, or an HTTP date)."""
        with self._lock:
            self._failures += [(status, drop, path, retry_after)] * count

    def stall(self, seconds: float, *, path: str = "") -> None:
        """Make every request whose path starts with *path* wait *seconds* before it is
        answered (a slow index or mirror); ``stall(0)`` ends all stalls."""
        with self._lock:
            self._stalls = [(path, seconds)] if seconds else []

    def _stall_for(self, path: str) -> float:
        with self._lock:
            return next((s for prefix, s in self._stalls if path.startswith(prefix)), 0.0)

    def hold(self, path: str) -> None:
        """Hold every later request whose path starts with *path*, unanswered, until
        :meth:`stop`: a client is then stuck mid-request (:attr:`held` is set)."""
        with self._lock:
            self._holds.append(path)

    def _hold(self, path: str) -> None:
        with self._lock:
            held = any(path.startswith(p) for p in self._holds)
        if held:
            self.held.set()
            self._release.wait(300)

    def tamper(self, filename: str, data: bytes) -> None:
        """Serve *data* as the wheel *filename* from now on, while its page keeps the sha256,
        size and METADATA of the file on disk."""
        with self._lock:
            self.tampered[filename] = data

    def yank(self, filename: str, reason: str = "") -> None:
        self.yanked[filename] = reason

    @property
    def requests(self) -> list[LoggedRequest]:
        """The request log, in the order the answers were written."""
        self._own_log()
        with self._lock:
            return list(self._requests)

    def clear_log(self) -> None:
        self._own_log()
        with self._lock:
            self._requests.clear()

    def count(self, path_prefix: str = "", *, method: str | None = None) -> int:
        """How many logged requests have a path starting with *path_prefix*."""
        return sum(
            1
            for r in self.requests
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        )

    def _own_log(self) -> None:
        assert not self.shared, (
            "the log of a server that tests share mixes their requests: give the test a server "
            "of its own (for the solve index: the own_solve_server fixture)"
        )

    def spent(self) -> bool:
        """Whether the request budget (``max_requests``) is spent."""
        with self._lock:
            return len(self._requests) >= self.max_requests

    # -- data ------------------------------------------------------------------------------
    def _take_failure(self, path: str) -> tuple[int, bool, str | None] | None:
        with self._lock:
            for i, (status, drop, prefix, retry_after) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[i]
                    return status, drop, retry_after
        return None

    def _log(self, **fields: object) -> None:
        entry = LoggedRequest(**fields)  # type: ignore[arg-type]
        with self._lock:
            self._requests.append(entry)

    def dists(self) -> list[_Dist]:
        out = []
        for path in sorted([*self.root.glob("*.whl"), *self.root.glob("*.tar.gz")]):
            st = path.stat()
            key = (path.name, st.st_mtime, st.st_size)
            dist = self._cache.get(key)
            if dist is None:
                data = path.read_bytes()
                metadata = _read_metadata(path)
                dist = _Dist(
                    filename=path.name,
                    path=path,
                    name=_name_version(path.name)[0],
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=len(data),
                    mtime=st.st_mtime,
                    metadata=metadata,
                    requires_python=_requires_python(metadata),
                )
                self._cache[key] = dist
            out.append(dist)
        return out

    def dist(self, filename: str) -> _Dist | None:
        return next((d for d in self.dists() if d.filename == filename), None)

    def _file_entry(self, d: _Dist) -> dict[str, object]:
        entry: dict[str, object] = {
            "filename": d.filename,
            "url": f"/files/{d.filename}",
            "hashes": {"sha256": d.sha256},
            "requires-python": d.requires_python,
            "size": d.size,
            "upload-time": datetime.fromtimestamp(d.mtime, timezone.utc)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z"),
            "yanked": _yanked_value(self.yanked.get(d.filename)),
        }
        if self.pep658:
            meta_hash = {"sha256": hashlib.sha256(d.metadata).hexdigest()}
            entry["core-metadata"] = meta_hash
            entry["data-dist-info-metadata"] = meta_hash
        return entry

    def project_json(self, name: str) -> bytes | None:
        dists = [d for d in self.dists() if d.name == name]
        if not dists:
            return None
        body = {
            "meta": {"api-version": "1.1"},
            "name": name,
            "files": [self._file_entry(d) for d in dists],
            "versions": sorted({str(_name_version(d.filename)[1]) for d in dists}),
        }
        return json.dumps(body).encode()[:-1] + b" " * self.page_padding + b"}"

    def project_html(self, name: str | None, files: str = "/files/") -> bytes | None:
        """The PEP 503 page of *name* (None: every file, a find-links page); hrefs start
        with *files*."""
        dists = [d for d in self.dists() if name is None or d.name == name]
        if not dists:
            return None
        links = []
        for d in dists:
            attrs = f'href="{files}{d.filename}#sha256={d.sha256}"'
            if d.requires_python:
                attrs += f' data-requires-python="{html.escape(d.requires_python)}"'
            if d.filename in self.yanked:
                attrs += f' data-yanked="{html.escape(self.yanked[d.filename])}"'
            if self.pep658:
                digest = hashlib.sha256(d.metadata).hexdigest()
                attrs += f' data-core-metadata="sha256={digest}"'
                attrs += f' data-dist-info-metadata="sha256={digest}"'
            links.append(f"    <a {attrs}>{d.filename}</a><br/>")
        page = (
            '<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" '
            f'content="1.1">\n    <title>Links for {name}</title>\n  </head>\n  <body>\n'
            f"    <h1>Links for {name}</h1>\n" + "\n".join(links) + "\n  </body>\n</html>\n"
        )
        return page.encode()

    def write_static(self, dest: Path) -> Path:
        """The index as a PEP 503 folder: ``dest/simple/NAME/index.html`` and ``dest/files``;
        returns ``dest/simple`` (give it as ``file://`` URL)."""
        import shutil

        (dest / "files").mkdir(parents=True, exist_ok=True)
        for d in self.dists():
            shutil.copyfile(d.path, dest / "files" / d.filename)
        for name in {d.name for d in self.dists()}:
            page = dest / "simple" / name / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_bytes(self.project_html(name, files="../../files/") or b"")
        return dest / "simple"

    def root_page(self, as_json: bool) -> bytes:
        names = sorted({d.name for d in self.dists()})
        if as_json:
            body = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
            return json.dumps(body).encode()
        links = "\n".join(f'    <a href="/simple/{n}/">{n}</a><br/>' for n in names)
        return f"<!DOCTYPE html>\n<html>\n  <body>\n{links}\n  </body>\n</html>\n".encode()


def _yanked_value(reason: str | None) -> bool | str:
    if reason is None:
        return False
    return reason or True
