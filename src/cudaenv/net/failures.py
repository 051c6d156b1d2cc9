"""The sentences for an index that answers wrongly: too much, too slowly, not HTTP, untrusted.

Each is one :class:`~cudaenv.errors.IndexError_` that names the cause and the setting that
changes the outcome, never "check the network" where the network is fine: a body past its
limit names the limit and the variable that raises it; a request past its time names both
timeouts and ``CUDAENV_HTTP_TIMEOUT``; a certificate that does not verify names what cudaenv
trusts (``SSL_CERT_FILE``, ``SSL_CERT_DIR``, else certifi's bundle) and where pip and uv, which
install what cudaenv locks, take the same CA from (pip's ``cert``, uv's ``SSL_CERT_FILE`` or
``--native-tls``). Used by :mod:`.http`, :mod:`cudaenv.index.pages` and
:mod:`cudaenv.index.metadata`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cudaenv.errors import IndexError_
from cudaenv.net.limits import PAGE_SETTING, TIMEOUT_SETTING, size_text

if TYPE_CHECKING:
    from cudaenv.net.httperrors import TLSError
    from cudaenv.net.limits import Limits

__all__ = [
    "fatal",
    "malformed",
    "page_too_large",
    "redirects",
    "slow_hint",
    "too_slow",
    "untrusted",
]

_INDEX_HINT = (
    "check that --index-url names a package index (PEP 503/691 simple API), and the proxy "
    "settings HTTP_PROXY/HTTPS_PROXY"
)
# OpenSSL's X509_V_ERR_* codes (x509_vfy.h): expired, not yet valid, host name mismatch
_EXPIRED, _NOT_YET, _HOSTNAME = 10, 9, 62


def fatal(e: Exception, index: str, url: str, what: str, limits: Limits) -> IndexError_ | None:
    """The error for a transport failure no retry can change (a TLS handshake that failed,
    an answer that is not HTTP, a request past its deadline); None for one worth a retry."""
    from urllib.parse import urlsplit

    from cudaenv.net.httperrors import DeadlineExceeded, MalformedResponse, TLSError

    if isinstance(e, TLSError):
        parts = urlsplit(url)
        return untrusted(index, f"{parts.hostname}:{parts.port or 443}", e)
    if isinstance(e, MalformedResponse):
        return malformed(index, what, str(e))
    if isinstance(e, DeadlineExceeded):
        return too_slow(index, what, limits)
    return None


def slow_hint(problem: str, limits: Limits) -> str:
    """What to add to "could not reach the index" when its last problem was a timeout."""
    if not problem.startswith(("ConnectTimeout", "ReadTimeout")):
        return ""
    return f"; if the index is only slow, wait longer with {TIMEOUT_SETTING}={2 * limits.timeout:g}"


def page_too_large(index: str, what: str, url: str, limits: Limits) -> IndexError_:
    """A project page whose decoded body is past the page limit."""
    mib = limits.page / (1 << 20)
    more = f"{max(2 * mib, 1):.4g}".rstrip(".")
    return IndexError_(
        f"the package index at {index} sent a page for {what} larger than "
        f"{size_text(limits.page)} decoded ({url}): that is the most cudaenv reads of a "
        f"project page ({PAGE_SETTING})",
        hint=f"if the index's pages really are that large, raise the limit: {PAGE_SETTING}="
        f"{more}; else the index is broken or hostile: use another with --index-url",
    )


def too_slow(index: str, what: str, limits: Limits, *, waited: float | None = None) -> IndexError_:
    """A request that did not get its whole answer in time (a silence, or a trickle)."""
    spent = limits.total if waited is None else waited
    return IndexError_(
        f"the package index at {index} did not send {what} whole within {spent:g} s (cudaenv "
        f"waits {limits.timeout:g} s for the next byte and {limits.total:g} s for one request, "
        "its retries included)",
        hint=f"if the index is only slow, wait longer with {TIMEOUT_SETTING}="
        f"{2 * limits.timeout:g}; else {_INDEX_HINT}",
    )


def malformed(index: str, what: str, problem: str) -> IndexError_:
    """An answer that is not HTTP (no retry: the same server sends the same)."""
    said = " ".join(problem.split())  # a status line quoted with its line end
    return IndexError_(
        f"the server at {index} did not answer {what} in HTTP ({said})", hint=_INDEX_HINT
    )


def redirects(index: str, url: str, hops: int) -> IndexError_:
    return IndexError_(
        f"the package index at {index} redirects in a loop: more than {hops} redirects from {url}",
        hint=_INDEX_HINT,
    )


def untrusted(index: str, host: str, e: TLSError) -> IndexError_:
    """A TLS handshake that failed: the certificate (which setting fixes it), or TLS itself."""
    from cudaenv.net.httperrors import CertificateError

    if not isinstance(e, CertificateError):
        return IndexError_(
            f"the TLS handshake with {host} failed ({e}): the server does not speak TLS "
            f"there as the package index at {index} should",
            hint="check the scheme and port of --index-url (https:// for TLS, http:// for "
            "plain HTTP)",
        )
    said = e.verify_message
    where = f"the TLS certificate of {host} (the package index at {index})"
    if e.verify_code == _HOSTNAME:
        return IndexError_(
            f"{where} is not issued for that name ({said})",
            hint="name the index by a host name its certificate holds in --index-url, or have "
            "its certificate reissued for this name",
        )
    if e.verify_code in (_EXPIRED, _NOT_YET):
        return IndexError_(
            f"{where} is not valid now ({said})",
            hint="the index's operator must renew its certificate; if it is valid, this "
            "machine's clock is wrong (check it with `date`)",
        )
    return IndexError_(f"{where} is not trusted ({said}); {_trusted()}", hint=_CA_HINT)


_CA_HINT = (
    "if the index's certificate is signed by a private CA, point SSL_CERT_FILE at that CA's "
    "certificate (SSL_CERT_FILE=/path/to/ca.pem) or SSL_CERT_DIR at a folder of them: cudaenv "
    "and uv read both; pip reads the same file from its `cert` setting (PIP_CERT=/path/to/ca.pem),"
    " and uv can take the system's store instead with --native-tls"
)


def _trusted() -> str:
    """What cudaenv trusts now (as transport._ssl_context chooses)."""
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return f"cudaenv trusts the CAs in SSL_CERT_FILE={cafile}"
    if capath := os.environ.get("SSL_CERT_DIR"):
        return f"cudaenv trusts the CAs in SSL_CERT_DIR={capath}"
    return "cudaenv trusts certifi's CA bundle (SSL_CERT_FILE and SSL_CERT_DIR are not set)"
