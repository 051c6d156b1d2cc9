"""A private index that wants a login: credentials from the URL or netrc, sent only to their
host, never written into a lock, handed to the installer without a command line.

The index is the real test server on 127.0.0.1 with HTTP Basic auth on; a second server on
127.0.0.2 (another host on Linux's loopback) stands for a files host the index redirects to.
Its request log records the login every request carried.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from cudaenv import lock
from tests.functional.solve_index import own_solve_server, solve_server  # noqa: F401  (fixtures)
from tests.functional.test_install import resolution_of
from tests.functional.test_solve import PLATFORM
from tests.tools.index_server import IndexServer
from tests.tools.pins import pin_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REQUEST = ("--spacy", "3.7", "--cpu", "--python", "3.11", "--platform", PLATFORM)
LOGIN = ("alice", "s3cret-Pa55")


def _with_login(url: str, user: str = LOGIN[0], password: str = LOGIN[1]) -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


@pytest.fixture
def private(own_solve_server: IndexServer) -> IndexServer:  # noqa: F811
    """The solve index on a server of the test's own (its log holds this test's requests
    only), wanting alice's login for every request."""
    own_solve_server.auth = LOGIN
    return own_solve_server


@pytest.fixture
def netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "netrc"
    monkeypatch.setenv("NETRC", str(path))
    return path


def _solve(cli, url: str, tmp_path: Path, *more: str):
    cache = str(tmp_path / "cache")
    return cli("solve", *REQUEST, "--index-url", url, "--cache-dir", cache, *more)


def test_credentials_in_the_url_are_sent_and_never_shown(private, tmp_path, cli) -> None:
    r = _solve(cli, _with_login(private.url), tmp_path, "--json")
    assert r.code == 0, r.err
    assert private.requests and {q.auth for q in private.requests} == {"alice:s3cret-Pa55"}
    assert private.count("/files/")  # METADATA, on the same host: the same login
    assert "s3cret" not in r.out + r.err
    assert {p["index"] for p in json.loads(r.out)["packages"]} == {private.url}


def test_credentials_from_netrc(private, netrc, tmp_path, cli) -> None:
    netrc.write_text(f"machine 127.0.0.1 login {LOGIN[0]} password {LOGIN[1]}\n")
    netrc.chmod(0o600)
    r = _solve(cli, private.url, tmp_path)
    assert r.code == 0, r.err
    assert {q.auth for q in private.requests} == {"alice:s3cret-Pa55"}


def test_no_credentials_is_a_clear_error_whose_hint_works(private, netrc, tmp_path, cli) -> None:
    r = _solve(cli, private.url, tmp_path)
    assert r.code == 2
    assert "answered HTTP 401" in r.err and "wants credentials" in r.err
    assert "Traceback" not in r.err and "check the network" not in r.err
    hint = next(line for line in r.err.splitlines() if line.startswith("hint:"))
    assert f"machine 127.0.0.1 login USER password TOKEN` to {netrc}" in hint
    assert "--index-url http://USER:TOKEN@127.0.0.1:" in hint and "keyring set" in hint
    line = hint.split("`")[1].replace("USER", LOGIN[0]).replace("TOKEN", LOGIN[1])
    as_json = json.loads(_solve(cli, private.url, tmp_path, "--json").out)["error"]
    assert as_json["reference"] == "index-credentials" and as_json["hint"] in hint
    netrc.write_text(line + "\n")  # the hint, followed
    netrc.chmod(0o600)
    assert _solve(cli, private.url, tmp_path).code == 0


@pytest.mark.parametrize("where", ["url", "netrc"])
def test_wrong_credentials_are_a_clear_error(private, netrc, tmp_path, cli, where) -> None:
    url = private.url
    if where == "url":
        url = _with_login(url, password="Bad-Pa55")
    else:
        netrc.write_text("machine 127.0.0.1 login alice password Bad-Pa55\n")
        netrc.chmod(0o600)
    r = _solve(cli, url, tmp_path)
    assert r.code == 2
    source = "the URL" if where == "url" else str(netrc)
    assert f"refused the credentials for 127.0.0.1 from {source}" in r.err
    assert "Bad-Pa55" not in r.err and "Traceback" not in r.err


def _memory_keyring(service: str, username: str, password: str):
    """A keyring backend (keyring's own base class) holding one login in memory: keyring
    asks it exactly as it asks the system's keychain."""
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.entries = {(service, username): password}

        def get_password(self, service: str, username: str) -> str | None:
            return self.entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.entries[service, username] = password

        def delete_password(self, service: str, username: str) -> None:
            self.entries.pop((service, username), None)

        def get_credential(self, service: str, username: str | None):
            from keyring.credentials import SimpleCredential

            for (kept, user), secret in self.entries.items():
                if kept == service and username in (None, user):
                    return SimpleCredential(user, secret)
            return None

    return Memory()


def test_a_401_asks_keyring_for_the_host(private, netrc, tmp_path, cli) -> None:
    keyring = pytest.importorskip("keyring", reason="keyring is optional; not installed here")
    before = keyring.get_keyring()
    keyring.set_keyring(_memory_keyring("127.0.0.1", *LOGIN))  # `keyring set 127.0.0.1 alice`
    try:
        r = _solve(cli, private.url, tmp_path)
    finally:
        keyring.set_keyring(before)
    assert r.code == 0, r.err
    # The log is in the order the answers were written, which concurrent reads reorder: no
    # "the first request" here.
    ours = private.requests
    assert any((q.status, q.auth) == (401, None) for q in ours)  # keyring: only after a 401
    answered = [q for q in ours if q.status != 401]
    assert answered and {q.auth for q in answered} == {"alice:s3cret-Pa55"}
    assert all(q.auth is None for q in ours if q.status == 401)


@pytest.fixture
def files_host(private: IndexServer, tmp_path: Path) -> Iterator[IndexServer]:
    """A second host (127.0.0.2) serving the same files; the private index redirects there."""
    with IndexServer(private.root, host="127.0.0.2") as other:
        private.redirect_files = other.base
        yield other


def test_credentials_never_follow_a_redirect_to_another_host(
    private, files_host, netrc, tmp_path, cli
) -> None:
    netrc.write_text(f"machine 127.0.0.1 login {LOGIN[0]} password {LOGIN[1]}\n")
    netrc.chmod(0o600)
    for n, url in enumerate((_with_login(private.url), private.url)):  # the URL, then netrc
        files_host.clear_log()
        r = _solve(cli, url, tmp_path / str(n))
        assert r.code == 0, r.err
        assert files_host.count("/files/") and {q.auth for q in files_host.requests} == {None}
        assert private.count("/files/") and all(
            q.status == 302 for q in private.requests if q.path.startswith("/files/")
        )


def test_a_redirect_target_gets_only_its_own_netrc_login(
    private, files_host, netrc, tmp_path, cli
) -> None:
    netrc.write_text(
        f"machine 127.0.0.1 login {LOGIN[0]} password {LOGIN[1]}\n"
        "machine 127.0.0.2 login bob password files-only\n"
    )
    netrc.chmod(0o600)
    r = _solve(cli, private.url, tmp_path)
    assert r.code == 0, r.err
    assert {q.auth for q in files_host.requests} == {"bob:files-only"}
    assert {q.auth for q in private.requests} == {"alice:s3cret-Pa55"}


# -- the installer -------------------------------------------------------------------------


@pytest.fixture
def private_wheels(make_nvidia_wheel, local_index) -> Iterator[IndexServer]:
    make_nvidia_wheel("nvidia-cuda-runtime-cu12", "12.2.140", libs=["libcudart.so.12"])
    local_index.auth = LOGIN
    yield local_index


@pytest.mark.parametrize("given", ["netrc", "index-url"])
def test_uv_installs_from_a_private_index_without_credentials_on_a_command_line(
    private_wheels, netrc, tmp_path, monkeypatch, cli, given
) -> None:
    """netrc: the user's own netrc has the login. index-url: only the index URL of the
    user's settings has it (a lock never does): uv gets it through a private netrc file that
    is gone afterwards."""
    wheel = next(private_wheels.root.glob("*.whl"))
    resolution = resolution_of(pin_for(wheel, private_wheels))
    lock_file = lock.write(resolution, tmp_path / "pylock.toml", knowledge_version="t")
    assert "s3cret" not in lock_file.read_text()
    if given == "netrc":
        netrc.write_text(f"machine 127.0.0.1 login {LOGIN[0]} password {LOGIN[1]}\n")
        netrc.chmod(0o600)
    else:
        monkeypatch.setenv("PIP_INDEX_URL", _with_login(private_wheels.url))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))  # a cold cache: uv asks
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    prefix = tmp_path / "env"
    r = cli("create", "--from", str(lock_file), "-p", str(prefix), "--no-smoke", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["installer"] == "uv"
    downloads = [q for q in private_wheels.requests if q.path == f"/files/{wheel.name}"]
    assert downloads and downloads[-1].status == 200 and downloads[-1].auth == "alice:s3cret-Pa55"
    assert list((tmp_path / "tmp").iterdir()) == []  # the private netrc went with its folder
    assert "s3cret" not in (prefix / "pylock.toml").read_text()


def test_a_private_netrc_is_readable_by_its_owner_only(tmp_path, make_wheel) -> None:
    from cudaenv.net.auth import Credentials
    from cudaenv.pipeline.install import _with_netrc

    creds = Credentials(["https://alice:pw@private.example/simple"], environ={"HOME": "/none"})
    assert _with_netrc(tmp_path, resolution_of(), creds) is None  # no wheel there: no file
    pin = pin_for(make_wheel("alpha", "1.0"), _Host("https://private.example"))
    env = _with_netrc(tmp_path, resolution_of(pin), creds)
    assert env is not None and env["NETRC"] == str(tmp_path / "netrc")
    assert (tmp_path / "netrc").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "netrc").read_text() == "machine private.example login alice password pw\n"
    assert os.environ.get("NETRC") != env["NETRC"]


class _Host:
    """Where :func:`pin_for` says a wheel is served."""

    def __init__(self, base: str) -> None:
        self.base = base

    def file_url(self, name: str) -> str:
        return f"{self.base}/files/{name}"
