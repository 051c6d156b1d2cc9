"""The status line's text (cudaenv.cli.status) and how render draws it, and the other events of
the CLI's sink, around other output.

The drawing is checked on a real pseudo-terminal standing in for stderr: a status line is
drawn only there, every other write erases it first and draws it again after, and leaving the
step erases it. End-to-end runs of ``python -m cudaenv`` on a pseudo-terminal are in
``tests/functional/test_terminal.py``.
"""

from __future__ import annotations

import fcntl
import io
import itertools
import os
import pty
import re
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from cudaenv.cli import render
from cudaenv.cli.status import Status, count_text
from cudaenv.events import Count, Detail, Note, Output, Step, size_text


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_text_is_the_step_its_detail_and_its_seconds():
    clock = Clock()
    progress = Status(clock)
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


LONG = "/srv/" + "/".join(["a-deep-project-folder"] * 8) + "/env"  # longer than any line here


@pytest.mark.parametrize("width", [38, 78, 118])
def test_a_narrow_line_shortens_the_folder_first_never_the_part(width):
    progress = Status(Clock())
    progress.step("smoke test", where=LONG)
    progress.detail("TensorFlow: importing")
    assert len(LONG) > width
    text = progress.text(width)
    assert len(text) <= width
    assert text.startswith("smoke test") and "TensorFlow: importing" in text
    assert LONG not in text
    if width >= 78:  # room for the folder's last names and the seconds
        assert text.startswith("smoke test in …/") and "/env: TensorFlow: importing (0 s)" in text
    else:  # 40 columns: the folder and the seconds go, the step and its part stay
        assert text == "smoke test: TensorFlow: importing"


def _ladder(progress: Status, forms: list[str]) -> None:
    """Each form is the text at its own width; one column less gives the next."""
    for form, shorter in itertools.pairwise(forms):
        assert progress.text(len(form)) == form
        assert progress.text(len(form) - 1) == shorter


def test_the_folder_keeps_as_many_of_its_last_names_as_fit():
    progress = Status(Clock())
    progress.step("creating the venv environment", where="/srv/projects/gpu/env")
    assert progress.text() == "creating the venv environment in /srv/projects/gpu/env (0 s)"
    _ladder(progress, [
        "creating the venv environment in /srv/projects/gpu/env (0 s)",
        "creating the venv environment in …/projects/gpu/env (0 s)",
        "creating the venv environment in …/gpu/env (0 s)",
        "creating the venv environment in …/env (0 s)",
        "creating the venv environment (0 s)",
        "creating the venv environment",
        "creating the venv environme…",
    ])  # fmt: skip
    assert progress.text(20, ellipsis="...") == "creating the venv..."


def test_a_folder_under_home_is_shown_from_it(monkeypatch):
    monkeypatch.setenv("HOME", "/users/someone")
    progress = Status(Clock())
    progress.step("smoke test", where="/users/someone/code/gpu/env")
    _ladder(progress, [
        "smoke test in /users/someone/code/gpu/env (0 s)",
        "smoke test in ~/code/gpu/env (0 s)",
        "smoke test in …/gpu/env (0 s)",
        "smoke test in …/env (0 s)",
        "smoke test (0 s)",
    ])  # fmt: skip


def test_a_long_step_gives_way_to_its_part_before_the_part_is_cut():
    progress = Status(Clock())
    progress.step("installing 87 wheels (1.9 GB) with uv")
    progress.detail("downloading")
    assert progress.text(37) == "installing 87 wheels (1…: downloading"
    progress.detail("a detail too long to leave ten characters of the step beside it")
    assert progress.text(37) == "installing 87 wheels (1.9 GB) with u…"


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

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """What the terminal received until ``text`` arrived (fails after ``timeout`` s)."""
        seen = ""
        deadline = time.monotonic() + timeout
        while text not in seen:
            assert time.monotonic() < deadline, f"no {text!r} in {seen!r}"
            select.select([self.master], [], [], 0.1)
            seen += self.read()
        return seen

    def size(self, columns: int, rows: int = 24) -> None:
        size = struct.pack("HHHH", rows, columns, 0, 0)
        fcntl.ioctl(self.stream.fileno(), termios.TIOCSWINSZ, size)

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
    with render.activity() as sink:
        sink(Step(text="solving"))
        seen = terminal.wait_for("solving (")  # the ticker draws it by itself
        render.line("a result", stream=out)
        render.warn("a warning")
    seen += terminal.read()
    before, _, after = seen.partition("warning: a warning\r\n")
    assert before.endswith("\r\x1b[2K"), "erased before the warning"
    assert re.search(r"solving \(\d+ s\)", after), "drawn again after it"
    assert seen.endswith("\r\x1b[2K"), "erased when the step ended"
    assert out.getvalue() == "a result\n"


@pytest.mark.parametrize("options", [{"as_json": True}, {"quiet": True}])
def test_no_status_line_with_json_or_quiet(terminal, options):
    terminal.attach()
    render.configure(**options)
    with render.activity() as sink:
        sink(Step(text="solving"))
        time.sleep(render.TICK * 3)
    assert terminal.read() == ""


def test_no_status_line_when_stderr_is_not_a_terminal(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    render.configure()
    with render.activity() as sink:
        sink(Step(text="solving"))
        time.sleep(render.TICK * 3)
        render.warn("a warning")
    assert err.getvalue() == "warning: a warning\n"


@pytest.mark.parametrize("columns", [40, 80])
def test_the_drawn_line_fits_a_narrow_terminal_and_keeps_the_part(terminal, columns):
    terminal.size(columns)
    terminal.attach()
    with render.activity() as sink:
        sink(Step(text="smoke test", where=Path(LONG)))
        sink(Detail("TensorFlow: importing"))
        render.warn("a warning")  # draws the line again after it, now
    drawn = [x for x in terminal.read().split("\r\x1b[2K") if x and x[0] in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"]
    assert drawn, "the status line was drawn"
    for shown in drawn:
        assert len(shown) < columns, shown
        assert "smoke test" in shown and "TensorFlow: importing" in shown, shown


def test_a_count_is_drawn_in_place_and_erased(terminal):
    terminal.attach()
    with render.activity() as sink:
        sink(Count(what="downloading", done=1, total=3, unit="wheels", size=1_500_000,
                   size_total=4_000_000))  # fmt: skip
        render.progress_end()
    assert terminal.read() == "\r\x1b[2Kdownloading: 1/3 wheels, 1.5 MB of 4.0 MB\r\x1b[2K"


def test_a_count_says_how_many_of_how_many_and_the_bytes_where_known():
    files = Count(what="checking installed files", done=3, total=87, unit="packages")
    assert count_text(files) == "checking installed files: 3/87 packages"
    sizes = Count(what="downloading", done=0, total=2, unit="wheels", size=0, size_total=None)
    assert count_text(sizes) == "downloading: 0/2 wheels, 0.0 MB"


def test_notes_are_lines_and_a_tools_output_is_shown_with_verbose(capsys):
    render.configure()
    with render.activity() as sink:
        sink(Note("created venv environment at /srv/env"))
        sink(Output("Resolved 3 packages in 12ms"))  # not without -v
    render.configure(verbosity=1)
    with render.activity() as sink:
        sink(Output("Resolved 3 packages in 12ms"))
    render.configure(quiet=True)
    with render.activity() as sink:
        sink(Note("not with -q"))
    kept: list[str] = []
    with render.activity(notes=kept.append) as sink:  # a command's own way to show notes
        sink(Note("adding 1 wheels: ipykernel 6.29.5"))
    render.configure()
    out, err = capsys.readouterr()
    assert out == "created venv environment at /srv/env\n"
    assert err == "Resolved 3 packages in 12ms\n"
    assert kept == ["adding 1 wheels: ipykernel 6.29.5"]
