"""A real package index on 127.0.0.1 that serves a directory of wheels, for functional tests.

The standard library's ``http.server`` speaks neither PEP 691 nor ``Range``, and the code under
test depends on both, so this handler implements what pip, uv and cudaenv's index client use:

- ``GET /simple/`` and ``/simple/<name>/``: PEP 691 JSON (api-version 1.1) when ``Accept`` asks
  for ``application/vnd.pypi.simple.v1+json``, PEP 503 HTML otherwise (``json=False`` forces
  HTML). File entries carry sha256, ``requires-python``, ``yanked``, ``size``, ``upload-time``
  and, when ``pep658`` is on, ``core-metadata`` / ``data-dist-info-metadata`` (PEP 658/714).
  Pages carry an ``ETag`` and ``Cache-Control: <page_cache_control>`` (``max-age=0``) and
  answer ``If-None-Match`` with 304.
- ``GET /files/<filename>``: the wheel, honouring single ``Range`` headers (``a-b``, ``a-``,
  ``-N``) with 206 + ``Content-Range`` or 416; ``ETag``/``Last-Modified`` with 304 on
  ``If-None-Match`` / ``If-Modified-Since``. ``honour_range=False`` ignores ``Range`` (200).
- ``GET /files/<filename>.metadata``: the wheel's ``METADATA`` when ``pep658`` is on, else 404.

Every request is logged (:attr:`IndexServer.requests`). :meth:`IndexServer.fail` makes the next
requests answer a status (500 by default) or drop the connection, for retry tests. The wheel
directory is read on every request, so tests may add wheels after the server has started. The
server only binds 127.0.0.1, serves at most ``max_requests`` requests and stops at ``stop()``.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import json
import re
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name, parse_wheel_filename

__all__ = ["IndexServer", "LoggedRequest"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    path: str
    range: str | None
    status: int
    accept: str | None = None


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


def _read_metadata(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            parts = member.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return zf.read(member)
    raise ValueError(f"{path.name}: no .dist-info/METADATA")


def _requires_python(metadata: bytes) -> str | None:
    head = metadata.split(b"\n\n", 1)[0].decode("utf-8", "replace")
    match = re.search(r"^Requires-Python:\s*(.+?)\s*$", head, re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else None


class IndexServer:
    """Serve the wheels in *root* as a simple index at ``http://127.0.0.1:PORT/simple``."""

    def __init__(self, root: Path, *, pep658: bool = True, max_requests: int = 10_000):
        self.root = Path(root)
        self.pep658 = pep658
        self.json = True
        self.honour_range = True
        self.page_cache_control = "max-age=0"
        self.max_requests = max_requests
        self.requests: list[LoggedRequest] = []
        self.yanked: dict[str, str] = {}
        self._failures: list[tuple[int, bool, str]] = []
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, float, int], _Dist] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> IndexServer:
        handler = type("Handler", (_Handler,), {"index": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.02,), name="index-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
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
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The index URL to give pip, uv or cudaenv (no trailing slash)."""
        return f"{self.base}/simple"

    def file_url(self, filename: str) -> str:
        return f"{self.base}/files/{filename}"

    # -- test controls ---------------------------------------------------------------------
    def fail(
        self, count: int = 1, *, status: int = 500, drop: bool = False, path: str = ""
    ) -> None:
        """Make the next *count* requests whose path starts with *path* fail."""
        with self._lock:
            self._failures += [(status, drop, path)] * count

    def yank(self, filename: str, reason: str = "") -> None:
        self.yanked[filename] = reason

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def count(self, path_prefix: str = "", *, method: str | None = None) -> int:
        """How many logged requests have a path starting with *path_prefix*."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method)
            )

    # -- data ------------------------------------------------------------------------------
    def _take_failure(self, path: str) -> tuple[int, bool] | None:
        with self._lock:
            for i, (status, drop, prefix) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[i]
                    return status, drop
        return None

    def _log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def dists(self) -> list[_Dist]:
        out = []
        for path in sorted(self.root.glob("*.whl")):
            st = path.stat()
            key = (path.name, st.st_mtime, st.st_size)
            dist = self._cache.get(key)
            if dist is None:
                data = path.read_bytes()
                metadata = _read_metadata(path)
                dist = _Dist(
                    filename=path.name,
                    path=path,
                    name=canonicalize_name(parse_wheel_filename(path.name)[0]),
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
            "versions": sorted({str(parse_wheel_filename(d.filename)[1]) for d in dists}),
        }
        return json.dumps(body).encode()

    def project_html(self, name: str) -> bytes | None:
        dists = [d for d in self.dists() if d.name == name]
        if not dists:
            return None
        links = []
        for d in dists:
            attrs = f'href="/files/{d.filename}#sha256={d.sha256}"'
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


def _wants_json(accept: str | None) -> bool:
    for part in (accept or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        if fields[0] != JSON_TYPE:
            continue
        q = next((f[2:] for f in fields[1:] if f.startswith("q=")), "1")
        try:
            return float(q) > 0
        except ValueError:
            return True
    return False


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """``(start, end_inclusive)``, ``None`` when unsatisfiable, ``False`` when not understood."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return False
    first, last = match.groups()
    if first == "":
        n = int(last)
        if n == 0 or size == 0:
            return None
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return False
    if start >= size:
        return None
    return start, end


class _Handler(BaseHTTPRequestHandler):
    index: IndexServer
    protocol_version = "HTTP/1.1"
    timeout = 30
    server_version = "cudaenv-test-index/1.0"

    def log_message(self, format: str, *args: object) -> None:  # silence stderr
        pass

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def _dispatch(self, *, head: bool) -> None:
        self._head = head
        path = unquote(urlsplit(self.path).path)
        self._path = path
        if len(self.index.requests) >= self.index.max_requests:
            self._send(503, b"request budget of this test server is spent\n")
            return
        failure = self.index._take_failure(path)
        if failure is not None:
            status, drop = failure
            if drop:
                self._record(0)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self._send(status, b"injected failure\n")
            return
        self._route(path)

    def _route(self, path: str) -> None:
        if path in ("/simple", "/simple/"):
            as_json = self.index.json and _wants_json(self.headers.get("Accept"))
            self._page(self.index.root_page(as_json), as_json)
            return
        match = re.fullmatch(r"/simple/([^/]+)/?", path)
        if match:
            self._project(match.group(1), path.endswith("/"))
            return
        match = re.fullmatch(r"/files/([^/]+)", path)
        if match:
            self._file(match.group(1))
            return
        self._send(404, b"not found\n")

    def _project(self, raw: str, slash: bool) -> None:
        name = canonicalize_name(raw)
        if raw != name or not slash:
            self._send(301, b"", {"Location": f"/simple/{name}/"})
            return
        as_json = self.index.json and _wants_json(self.headers.get("Accept"))
        body = self.index.project_json(name) if as_json else self.index.project_html(name)
        if body is None:
            self._send(404, b"no such project\n")
            return
        self._page(body, as_json)

    def _page(self, body: bytes, as_json: bool) -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        ctype = JSON_TYPE if as_json else "text/html; charset=utf-8"
        headers = {
            "Content-Type": ctype,
            "ETag": etag,
            "Vary": "Accept",
            "Cache-Control": self.index.page_cache_control,
        }
        if etag in _etags(self.headers.get("If-None-Match")):
            self._send(304, b"", headers)
            return
        self._send(200, body, headers)

    def _file(self, filename: str) -> None:
        if filename.endswith(".metadata"):
            dist = self.index.dist(filename.removesuffix(".metadata"))
            if dist is None or not self.index.pep658:
                self._send(404, b"not found\n")
                return
            self._send(200, dist.metadata, {"Content-Type": "application/octet-stream"})
            return
        dist = self.index.dist(filename)
        if dist is None:
            self._send(404, b"not found\n")
            return
        self._wheel(dist)

    def _wheel(self, dist: _Dist) -> None:
        headers = {
            "Content-Type": "application/octet-stream",
            "ETag": f'"{dist.sha256[:32]}"',
            "Last-Modified": email.utils.formatdate(dist.mtime, usegmt=True),
        }
        if self.index.honour_range:
            headers["Accept-Ranges"] = "bytes"
        if self._not_modified(dist, headers["ETag"]):
            self._send(304, b"", headers)
            return
        data = dist.path.read_bytes()
        header = self.headers.get("Range")
        if header is None or not self.index.honour_range:
            self._send(200, data, headers)
            return
        span = parse_range(header, len(data))
        if span is False:
            self._send(200, data, headers)
        elif span is None:
            headers["Content-Range"] = f"bytes */{len(data)}"
            self._send(416, b"", headers)
        else:
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            self._send(206, data[start : end + 1], headers)

    def _not_modified(self, dist: _Dist, etag: str) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag in _etags(inm) or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return int(dist.mtime) <= since
        return False

    def _record(self, status: int) -> None:
        self.index._log(
            LoggedRequest(
                method=self.command,
                path=self._path,
                range=self.headers.get("Range"),
                status=status,
                accept=self.headers.get("Accept"),
            )
        )

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self._record(status)
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self._head and status != 304:
            self.wfile.write(body)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {t.strip().removeprefix("W/") for t in header.split(",")}
