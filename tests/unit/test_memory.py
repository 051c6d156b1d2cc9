"""Memory given back to the system after a solve (glibc's malloc_trim), in a fresh process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cudaenv.system import memory

PROBE = """
import sys
from cudaenv.system import memory

def rss_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))

memory.one_arena()
blocks = [bytes(4000) for _ in range(50_000)]  # 200 MB of malloc'd blocks
kept = blocks[::100]  # one in a hundred stays: the heap cannot shrink from its top
del blocks
before = rss_kb()
memory.give_back()
print(before, rss_kb())
"""


@pytest.mark.skipif(memory._glibc() is None, reason="malloc_trim is glibc's; this libc has none")
def test_free_pages_inside_the_heap_are_given_back() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    before, after = map(int, done.stdout.split())
    assert before > 150_000  # the freed blocks were still held ...
    assert after < before / 2  # ... until give_back() returned their pages


def test_without_glibc_both_calls_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    memory.one_arena()
    memory.give_back()
