"""A broken or hostile index: ``cudaenv solve`` stays bounded in memory and time, and says why.

Each case runs the real CLI in a child process (measured from a small fresh Python,
tests/tools/measured.py) against a real server on 127.0.0.1 that answers every request
wrongly (tests/tools/hostile.py), or a real index over TLS that cudaenv must not trust. Each
asserts the exit code, the sentence, the peak memory of the child, its wall time within
generous bounds, that the server was asked a bounded number of times, and that nothing of the
answers was left in the cache. The limits are made small through their settings
(``CUDAENV_MAX_PAGE_MIB=1``, ``CUDAENV_HTTP_TIMEOUT=1``: a request may take 4 s) so that the
suite stays fast, except for the gzip bomb, which meets the real 256 MiB default.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import pytest

from tests.functional.solve_index import build_index
from tests.tools.hostile import Hostile
from tests.tools.http_peers import make_certificates
from tests.tools.index_server import IndexServer
from tests.tools.measured import Measured, run_measured

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SOLVE = ("solve", "--spacy", "3.7", "--cpu", "--python", "3.11")
SMALL = {"CUDAENV_MAX_PAGE_MIB": "1", "CUDAENV_HTTP_TIMEOUT": "1"}
_CLEARED = ("PROXY", "PIP_", "UV_", "SSL_CERT_", "CUDAENV_")


def _environ(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not any(p in k.upper() for p in _CLEARED)}
    return {**env, **more}


def solve(
    tmp_path: Path, url: str, *, env: dict[str, str], seconds: int = 90, verbose: bool = False
) -> Measured:
    """``cudaenv solve --spacy 3.7 --cpu`` against *url*, measured (``verbose``: with -vv,
    which logs every retry)."""
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "cudaenv", *(["-vv"] if verbose else []), *SOLVE]
    cmd += ["--index-url", url, "--cache-dir", str(cache)]
    run = run_measured(cmd, env=env, cwd=tmp_path, log=tmp_path / "log", seconds=seconds)
    assert verbose or "Traceback" not in run.output, run.output  # -vv shows the error's
    return run


def _line(output: str, prefix: str) -> str:
    return next((ln for ln in output.splitlines() if ln.startswith(prefix)), "")


def _cache_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


CASES = [
    # behaviour, the sentence, at most this many seconds (generous: shared CPUs)
    (
        "endless",
        "sent a page for the project 'spacy' larger than 1 MiB decoded",
        "raise the limit: CUDAENV_MAX_PAGE_MIB=2",
        30,
    ),
    (
        "drip",
        "did not send the project 'spacy' whole within 4 s",
        "wait longer with CUDAENV_HTTP_TIMEOUT=2",
        40,
    ),
    (
        "short",
        "did not send the project 'spacy' whole within 4 s",
        "CUDAENV_HTTP_TIMEOUT=2",
        40,
    ),
    (
        "silent",
        "did not send the project 'spacy' whole within 4 s",
        "CUDAENV_HTTP_TIMEOUT=2",
        40,
    ),
    (
        "bad-status",
        "did not answer the project 'spacy' in HTTP (BadStatusLine: HTTP/1.1 two hundred OK)",
        "check that --index-url names a package index",
        30,
    ),
    (
        "long-header",
        "did not answer the project 'spacy' in HTTP (LineTooLong: got more than 65536 bytes",
        "check that --index-url names a package index",
        30,
    ),
    (
        "redirect-loop",
        "redirects in a loop: more than 10 redirects from",
        "check that --index-url names a package index",
        30,
    ),
]


@pytest.mark.parametrize(("behaviour", "said", "hint", "seconds"), CASES, ids=[c[0] for c in CASES])
def test_a_hostile_index_is_one_sentence_in_bounded_time_and_memory(
    tmp_path: Path, behaviour: str, said: str, hint: str, seconds: int
) -> None:
    with Hostile(behaviour, max_requests=1000, max_seconds=60) as server:
        run = solve(tmp_path, server.url, env=_environ(**SMALL))
        asked = server.requests
    assert run.code == 2, run.output
    assert said in _line(run.output, "error: ") and hint in _line(run.output, "hint: ")
    assert run.output.count("error: ") == 1
    assert run.wall_s < seconds
    assert run.peak_mib < 200, f"peak {run.peak_mib:.0f} MiB"
    assert asked <= 1000
    assert _cache_files(tmp_path) == []


def test_a_proxy_that_accepts_and_says_nothing_is_a_timeout(tmp_path: Path) -> None:
    with Hostile("silent", max_seconds=60) as proxy, Hostile("bad-status") as index:
        run = solve(tmp_path, index.url, env=_environ(**SMALL, HTTP_PROXY=proxy.proxy))
        assert index.requests == 0 and proxy.requests > 0  # everything went to the proxy
    assert run.code == 2, run.output
    assert "did not send the project 'spacy' whole within 4 s" in run.output
    assert run.wall_s < 40
    assert _cache_files(tmp_path) == []


def test_the_gzip_bomb_meets_the_default_limit_with_memory_far_below_a_gigabyte(
    tmp_path: Path,
) -> None:
    """Every page is 2 MB of gzip that expands to 2 GiB. Pages past 4 MiB are read one at a
    time, so the peak is one 256 MiB limit plus 4 MiB per connection (16), not 16 limits:
    before, the same solve grew until the kernel killed it."""
    with Hostile("bomb", max_requests=200, max_seconds=60) as server:
        run = solve(tmp_path, server.url, env=_environ())
    assert run.code == 2, run.output
    assert (
        "sent a page for the project 'spacy' larger than 256 MiB decoded "
        f"({server.url}/spacy/): that is the most cudaenv reads of a project page "
        "(CUDAENV_MAX_PAGE_MIB)"
    ) in run.output
    print(f"gzip bomb: peak {run.peak_mib:.0f} MiB, {run.wall_s:.1f} s")
    assert run.peak_mib < 512, f"peak {run.peak_mib:.0f} MiB"
    assert run.wall_s < 60
    assert _cache_files(tmp_path) == []


# -- a real index: the hints followed, TLS --------------------------------------------------


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_index(
        tmp_path_factory.mktemp("spacy-wheels"), projects=["spacy", "thinc", "numpy"]
    )


@pytest.fixture
def padded(wheels: Path) -> Iterator[IndexServer]:
    """The index with 1.5 MiB of whitespace in every page."""
    server = IndexServer(wheels)
    server.page_padding = 3 << 19
    with server:
        yield server


def test_a_page_over_the_limit_then_the_hint_followed(tmp_path: Path, padded: IndexServer) -> None:
    run = solve(tmp_path, padded.url, env=_environ(CUDAENV_MAX_PAGE_MIB="1"))
    assert run.code == 2, run.output
    assert "sent a page for the project 'spacy' larger than 1 MiB decoded" in run.output
    assert "hint: if the index's pages really are that large, raise the limit: " in run.output
    kept = _cache_files(tmp_path)  # the other projects' "no such project" answers, no more
    assert all(p.stat().st_size < 1024 and ".tmp-" not in p.name for p in kept), kept
    assert not [p for p in kept if p.name.startswith("spacy")]
    followed = solve(tmp_path, padded.url, env=_environ(CUDAENV_MAX_PAGE_MIB="2"))
    assert followed.code == 0, followed.output
    assert "spacy" in followed.output and "3.7.5" in followed.output


@pytest.mark.parametrize("value", ["lots", "0", "-3"])
def test_a_bad_setting_is_a_usage_error(tmp_path: Path, padded: IndexServer, value: str) -> None:
    run = solve(tmp_path, padded.url, env=_environ(CUDAENV_MAX_PAGE_MIB=value))
    assert run.code == 2
    assert f"error: CUDAENV_MAX_PAGE_MIB={value!r} is not a positive number" in run.output


def test_a_slow_index_and_the_timeout_hint_followed(tmp_path: Path, wheels: Path) -> None:
    """An index that waits 1.5 s before each answer: too slow for CUDAENV_HTTP_TIMEOUT=1,
    and what the hint says (CUDAENV_HTTP_TIMEOUT=2) lets the same solve through."""
    with IndexServer(wheels) as server:
        server.stall(1.5, path="/simple/spacy/")
        run = solve(tmp_path, server.url, env=_environ(CUDAENV_HTTP_TIMEOUT="1"))
        assert run.code == 2, run.output
        assert "hint: if the index is only slow, wait longer with CUDAENV_HTTP_TIMEOUT=2" in (
            run.output
        )
        followed = solve(tmp_path, server.url, env=_environ(CUDAENV_HTTP_TIMEOUT="2"))
    assert followed.code == 0, followed.output


@pytest.fixture
def tls(
    tmp_path_factory: pytest.TempPathFactory, wheels: Path
) -> Iterator[tuple[IndexServer, Path]]:
    made = make_certificates(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("no openssl command on this machine to make a test certificate")
    ca, context = made
    with IndexServer(wheels, tls=context) as server:
        yield server, ca


def test_an_untrusted_ca_is_not_retried_names_the_settings_and_ssl_cert_file_fixes_it(
    tmp_path: Path, tls: tuple[IndexServer, Path]
) -> None:
    server, ca = tls
    run = solve(tmp_path, server.url, env=_environ(), verbose=True)
    assert run.code == 2, run.output
    assert (
        f"the TLS certificate of 127.0.0.1:{server.port} (the package index at {server.url}) "
        "is not trusted (unable to get local issuer certificate); cudaenv trusts certifi's CA "
        "bundle (SSL_CERT_FILE and SSL_CERT_DIR are not set)"
    ) in run.output
    for setting in ("SSL_CERT_FILE=/path/to/ca.pem", "SSL_CERT_DIR", "PIP_CERT", "--native-tls"):
        assert setting in run.output
    assert "check the network" not in run.output
    assert "try 2 of" not in run.output and "tries)" not in run.output  # never retried
    assert _cache_files(tmp_path) == []
    followed = solve(tmp_path, server.url, env=_environ(SSL_CERT_FILE=str(ca)))
    assert followed.code == 0, followed.output


def test_a_wrong_host_name_names_the_mismatch_and_the_right_name_fixes_it(
    tmp_path: Path, tls: tuple[IndexServer, Path]
) -> None:
    server, ca = tls
    wrong = f"https://localhost:{server.port}/simple"  # the certificate is for 127.0.0.1
    run = solve(tmp_path, wrong, env=_environ(SSL_CERT_FILE=str(ca)))
    assert run.code == 2, run.output
    assert f"the TLS certificate of localhost:{server.port}" in run.output
    assert "is not issued for that name (Hostname mismatch" in run.output
    assert "hint: name the index by a host name its certificate holds in --index-url" in (
        run.output
    )
    followed = solve(tmp_path, server.url, env=_environ(SSL_CERT_FILE=str(ca)))
    assert followed.code == 0, followed.output


def test_an_expired_certificate_says_so(tmp_path: Path, wheels: Path) -> None:
    (tmp_path / "expired").mkdir()
    made = make_certificates(tmp_path / "expired", days=-1)
    if made is None:
        pytest.skip("no openssl command on this machine to make a test certificate")
    ca, context = made
    with IndexServer(wheels, tls=context) as server:
        run = solve(tmp_path, server.url, env=_environ(SSL_CERT_FILE=str(ca)))
    assert run.code == 2, run.output
    assert "is not valid now (certificate has expired)" in run.output
    assert "check it with `date`" in run.output
