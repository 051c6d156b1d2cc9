"""uvtemp: the temporary folders a stopped uv leaves in its cache go, unless a uv runs there
(the real uv names its cache; a held ``CACHE/.lock`` is what a running uv holds)."""

from __future__ import annotations

import fcntl
import os
from typing import TYPE_CHECKING

from cudaenv.system import uvtemp
from cudaenv.system.process import find_uv

if TYPE_CHECKING:
    from pathlib import Path


def test_only_the_new_ones_go_and_only_while_no_uv_uses_the_cache(tmp_path: Path, monkeypatch):
    uv = find_uv()
    assert uv is not None
    cache = tmp_path / "uv-cache"
    cache.mkdir()
    (cache / ".lock").touch()
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    assert uvtemp.cache_dir(uv) == cache
    (cache / ".tmpOLD").mkdir()  # not this run's: it stays

    fd = os.open(cache / ".lock", os.O_RDWR)
    try:
        with uvtemp.removed_after(uv):
            (cache / ".tmpBUSY" / "pkg").mkdir(parents=True)
            fcntl.flock(fd, fcntl.LOCK_SH)  # another uv runs: it may be writing this one
    finally:
        os.close(fd)
    assert sorted(p.name for p in cache.glob(".tmp*")) == [".tmpBUSY", ".tmpOLD"]

    with uvtemp.removed_after(uv):
        (cache / ".tmpMINE" / "pkg").mkdir(parents=True)
        (cache / ".tmpfile").write_text("x")
    assert sorted(p.name for p in cache.glob(".tmp*")) == [".tmpBUSY", ".tmpOLD"]
