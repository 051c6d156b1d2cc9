"""Credentials for private indexes, found as pip and uv find them, sent only where they belong.

Three sources, in this order: ``user:password@`` (or ``token@``) in an index or find-links URL,
which applies to every URL of the same scheme, host and port (uv's rule: a private index's
files usually live on its own host); a netrc file (``$NETRC``, else ``~/.netrc``), by host
name; and keyring, when the ``keyring`` package is installed (an optional import, never a
dependency), asked only after a server answered 401, because a keyring backend may be slow or
prompt. A URL on another host (a redirect to a CDN, a files host) gets credentials only if a
source has some for that host itself.

The installer gets the same credentials without a command line that ``ps`` would show:
:meth:`Credentials.netrc_text` is the netrc for the hosts of the locked wheels, which the
installer reads through ``NETRC`` from a private temporary file (:mod:`cudaenv.pipeline.install`).
"""

from __future__ import annotations

import base64
import logging
import netrc
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["Credentials", "Login", "realm", "without_auth"]

_log = logging.getLogger(__name__)
_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True, kw_only=True)
class Login:
    """A username and password, and where they were found (for messages, never the secret)."""

    username: str
    password: str = ""
    source: str = ""

    def header(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


def realm(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL: what credentials from a URL apply to."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _from_url(url: str) -> Login | None:
    userinfo, at, _host = urlsplit(url).netloc.rpartition("@")
    if not at:
        return None
    user, _colon, password = userinfo.partition(":")
    return Login(username=unquote(user), password=unquote(password), source="the URL")


class Credentials:
    """Which login to send with a request, by the request's URL."""

    def __init__(self, urls: Iterable[str] = (), *, environ: Mapping[str, str] | None = None):
        env = os.environ if environ is None else environ
        self._by_realm: dict[tuple[str, str, int | None], Login] = {}
        for url in urls:
            login = _from_url(url)
            if login is not None:
                self._by_realm.setdefault(realm(url), login)
        home = Path(env.get("HOME") or Path.home())
        self.netrc_path = Path(env["NETRC"]) if env.get("NETRC") else home / ".netrc"
        self._netrc: netrc.netrc | None = None
        self._netrc_read = False
        self._lock = threading.Lock()  # asked from many threads: the file is read by one
        self._from_keyring: dict[tuple[str, str, int | None], Login] = {}

    def for_url(self, url: str) -> Login | None:
        """The login known for *url*'s host without asking a keyring (one keyring gave for
        it already counts), else None."""
        key = realm(url)
        return self._by_realm.get(key) or self._from_netrc(key[1]) or self._from_keyring.get(key)

    def _from_netrc(self, host: str) -> Login | None:
        with self._lock:
            if not self._netrc_read:
                if self.netrc_path.is_file():
                    try:
                        self._netrc = netrc.netrc(str(self.netrc_path))
                    except (netrc.NetrcParseError, OSError) as e:
                        _log.warning("the netrc file %s was not read: %s", self.netrc_path, e)
                self._netrc_read = True
        entry = self._netrc.authenticators(host) if self._netrc and host else None
        if entry is None:
            return None
        login, _account, password = entry
        return Login(username=login or "", password=password or "", source=str(self.netrc_path))

    def from_keyring(self, url: str) -> Login | None:
        """A login from keyring for *url* (then its host), if keyring is installed and has
        one; kept for the URL's scheme, host and port, as pip keeps it."""
        found = self._keyring(url)
        if found is not None:
            self._from_keyring[realm(url)] = found
        return found

    def _keyring(self, url: str) -> Login | None:
        try:
            import keyring  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return None
        host = realm(url)[1]
        for service in (url, host):
            try:
                found = keyring.get_credential(service, None)
            except Exception as e:  # any backend failure: no login, said in the log
                _log.debug("keyring lookup for %s failed: %s", service, e)
                return None
            if found is not None:
                return Login(username=found.username, password=found.password, source="keyring")
        return None

    def netrc_text(self, urls: Iterable[str]) -> str:
        """A netrc with a login for each host of *urls* that has one ("" when none has)."""
        lines = []
        seen: set[str] = set()
        for url in urls:
            host = realm(url)[1]
            login = self.for_url(url)
            if host in seen or login is None:
                continue
            seen.add(host)
            lines.append(
                f"machine {host} login {_quoted(login.username)} password {_quoted(login.password)}"
            )
        return "".join(line + "\n" for line in lines)


def _quoted(value: str) -> str:
    """A netrc token: quoted when it holds spaces or quotes (Python's and curl's netrc read
    ``"..."`` with backslash escapes)."""
    if value and not any(c.isspace() or c in '"\\' for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def without_auth(url: str) -> str:
    """*url* without ``user:password@`` or ``token@`` (pip's ``remove_auth_from_url``: the
    userinfo ends at the last ``@`` of the netloc); any other URL unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL we can split: nothing to strip that we can find
        return url
    _userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    return urlunsplit(parts._replace(netloc=host))
