"""The HTTP side of the test index: routing, content negotiation, Range and conditional GETs.

Split from ``index_server`` (which holds the served data and the test controls) to keep both
short. See that module's docstring for what is served.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

if TYPE_CHECKING:
    from tests.tools.index_server import IndexServer, _Dist

__all__ = ["JSON_TYPE", "IndexHandler", "parse_range"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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


class IndexHandler(BaseHTTPRequestHandler):
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
        if self.index.spent():
            self._send(503, b"request budget of this test server is spent\n")
            return
        if not self._authorized():
            return
        self.index._hold(path)
        failure = self.index._take_failure(path)
        if failure is not None:
            status, drop, retry_after = failure
            if drop:
                self._record(0)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            headers = {} if retry_after is None else {"Retry-After": retry_after}
            self._send(status, b"injected failure\n", headers)
            return
        stall = self.index._stall_for(path)
        if stall:
            time.sleep(stall)  # a slow index: the answer comes, late
        self._route(path)

    def _login(self) -> str | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            return base64.b64decode(header[6:]).decode()
        except ValueError:
            return "(not base64)"

    def _authorized(self) -> bool:
        wanted = self.index.auth
        if wanted is None or self._login() == f"{wanted[0]}:{wanted[1]}":
            return True
        self._send(401, b"login required\n", {"WWW-Authenticate": 'Basic realm="test index"'})
        return False

    def _route(self, path: str) -> None:
        if path in ("/links", "/links/"):
            self._send(200, self.index.project_html(None) or b"", {"Content-Type": "text/html"})
            return
        if path in ("/simple", "/simple/"):
            as_json = self.index.json and _wants_json(self.headers.get("Accept"))
            self._page(self.index.root_page(as_json), as_json)
            return
        match = re.fullmatch(r"/simple/([^/]+)/?", path)
        if match:
            self._project(match.group(1), path.endswith("/"))
            return
        match = re.fullmatch(r"/files/([^/]+)", path)
        if match and self.index.redirect_files:
            self._send(302, b"", {"Location": f"{self.index.redirect_files}{path}"})
            return
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
        headers = {"Content-Type": ctype, "Vary": "Accept"}
        if not self.index.validators:  # like some mirrors: no ETag, no caching headers, no 304
            self._send(200, body, headers)
            return
        headers |= {"ETag": etag, "Cache-Control": self.index.page_cache_control}
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
        data = self.index.tampered.get(dist.filename) or dist.path.read_bytes()
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
            method=self.command,
            path=self._path,
            range=self.headers.get("Range"),
            status=status,
            accept=self.headers.get("Accept"),
            auth=self._login(),
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
