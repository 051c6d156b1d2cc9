"""Which proxy a request goes through: ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and
``NO_PROXY``, read as httpx read them (the index client used httpx before :mod:`.transport`).

Lowercase names win over uppercase ones (as urllib's ``getproxies``). A proxy is ``http://``
(``user:password@`` allowed; a bare ``host:port`` is taken as http); any other scheme is refused
with one sentence. ``NO_PROXY`` entries: ``*`` (no proxy at all), an IP address or ``localhost``
(that host), ``.example.com`` (its subdomains), ``example.com`` (it and its subdomains),
``host:port`` (that port only), ``scheme://host`` (that scheme and host only).
"""

from __future__ import annotations

import contextlib
import re
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    _Rule = Callable[[str, str, int], bool]  # (scheme, host, port) -> bypass the proxy

__all__ = ["Proxies", "UnusableProxy"]


class UnusableProxy(ValueError):
    """A proxy setting the index client cannot go through."""


class Proxies:
    """The proxy for a URL from ``*_PROXY`` and ``NO_PROXY``, as httpx reads them."""

    def __init__(self, environ: Mapping[str, str]):
        found: dict[str, str] = {}
        for name, value in environ.items():  # lowercase wins, as in urllib's getproxies()
            low = name.lower()
            if value and low.endswith("_proxy") and (name == low or low not in environ):
                found[low[:-6]] = value
        self.by_scheme: dict[str, str] = {}
        for scheme in ("http", "https", "all"):
            if setting := found.get(scheme):
                proxy = setting if "://" in setting else f"http://{setting}"
                if not proxy.lower().startswith("http://"):
                    raise UnusableProxy(
                        f"the proxy {_redacted(proxy)} ({scheme.upper()}_PROXY) is not an "
                        "http:// proxy, the only kind cudaenv's index client goes through"
                    )
                self.by_scheme[scheme] = proxy
        self.bypass = [_bypass_rule(h.strip()) for h in found.get("no", "").split(",")]
        if any(rule is None for rule in self.bypass):
            self.by_scheme = {}  # NO_PROXY=*

    def for_url(self, scheme: str, host: str, port: int) -> str | None:
        proxy = self.by_scheme.get(scheme) or self.by_scheme.get("all")
        if proxy is None:
            return None
        for rule in self.bypass:
            if rule is not None and rule(scheme, host.lower(), port):
                return None
        return proxy


def _bypass_rule(entry: str) -> _Rule | None:
    """A NO_PROXY entry as a test of (scheme, host, port); None for ``*``."""
    if entry == "*":
        return None
    if not entry:
        return _never
    scheme = ""
    if "://" in entry:
        scheme, entry = entry.split("://", 1)
    host, port = entry.lower(), 0
    if (m := re.fullmatch(r"(.*?):(\d+)", host)) and not _ipv6(host):
        host, port = m.group(1), int(m.group(2))
    host = host.strip("[]")
    if _ipv4(host) or _ipv6(host) or host == "localhost" or scheme:
        pattern = re.compile(re.escape(host))
    elif host.startswith("."):
        pattern = re.compile(r".+" + re.escape(host))  # subdomains only
    else:
        pattern = re.compile(r"(.+\.)?" + re.escape(host))  # the domain and its subdomains

    def rule(s: str, h: str, p: int) -> bool:
        return (
            (not scheme or s == scheme) and (not port or p == port) and bool(pattern.fullmatch(h))
        )

    return rule


def _never(_s: str, _h: str, _p: int) -> bool:
    return False


def _redacted(url: str) -> str:
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1***@", url, flags=re.IGNORECASE)


def _ipv4(host: str) -> bool:
    with contextlib.suppress(OSError):
        socket.inet_pton(socket.AF_INET, host)
        return True
    return False


def _ipv6(host: str) -> bool:
    with contextlib.suppress(OSError):
        socket.inet_pton(socket.AF_INET6, host.strip("[]"))
        return True
    return False
