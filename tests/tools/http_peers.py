"""Small real servers for the HTTP client's tests: an HTTP/1.1 origin (gzip, deflate, chunked,
keep-alive, closed connections), an HTTP proxy (absolute URLs and CONNECT tunnels, with a
login), and TLS certificates made with the ``openssl`` command. All on 127.0.0.1."""

from __future__ import annotations

import base64
import gzip
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["Origin", "Proxy", "make_certificates"]

BODY = b"".join(b"line %d of a page that compresses well\n" % i for i in range(3000))


class _OriginHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _OriginServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server.seen.append((path, self.client_address[1], dict(self.headers.items())))
        if path == "/gzip":
            self._send(gzip.compress(BODY), {"Content-Encoding": "gzip"})
        elif path == "/deflate":
            self._send(zlib.compress(BODY), {"Content-Encoding": "deflate"})
        elif path == "/raw-deflate":
            raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            self._send(raw.compress(BODY) + raw.flush(), {"Content-Encoding": "deflate"})
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(BODY), 7000):
                part = BODY[start : start + 7000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/stall":  # half the body, then nothing until the server stops
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: len(BODY) // 2])
            self.wfile.flush()
            self.server.stopping.wait(30)
        elif path == "/hang-up-after":  # answers, then closes without saying so (an idle timeout)
            self._send(b"bye")
            self.close_connection = True
        else:
            self._send(BODY)

    def _send(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _OriginServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _OriginHandler)
        self.seen: list[tuple[str, int, dict[str, str]]] = []
        self.stopping = threading.Event()
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-test is not worth a traceback


class Origin:
    """An HTTP/1.1 server (TLS when given a server context); ``seen`` logs (path, client
    port, headers) of every request: one client port, one connection."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self._server = _OriginServer(context)
        self.port = self._server.server_address[1]
        self.url = f"{'https' if context else 'http'}://127.0.0.1:{self.port}"
        self.seen = self._server.seen
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        head = self.rfile.readline().decode("latin-1").split()
        headers: dict[str, str] = {}
        while (line := self.rfile.readline().decode("latin-1").strip()) != "":
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        self.server.seen.append((head[0], head[1], headers.get("proxy-authorization")))
        wanted = self.server.login
        if wanted and headers.get("proxy-authorization") != wanted:
            self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            return
        if head[0] == "CONNECT":
            host, port = head[1].rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(upstream)
            return
        target = urlsplit(head[1])
        upstream = socket.create_connection((target.hostname or "", target.port or 80))
        lines = [f"GET {target.path or '/'} HTTP/1.1", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items() if k not in ("connection",)]
        upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self._pipe(upstream)

    def _pipe(self, upstream: socket.socket) -> None:
        client = self.connection
        with upstream:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 5)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, login: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: list[tuple[str, str, str | None]] = []
        self.login = login


class Proxy:
    """An HTTP proxy: ``seen`` logs (method, target, Proxy-Authorization) of each request;
    with ``user``/``password``, requests without that Basic login get a 407."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        login = None
        if user is not None:
            login = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self._server = _ProxyServer(login)
        self.port = self._server.server_address[1]
        self.seen = self._server.seen
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def make_certificates(folder: Path, *, days: int = 2) -> tuple[Path, ssl.SSLContext] | None:
    """A CA (its certificate file) and a server context for 127.0.0.1 signed by it, valid
    for *days* (-1: expired since it was made); None when this machine has no ``openssl``
    command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-days",
        str(days), "-CAcreateserial", "-extfile", "san.ext", "-out", "server.pem")  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return folder / "ca.pem", context
