"""The status line's text (cudaenv.progress) and how render draws it around other output.

The drawing is checked on a real pseudo-terminal standing in for stderr: a status line is
drawn only there, every other write erases it first and draws it again after, and leaving the
step erases it. End-to-end runs of ``python -m cudaenv`` on a pseudo-terminal are in
``tests/functional/test_terminal.py``.
"""

from __future__ import annotations

import io
import os
import pty
import sys
import time

import pytest

from cudaenv import render
from cudaenv.progress import Progress, size_text


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_text_is_the_step_its_detail_and_its_seconds():
    clock = Clock()
    progress = Progress(clock)
    assert progress.text() == ""
    progress.step("installing 87 wheels (1.9 GB) with uv")
    clock.now += 12.7
    assert progress.text() == "installing 87 wheels (1.9 GB) with uv (12 s)"
    progress.detail("downloading")
    assert progress.text() == "installing 87 wheels (1.9 GB) with uv: downloading (12 s)"
    progress.step("smoke test", watch=lambda: "TensorFlow: importing")
    assert progress.text() == "smoke test: TensorFlow: importing (0 s)"  # a new step: from 0
    progress.done()
    assert progress.text() == ""


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1500, "1.5 kB"),
        (12_300_000, "12 MB"),
        (1_934_000_000, "1.9 GB"),
    ],
)
def test_size_text(size, text):
    assert size_text(size) == text


class Terminal:
    """A pseudo-terminal to be sys.stderr (isatty() is true), and what it received."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.master, slave = pty.openpty()
        self.stream = open(slave, "w", encoding="utf-8")  # closed in close()
        self._monkeypatch = monkeypatch

    def attach(self) -> None:
        """In the test itself: pytest puts its own capture back as the test starts."""
        self._monkeypatch.setattr(sys, "stderr", self.stream)
        render.configure()

    def read(self) -> str:
        os.set_blocking(self.master, False)
        data = b""
        try:
            while chunk := os.read(self.master, 65536):
                data += chunk
        except BlockingIOError:
            pass
        return data.decode()

    def close(self) -> None:
        self.stream.close()
        os.close(self.master)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TERM", "xterm")
    term = Terminal(monkeypatch)
    yield term
    term.close()


def test_the_status_line_is_drawn_erased_around_lines_and_erased_at_the_end(terminal):
    terminal.attach()
    out = io.StringIO()
    with render.activity() as progress:
        progress.step("solving")
        time.sleep(render.TICK * 3)
        render.line("a result", stream=out)
        render.warn("a warning")
    seen = terminal.read()
    assert "solving (0 s)" in seen
    before, _, after = seen.partition("warning: a warning\r\n")
    assert before.endswith("\r\x1b[2K"), "erased before the warning"
    assert "solving (0 s)" in after, "drawn again after it"
    assert seen.endswith("\r\x1b[2K"), "erased when the step ended"
    assert out.getvalue() == "a result\n"


@pytest.mark.parametrize("options", [{"as_json": True}, {"quiet": True}])
def test_no_status_line_with_json_or_quiet(terminal, options):
    terminal.attach()
    render.configure(**options)
    with render.activity() as progress:
        progress.step("solving")
        time.sleep(render.TICK * 3)
    assert terminal.read() == ""


def test_no_status_line_when_stderr_is_not_a_terminal(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    render.configure()
    with render.activity() as progress:
        progress.step("solving")
        time.sleep(render.TICK * 3)
        render.warn("a warning")
    assert err.getvalue() == "warning: a warning\n"
