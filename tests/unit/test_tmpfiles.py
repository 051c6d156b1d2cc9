"""tmpfiles: a temporary file being written is removed on exit, whoever is writing it."""

from __future__ import annotations

import os
import threading

import pytest

from cudaenv.index.cache import write_atomic
from cudaenv.system import tmpfiles


def test_a_file_written_and_renamed_leaves_nothing(tmp_path) -> None:
    write_atomic(tmp_path / "page", b"body")
    assert [p.name for p in tmp_path.iterdir()] == ["page"]


def test_remove_all_removes_a_file_a_thread_is_still_writing(tmp_path) -> None:
    started, finish = threading.Event(), threading.Event()

    def writer() -> None:
        with tmpfiles.temporary(tmp_path, ".tmp-") as (fd, _path):
            started.set()
            finish.wait(10)
            os.close(fd)

    thread = threading.Thread(target=writer)
    thread.start()
    assert started.wait(10)
    assert [p.name[:5] for p in tmp_path.iterdir()] == [".tmp-"]
    tmpfiles.remove_all()
    assert list(tmp_path.iterdir()) == []
    finish.set()
    thread.join()


def test_a_write_interrupted_halfway_leaves_no_temporary_file(tmp_path) -> None:
    class Stop(BaseException):
        pass

    with pytest.raises(Stop), tmpfiles.temporary(tmp_path, ".tmp-") as (fd, _path):
        os.write(fd, b"half")
        os.close(fd)
        raise Stop
    assert list(tmp_path.iterdir()) == []


def test_remove_all_removes_a_folder_a_thread_is_still_filling(tmp_path) -> None:
    started, finish = threading.Event(), threading.Event()

    def filler() -> None:
        with tmpfiles.folder(tmp_path, ".ahead-") as folder:
            (folder / "part").write_bytes(b"half")
            started.set()
            finish.wait(10)

    thread = threading.Thread(target=filler)
    thread.start()
    assert started.wait(10)
    assert [p.name[:7] for p in tmp_path.iterdir()] == [".ahead-"]
    tmpfiles.remove_all()
    assert list(tmp_path.iterdir()) == []
    finish.set()
    thread.join()
    assert list(tmp_path.iterdir()) == []
