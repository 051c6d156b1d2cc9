"""The one HTTP layer: retries of transport errors, 429 and 5xx, honouring Retry-After, for page
GETs and METADATA's streamed Range reads alike, against the real IndexServer on 127.0.0.1."""

from __future__ import annotations

import email.utils
import time

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from cudaenv.errors import IndexError_
from cudaenv.index import Index
from cudaenv.net.http import retry_after

# Wed, 21 Oct 2015 07:28:00 GMT, RFC 9110's example date
EXAMPLE = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:28:00 -0000", 60.0),  # no zone said: GMT all the same
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0),  # already past: now
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header, seconds):
    assert retry_after(header, now=EXAMPLE - 60) == seconds


def test_retries_then_success(make_wheel, local_index, index_factory):
    make_wheel("alpha", "1.0")
    local_index.fail(1, status=503)
    local_index.fail(1, drop=True)
    index = index_factory()
    assert index.project("alpha")[0].version == Version("1.0")
    assert index.requests == 3


def test_retries_exhausted_gives_one_clear_error(make_wheel, local_index, index_factory):
    make_wheel("alpha", "1.0")
    local_index.fail(5, status=500)
    index = index_factory(retries=3)
    with pytest.raises(IndexError_) as e:
        index.project("alpha")
    assert e.value.message.startswith(f"could not reach the package index at {local_index.url}")
    assert "HTTP 500" in e.value.message and "3 tries" in e.value.message
    assert "--index-url" in e.value.hint and index.requests == 3


def test_unreachable_index(tmp_path):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Index(f"http://127.0.0.1:{port}/simple", cache_dir=tmp_path, backoff=0) as index:
        with pytest.raises(IndexError_, match="could not reach the package index") as e:
            index.project("anything")
    assert "ConnectError" in e.value.message


def _page_read(make_wheel, local_index, index):
    """A page GET that fails first: ``/simple/alpha/``."""
    return "/simple/", lambda: index.project("alpha")[0].version == Version("1.0")


def _range_read(make_wheel, local_index, index):
    """A METADATA Range read of the wheel (the index offers no PEP 658 file) that fails first."""
    local_index.pep658 = False
    (link,) = index.project("alpha")
    return "/files/", lambda: index.metadata(link).requires_dist == (Requirement("beta"),)


READS = pytest.mark.parametrize("read", [_page_read, _range_read], ids=["page", "range"])


@READS
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_waited_for(make_wheel, local_index, index_factory, read, status):
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    index = index_factory(backoff=0)  # without Retry-After, the retry would not wait at all
    path, succeeds = read(make_wheel, local_index, index)
    local_index.fail(1, status=status, path=path, retry_after="1")
    before = index.requests
    assert succeeds()
    assert index.requests - before == 2 and index.waited == 1.0


@READS
def test_retry_after_as_a_date_is_waited_for_up_to_the_cap(
    make_wheel, local_index, index_factory, read
):
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    index = index_factory(backoff=0, max_retry_after=0.25)
    path, succeeds = read(make_wheel, local_index, index)
    in_an_hour = email.utils.formatdate(time.time() + 3600, usegmt=True)
    local_index.fail(1, status=503, path=path, retry_after=in_an_hour)
    local_index.fail(1, status=429, path=path, retry_after="86400")
    assert succeeds()
    assert index.waited == 0.5  # two waits, each cut to max_retry_after


@READS
def test_retry_after_zero_retries_at_once_and_the_last_failure_is_one_clear_error(
    make_wheel, local_index, index_factory, read
):
    make_wheel("alpha", "1.0", requires_dist=["beta"])
    index = index_factory(backoff=0.05, retries=3)  # the backoff would wait 0.05 s, then 0.1 s
    path, succeeds = read(make_wheel, local_index, index)
    local_index.fail(3, status=429, path=path, retry_after="0")
    with pytest.raises(IndexError_) as e:
        succeeds()
    assert "HTTP 429 Too Many Requests" in e.value.message and "(after 3 tries)" in e.value.message
    assert "--index-url" in e.value.hint
    assert index.waited == 0.0


def test_without_retry_after_the_backoff_doubles(make_wheel, local_index, index_factory):
    make_wheel("alpha", "1.0")
    index = index_factory(backoff=0.01, retries=3)
    local_index.fail(2, status=502)
    assert index.project("alpha")[0].version == Version("1.0")
    assert index.waited == pytest.approx(0.03)  # 0.01, then 0.02
