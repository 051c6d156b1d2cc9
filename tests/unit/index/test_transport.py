"""The HTTP client under the index client: bodies, keep-alive, limits, proxies and TLS, against
real servers on 127.0.0.1 (tests/tools/http_peers.py)."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from cudaenv.errors import IndexError_
from cudaenv.index import Index
from cudaenv.net.proxies import Proxies, UnusableProxy
from cudaenv.net.transport import CertificateError, Client, ConnectError, ProxyError, ReadError
from tests.tools.http_peers import BODY, Origin, Proxy, make_certificates

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def origin():
    server = Origin()
    yield server
    server.stop()


@pytest.fixture
def proxy():
    server = Proxy()
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/plain", "/gzip", "/deflate", "/raw-deflate", "/chunked"])
def test_bodies_are_decoded_and_connections_kept_alive(origin, path) -> None:
    client = Client()
    for _ in range(3):
        assert client.get(origin.url + path, {}).content == BODY
        streamed = client.get(origin.url + path, {}, stream=True)
        assert b"".join(streamed.iter_bytes(4096)) == BODY
    assert len({port for _, port, _ in origin.seen}) == 1  # one connection for all six
    sent = origin.seen[0][2]
    assert sent["Accept-Encoding"] == "gzip, deflate"
    assert sent["User-Agent"] == "cudaenv (index client)"
    client.close()


def test_a_body_left_unread_closes_its_connection(origin) -> None:
    client = Client()
    client.get(origin.url + "/plain", {}, stream=True).close()
    assert client.get(origin.url + "/plain", {"Accept-Encoding": "identity"}).content == BODY
    assert len({port for _, port, _ in origin.seen}) == 2
    assert origin.seen[1][2]["Accept-Encoding"] == "identity"


def test_a_connection_the_server_closed_is_not_reused(origin) -> None:
    client = Client()
    assert client.get(origin.url + "/hang-up-after", {}).content == b"bye"
    time.sleep(0.3)  # the server's close reaches the idle connection: it must not be reused
    assert client.get(origin.url + "/plain", {}).content == BODY
    assert len({port for _, port, _ in origin.seen}) == 2


def test_requests_wait_for_a_free_connection(origin) -> None:
    client = Client(connections=1)
    held = client.get(origin.url + "/plain", {}, stream=True)
    done: list[bytes] = []
    waiter = threading.Thread(target=lambda: done.append(client.get(origin.url, {}).content))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and not done  # the only connection is held
    held.close()
    waiter.join(10)
    assert done == [BODY]


@pytest.mark.parametrize(
    ("environ", "url", "through"),
    [
        ({}, "https://pypi.org/simple/", None),
        ({"HTTPS_PROXY": "http://p:1"}, "https://pypi.org/simple/", "http://p:1"),
        ({"HTTPS_PROXY": "p:1"}, "https://pypi.org/simple/", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1"}, "http://pypi.org/simple/", None),
        ({"ALL_PROXY": "http://a:1", "HTTP_PROXY": "http://h:1"}, "http://x.org/", "http://h:1"),
        ({"ALL_PROXY": "http://a:1"}, "https://x.org/", "http://a:1"),
        (
            {"all_proxy": "http://low:1", "ALL_PROXY": "http://UP:1"},
            "https://x.org/",
            "http://low:1",
        ),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "*"}, "https://x.org/", None),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "x.org"}, "https://x.org/", None),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "x.org"}, "https://files.x.org/", None),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "x.org"}, "https://tax.org/", "http://a:1"),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": ".x.org"}, "https://x.org/", "http://a:1"),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": ".x.org"}, "https://f.x.org/", None),
        ({"ALL_PROXY": "http://a:1", "no_proxy": "y.org, 10.0.0.1"}, "http://10.0.0.1/", None),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "x.org:8080"}, "https://x.org/", "http://a:1"),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "x.org:8080"}, "https://x.org:8080/", None),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "http://x.org"}, "https://x.org/", "http://a:1"),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "http://x.org"}, "http://x.org/", None),
        ({"ALL_PROXY": "http://a:1", "NO_PROXY": "localhost,::1"}, "http://[::1]:8/", None),
    ],
)
def test_the_proxy_for_a_url(environ, url, through) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    assert Proxies(environ).for_url(parts.scheme, parts.hostname or "", port) == through


@pytest.mark.parametrize("setting", ["socks5://127.0.0.1:1080", "https://proxy.example:3128"])
def test_a_proxy_the_client_cannot_use_is_one_sentence(setting, monkeypatch, tmp_path) -> None:
    with pytest.raises(UnusableProxy, match="not an http:// proxy"):
        Proxies({"HTTPS_PROXY": setting})
    monkeypatch.setenv("HTTPS_PROXY", setting.replace("127.0.0.1", "user:pw@127.0.0.1"))
    with Index("https://pypi.org/simple", cache_dir=tmp_path, backoff=0) as index:
        with pytest.raises(IndexError_) as e:
            index.project("anything")
    assert "not an http:// proxy" in e.value.message and "pw" not in e.value.message
    assert "NO_PROXY" in e.value.hint


def test_requests_go_through_the_proxy_of_the_environment(origin, proxy, monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    assert Client().get(origin.url + "/gzip", {}).content == BODY
    assert proxy.seen == [("GET", origin.url + "/gzip", None)]
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert Client().get(origin.url + "/plain", {}).content == BODY
    assert len(proxy.seen) == 1  # NO_PROXY: straight to the origin


def test_a_proxy_login_is_sent_and_a_refusal_is_an_error(origin, monkeypatch) -> None:
    guarded = Proxy(user="me", password="s3cret")
    try:
        monkeypatch.setenv("HTTP_PROXY", guarded.url("me:s3cret@"))
        assert Client().get(origin.url + "/plain", {}).content == BODY
        monkeypatch.setenv("HTTP_PROXY", guarded.url("me:wrong@"))
        assert Client().get(origin.url + "/plain", {}).status_code == 407
    finally:
        guarded.stop()


def test_a_closed_proxy_port_means_no_network(origin, monkeypatch, tmp_path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{closed}")
    with pytest.raises(ConnectError):
        Client().get(origin.url + "/plain", {})


@pytest.fixture
def tls(tmp_path):
    made = make_certificates(tmp_path)
    if made is None:
        pytest.skip("no openssl command on this machine to make a test certificate")
    ca, context = made
    server = Origin(context)
    yield server, ca
    server.stop()


def test_tls_trusts_ssl_cert_file_and_refuses_other_certificates(tls, monkeypatch) -> None:
    server, ca = tls
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    assert Client().get(server.url + "/gzip", {}).content == BODY
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("SSL_CERT_DIR", str(ca.parent / "no-such-folder"))
    with pytest.raises(CertificateError, match="CERTIFICATE_VERIFY_FAILED") as e:
        Client().get(server.url + "/plain", {})
    assert e.value.verify_code == 20  # unable to get local issuer certificate
    monkeypatch.delenv("SSL_CERT_DIR")
    with pytest.raises(CertificateError, match="CERTIFICATE_VERIFY_FAILED"):  # certifi's bundle
        Client().get(server.url + "/plain", {})


def test_tls_through_a_proxy_tunnel(tls, proxy, monkeypatch) -> None:
    server, ca = tls
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url())
    client = Client()
    assert client.get(server.url + "/chunked", {}).content == BODY
    assert client.get(server.url + "/plain", {}).content == BODY  # the same tunnel
    assert proxy.seen == [("CONNECT", f"127.0.0.1:{server.port}", None)]
    guarded = Proxy(user="me", password="pw")
    try:
        monkeypatch.setenv("HTTPS_PROXY", guarded.url("me:wrong@"))
        with pytest.raises(ProxyError, match="407"):
            Client().get(server.url + "/plain", {})
        monkeypatch.setenv("HTTPS_PROXY", guarded.url("me:pw@"))
        assert Client().get(server.url + "/plain", {}).content == BODY
    finally:
        guarded.stop()


def test_a_closed_client_sends_nothing(origin) -> None:
    client = Client()
    assert client.get(origin.url + "/plain", {}).content == BODY
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.get(origin.url + "/plain", {})
    assert len(origin.seen) == 1


def test_closing_the_client_cuts_a_request_in_progress(origin) -> None:
    client = Client()
    got: list[object] = []

    def read() -> None:
        try:
            got.append(client.get(origin.url + "/stall", {}).content)
        except Exception as e:  # what the cut request raised
            got.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(0.5)
    assert reader.is_alive()  # half the body came; the rest never will
    client.close()
    reader.join(5)
    assert not reader.is_alive() and isinstance(got[0], ReadError)


def test_a_gzip_bomb_is_decoded_a_bounded_piece_at_a_time_and_read_up_to_a_limit() -> None:
    from cudaenv.net.limits import BodyTooLarge
    from tests.tools.hostile import Hostile

    with Hostile("bomb", max_requests=4) as server:
        client = Client()
        resp = client.get(server.url + "/spacy/", {}, stream=True)
        pieces = [len(p) for p in itertools.islice(resp.iter_bytes(4096), 2000)]
        assert max(pieces) <= 4096 and sum(pieces) > 4 << 20  # far more than it was sent
        resp.close()
        with pytest.raises(BodyTooLarge):
            client.get(server.url + "/spacy/", {}, stream=True).read(1 << 20)
        client.close()


@pytest.mark.parametrize("behaviour", ["drip", "long-header"])
def test_a_request_ends_at_its_deadline_however_its_bytes_trickle(behaviour) -> None:
    """One byte every 0.1 s never trips a 5 s read timeout; the deadline cuts it anyway,
    in the status line or a header line that never ends."""
    from cudaenv.net.transport import DeadlineExceeded, MalformedResponse
    from tests.tools.hostile import Hostile

    with Hostile(behaviour, max_requests=2, interval=0.1) as server:
        started = time.monotonic()
        with pytest.raises((DeadlineExceeded, MalformedResponse)) as e:
            Client(timeout=5).get(server.url + "/x/", {}, deadline=time.monotonic() + 1)
        spent = time.monotonic() - started
    if behaviour == "drip":
        assert isinstance(e.value, DeadlineExceeded) and spent < 4.5
    else:  # sent at full speed: the header line's own bound comes first
        assert isinstance(e.value, MalformedResponse)
