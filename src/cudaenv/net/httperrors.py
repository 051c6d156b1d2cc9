"""What can go wrong with one HTTP exchange, in the terms of the index client's transport.

:class:`TransportError` and its subclasses (named like httpx's, so that a message reads
``ConnectError: ...``) are what :mod:`.transport` raises; :mod:`.http` decides which are worth
a retry (a broken connection, a silence) and which are not (a certificate that does not
verify, an answer that is not HTTP, a request past its deadline). No imports: the layers above
name these classes without loading ``http.client``.
"""

from __future__ import annotations

__all__ = [
    "CertificateError",
    "ConnectError",
    "ConnectTimeout",
    "DeadlineExceeded",
    "InvalidURL",
    "MalformedResponse",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "TLSError",
    "TransportError",
]


class TransportError(Exception):
    """The request did not get a whole answer (connection, TLS, timeout, protocol)."""


class ConnectError(TransportError): ...


class ConnectTimeout(TransportError): ...


class ReadTimeout(TransportError): ...


class ReadError(TransportError): ...


class RemoteProtocolError(TransportError): ...


class ProxyError(TransportError): ...


class DeadlineExceeded(TransportError):
    """The request was still going at its deadline (a trickle, a stall): it was cut."""


class MalformedResponse(TransportError):
    """The server answered with something that is not HTTP (a bad status line, a header line
    without end, too many headers)."""


class TLSError(TransportError):
    """The TLS handshake failed for a reason a retry does not change (the server speaks no
    TLS on that port, no protocol in common)."""


class CertificateError(TLSError):
    """The server's certificate does not verify: ``verify_code`` and ``verify_message`` are
    OpenSSL's (20 "unable to get local issuer certificate", 62 "Hostname mismatch...", 10
    "certificate has expired")."""

    def __init__(self, message: str, *, verify_code: int, verify_message: str) -> None:
        super().__init__(message)
        self.verify_code, self.verify_message = verify_code, verify_message


class InvalidURL(ValueError):
    """A URL no request can be sent to (no host, an unknown scheme or proxy scheme)."""
