"""process: real children whose output is passed on, kept, and who are never left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cudaenv.system.process import (
    TAIL_BYTES,
    run,
    run_streaming,
    start,
    stop_children,
    stop_process,
)


def child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def gone(pid: int) -> bool:
    """The process no longer exists (a zombie still does: it must have been reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_lines_without_their_endings_and_the_exit_code() -> None:
    lines: list[str] = []
    code = "import sys; print('a', end='\\r\\n', flush=True); print('b', flush=True); "
    code += "sys.stderr.write('c'); sys.exit(3)"
    status, tail = run_streaming(child(code), lines.append, by_line=True)
    assert status == 3
    assert lines == ["a", "b", "c"]  # stdout and stderr both; the last line has no end
    assert tail == "a\r\nb\nc"


def test_raw_text_is_whole_characters_even_when_a_write_splits_one() -> None:
    """``é`` written as two separate bytes reaches the sink as one character."""
    parts: list[str] = []
    code = "import os, time; os.write(1, b'\\xc3'); time.sleep(0.3); os.write(1, b'\\xa9 done\\n')"
    assert run_streaming(child(code), parts.append)[0] == 0
    assert "".join(parts) == "é done\n"
    assert "\ufffd" not in "".join(parts)


def test_the_tail_is_the_end_of_a_long_output() -> None:
    code, tail = run_streaming(
        child("import sys\nfor n in range(20000): print(f'line {n:05d} ' + 'x' * 40)"),
        lambda _: None,
    )
    assert code == 0
    assert tail.rstrip().endswith("line 19999 " + "x" * 40)
    assert "line 00000" not in tail
    assert len(tail.encode()) <= TAIL_BYTES  # of about 1 MB written


def test_a_terminal_when_asked() -> None:
    seen: list[str] = []
    code = "import sys; print(sys.stdout.isatty(), sys.stderr.isatty(), sys.stdin.isatty())"
    run_streaming(child(code), seen.append, by_line=True, terminal=True)
    assert seen == ["True True False"]  # stdin stays closed: nothing waits for input
    seen.clear()
    run_streaming(child(code), seen.append, by_line=True)
    assert seen == ["False False False"]


def test_a_missing_program_is_an_oserror() -> None:
    with pytest.raises(FileNotFoundError):
        run_streaming(["/nonexistent/cudaenv-no-such-tool"], lambda _: None)


def test_an_interrupted_caller_leaves_no_child(tmp_path: Path) -> None:
    """Ctrl-C while the child runs (here: raised by the sink): the child is stopped and reaped
    before the exception goes on."""
    pid_file = tmp_path / "pid"
    code = (
        "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
        "print('started', flush=True); time.sleep(60)"
    )

    def interrupt(text: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_streaming([*child(code), str(pid_file)], interrupt)
    assert gone(int(pid_file.read_text()))


def test_stop_process_kills_a_child_that_ignores_terminate() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen(child(code), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    stop_process(proc, grace=0.5)
    assert proc.returncode == -signal.SIGKILL  # terminate was ignored; kill was not
    assert gone(proc.pid)


def test_the_uv_that_came_with_cudaenv_is_found_without_path(monkeypatch) -> None:
    """uv is a dependency: its package knows where its binary went, PATH or not."""
    from pathlib import Path

    import uv

    from cudaenv.system.process import find_uv

    monkeypatch.setenv("PATH", "")
    found = find_uv()
    assert found == Path(uv.find_uv_bin())
    done = subprocess.run([str(found), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("uv ")


def test_an_env_is_passed_to_the_child() -> None:
    lines: list[str] = []
    env = {**os.environ, "CUDAENV_PROBE": "seen"}
    code, _ = run_streaming(
        [sys.executable, "-c", "import os; print(os.environ['CUDAENV_PROBE'])"],
        lines.append,
        by_line=True,
        env=env,
    )
    assert (code, lines) == (0, ["seen"])


# --- process groups: what a child starts dies with it ------------------------------------------

_GRANDCHILD = (
    "import subprocess, sys, time\n"
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "open(sys.argv[1], 'w').write(str(p.pid))\n"
    "time.sleep(60)\n"
)


def _pid_when_written(path: Path) -> int:
    deadline = time.monotonic() + 30
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, "the grandchild never started"
        time.sleep(0.02)
    return int(path.read_text())


def _reaped_or_orphaned_zombie(pid: int) -> bool:
    """Gone, or a zombie whose parent (the child we stopped) is gone too."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def _dies(pid: int, within: float = 30) -> bool:
    """Whether ``pid`` dies within ``within`` seconds (far less than the 60 s it sleeps): a
    signal is delivered after ``kill`` returns, so on a busy machine a grandchild sent one
    may still be running for a moment. Kills it if it does not die."""
    deadline = time.monotonic() + within
    while not _reaped_or_orphaned_zombie(pid):
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            return False
        time.sleep(0.02)
    return True


def test_a_timeout_stops_the_childs_children_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild"
    with pytest.raises(subprocess.TimeoutExpired):
        run([*child(_GRANDCHILD), str(pid_file)], timeout=3, grace=1)
    grandchild = _pid_when_written(pid_file)
    assert _dies(grandchild)


def test_stop_children_stops_every_group_still_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild"
    proc = start([*child(_GRANDCHILD), str(pid_file)])
    grandchild = _pid_when_written(pid_file)
    stop_children(grace=1)
    assert proc.returncode is not None, "the child was reaped"
    assert _dies(grandchild)
